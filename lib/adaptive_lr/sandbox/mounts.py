"""A read-only view of the whole file system, with one writable scratch folder.

Run as root on Linux, before dropping privileges: the process moves into a
private mount namespace (``unshare(CLONE_NEWNS)``), every mount it inherits is
re-mounted read-only *in that namespace only*, and a size-limited ``tmpfs`` is
mounted on the scratch folder. The grader, other processes and the real file
system see no change; the kernel and its children cannot write anywhere but
the scratch folder, whatever the file permissions say (``/tmp`` and
``/dev/shm`` included). Writing to device files such as ``/dev/null`` still
works: a read-only mount refuses changes to files, not device I/O.

Plain system calls (``unshare``, ``mount``), no container runtime.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

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
    """The highest ancestor of ``path`` that other users cannot traverse, if any."""
    parts = os.path.realpath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        ancestor = os.sep.join(parts[:i]) or os.sep
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def _expose(paths) -> None:
    """Make ``paths`` reachable by the grading user when an ancestor is private (e.g. ``/root``).

    The private ancestor is covered by an empty, traversable tmpfs and only
    the needed sub-paths are bound back into it, so the rest of it (a home
    folder's other files) stays out of sight. Each needed path is held open
    (``O_PATH``) before its ancestor is covered, and bound back from
    ``/proc/self/fd``.
    """
    by_ancestor: dict[str, list[str]] = {}
    for p in paths:
        a = _blocking_ancestor(p)
        if a is not None:
            by_ancestor.setdefault(a, []).append(os.path.realpath(p))
    for ancestor, needed in sorted(by_ancestor.items()):
        held = {p: os.open(p, os.O_PATH) for p in sorted(set(needed))}
        try:
            _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1M")
            for p, fd in held.items():
                os.makedirs(p, exist_ok=True)
                _mount(f"/proc/self/fd/{fd}", p, None, MS_BIND | MS_REC)
        finally:
            for fd in held.values():
                os.close(fd)


def _hide(path: str) -> None:
    """Cover ``path`` with an empty read-only tmpfs: the instructor's material is not there."""
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4K")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND)


def available() -> bool:
    return os.geteuid() == 0 and os.path.exists("/proc/self/mountinfo")


def read_only_except(
    scratch: str, size_bytes: int, uid: int, gid: int, expose=(), hide=()
) -> list[str]:
    """Make everything read-only for this process and its children, except ``scratch``.

    ``expose``: paths the grading user must reach (the interpreter's prefix)
    although an ancestor is private. ``hide``: paths covered by an empty
    folder (the course folder, the instructor's ``source/``). Returns the
    mount points that could not be made read-only (``/proc`` and ``/sys``
    entries are skipped; they are not places to leave files in).
    """
    _check(_c().unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _expose(expose)
    for path in hide:
        _hide(path)
    refused = []
    for target, keep in _mount_points():
        if target.startswith(("/proc", "/sys")):
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
