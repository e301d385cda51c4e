"""A read-only view of the whole file system, with one writable scratch folder.

Run as root on Linux, before dropping privileges: the process moves into a
private mount namespace (``unshare(CLONE_NEWNS)``), every mount it inherits is
re-mounted read-only *in that namespace only*, and a size-limited ``tmpfs`` is
mounted on the scratch folder. The grader, other processes and the real file
system see no change; the kernel and its children cannot write anywhere but
the scratch folder, whatever the file permissions say (``/tmp`` and
``/dev/shm`` included). Writing to device files such as ``/dev/null`` still
works: a read-only mount refuses changes to files, not device I/O.

A network namespace does not stop Unix sockets bound to a path, and a
read-only mount does not either (connecting is not writing a file). So the
folders where services keep them (:data:`SOCKET_FOLDERS`) are covered by
empty folders, with only the kernel's own paths bound back, and every other
socket the machine has bound is covered by ``/dev/null``.

Plain system calls (``unshare``, ``mount``), no container runtime.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import stat

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
_KEEP = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else s.encode()
    _check(_c().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _mount_points() -> list[tuple[str, int]]:
    """Mount points of this namespace with the flags to keep, parents before children."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            target = fields[4].encode().decode("unicode_escape")
            flags = 0
            for opt in fields[5].split(","):
                flags |= _KEEP.get(opt, 0)
            points.append((target, flags))
    return sorted(points, key=lambda p: p[0].count("/"))


def _blocking_ancestor(path: str) -> str | None:
    """The highest ancestor of ``path`` (not ``path`` itself) that other users cannot traverse."""
    parts = os.path.realpath(path).split(os.sep)
    for i in range(2, len(parts)):
        ancestor = os.sep.join(parts[:i]) or os.sep
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def _below(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _make_mount_point(path: str, directory: bool) -> None:
    """Create ``path`` and its missing parents, traversable by everyone (the grading user too)."""
    current = ""
    parts = path.strip(os.sep).split(os.sep)
    for i, part in enumerate(parts):
        current += os.sep + part
        if os.path.lexists(current):
            continue
        if i == len(parts) - 1 and not directory:
            os.close(os.open(current, os.O_CREAT | os.O_WRONLY, 0o644))
        else:
            os.mkdir(current)
            os.chmod(current, 0o755)


def _cover(folder: str, keep) -> None:
    """Cover ``folder`` with an empty, traversable tmpfs; bind back the paths of ``keep`` below it.

    Each kept path is held open (``O_PATH``) before the folder is covered, and
    bound back from ``/proc/self/fd``; a kept path inside another kept path
    comes back with it.
    """
    inside = sorted({os.path.realpath(p) for p in keep if _below(os.path.realpath(p), folder)})
    inside = [p for p in inside if not any(_below(p, q) for q in inside)]
    held = {p: os.open(p, os.O_PATH) for p in inside}
    try:
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1M")
        for p, fd in held.items():
            _make_mount_point(p, os.path.isdir(f"/proc/self/fd/{fd}"))
            _mount(f"/proc/self/fd/{fd}", p, None, MS_BIND | MS_REC)
    finally:
        for fd in held.values():
            os.close(fd)


def _expose(paths) -> None:
    """Make ``paths`` reachable by the grading user when an ancestor is private (e.g. ``/root``).

    The private ancestor is covered by an empty, traversable tmpfs and only
    the needed sub-paths are bound back into it, so the rest of it (a home
    folder's other files) stays out of sight.
    """
    by_ancestor: dict[str, list[str]] = {}
    for p in paths:
        a = _blocking_ancestor(p)
        if a is not None:
            by_ancestor.setdefault(a, []).append(os.path.realpath(p))
    for ancestor, needed in sorted(by_ancestor.items()):
        _cover(ancestor, needed)


def _hide_socket_folders(folders, keep) -> list[str]:
    """Cover each folder where services keep their Unix sockets; returns the folders covered.

    A folder that must itself stay visible (it is in ``keep``) is left alone;
    the kept paths below a covered folder are bound back into it.
    """
    keep = [os.path.realpath(p) for p in keep]
    covered = []
    for folder in sorted({os.path.realpath(f) for f in folders}, key=lambda f: f.count(os.sep)):
        if not os.path.isdir(folder) or folder in keep or any(_below(folder, c) for c in covered):
            continue
        _cover(folder, keep)
        covered.append(folder)
    return covered


def _hide_sockets(paths) -> None:
    """Cover every socket file still in sight with ``/dev/null``: connecting to it is refused."""
    for path in paths:
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                _mount("/dev/null", path, None, MS_BIND)
        except OSError:
            continue  # gone, or under a folder covered already


def _hide(path: str) -> None:
    """Cover ``path`` with an empty read-only tmpfs: the instructor's material is not there."""
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4K")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND)


def available() -> bool:
    return os.geteuid() == 0 and os.path.exists("/proc/self/mountinfo")


def _private_namespace() -> None:
    """Move this process into a mount namespace of its own, whose mounts nobody else sees."""
    _check(_c().unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def expose_privately(paths) -> bool:
    """Let a less privileged user reach ``paths`` although an ancestor is private (e.g. ``/root``).

    Only when needed (run as root, some path has such an ancestor): this
    process moves into a private mount namespace, in which each private
    ancestor is covered by an empty, traversable tmpfs with only ``paths``
    bound back into it; the rest of the ancestor stays out of sight, and the
    real file system is unchanged. Call it before dropping privileges (in a
    ``preexec_fn``). Returns whether a namespace was made.
    """
    if not available() or not any(_blocking_ancestor(p) for p in paths):
        return False
    _private_namespace()
    _expose(paths)
    return True


# Where services usually keep their Unix sockets: systemd's and most daemons' (PostgreSQL,
# MySQL, D-Bus, Docker, nscd, a user's session bus and agents) in /run (/var/run links
# there); X11, tmux, ssh-agent and servers started for a test (a PostgreSQL of a test
# suite) in /tmp and /var/tmp; shared memory of other processes in /dev/shm.
SOCKET_FOLDERS = ("/run", "/var/run", "/tmp", "/var/tmp", "/dev/shm")


def read_only_except(
    scratch: str,
    size_bytes: int,
    uid: int,
    gid: int,
    expose=(),
    hide=(),
    writable=(),
    socket_folders=SOCKET_FOLDERS,
    sockets=(),
    own_sysfs: bool = False,
) -> list[str]:
    """Make everything read-only for this process and its children, except ``scratch``.

    ``expose``: paths the grading user must reach (the interpreter's prefix)
    although an ancestor is private. ``hide``: paths covered by an empty
    folder (the course folder, the instructor's ``source/``).
    ``socket_folders`` are covered by an empty folder too, but for the
    exposed, writable and scratch paths below them, which are bound back;
    ``sockets`` (the host's, :func:`.network.host_socket_paths`) still in
    sight after that are covered by ``/dev/null``. ``writable``: folders of
    the host the kernel writes into (its IPC sockets), shared with the
    grader. ``own_sysfs``: mount a fresh ``/sys``, whose ``class/net`` shows
    this process's network namespace (call after :func:`.network.isolate`).
    Returns the mount points that could not be made read-only (``/proc`` and
    ``/sys`` entries are skipped; they are not places to leave files in).
    """
    writable = [os.path.realpath(p) for p in writable]
    _private_namespace()
    _hide_socket_folders(socket_folders, [*expose, *writable, scratch])
    _expose([*expose, *writable])
    for path in hide:
        _hide(path)
    _hide_sockets(sockets)
    for path in writable:  # a mount point of its own, left out of the read-only remount below
        _mount(path, path, None, MS_BIND)
    if own_sysfs:
        _mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    refused = []
    for target, keep in _mount_points():
        if target.startswith(("/proc", "/sys")) or target in writable:
            continue
        try:
            _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)
        except OSError:
            refused.append(target)
    _mount(
        "tmpfs",
        scratch,
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"size={size_bytes},mode=0700,uid={uid},gid={gid}",
    )
    return refused
