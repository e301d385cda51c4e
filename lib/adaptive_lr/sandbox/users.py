"""The unprivileged account that grading kernels run as, and the reaper of its processes."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time

DEFAULT_USER = "adaptive-lr-grader"


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_user(name: str = DEFAULT_USER) -> pwd.struct_passwd:
    """Return the account ``name``, creating it (a system user, no home, no login) when root.

    A dedicated account, rather than ``nobody``, lets :func:`reap` kill every
    process it owns without touching any other service's.
    """
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if not is_root():
        raise PermissionError(
            f"the grading user {name!r} does not exist and only root can create it"
        )
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    cmd = [useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
           "--shell", "/usr/sbin/nologin", "--user-group", name]
    # Parallel graders create their accounts at the same moment, and useradd fails
    # while another holds the lock on /etc/passwd: wait for it and try again.
    for attempt in range(20):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            if attempt == 19:
                raise RuntimeError(f"useradd {name} failed: {proc.stderr.strip()}") from None
            time.sleep(0.1 + 0.05 * attempt)


def _processes_of(uid: int):
    """``(pid, state, ppid)`` of every process owned by ``uid``, read from ``/proc``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        yield int(entry), fields[0], int(fields[1])


def _live_pids_of(uid: int) -> list[int]:
    """Processes owned by ``uid``, zombies excluded (they are dead, waiting for their parent)."""
    return [pid for pid, state, _ in _processes_of(uid) if state not in ("Z", "X")]


def reap(name: str = DEFAULT_USER, timeout: float = 5.0) -> int:
    """Kill every process of the grading user; returns how many there were.

    Called after each kernel: orphans of a fork bomb, or a child that left the
    kernel's process group with ``setsid``, die here rather than eat the CPU of
    the next student's grading. Only for a dedicated account (never ``root``).
    """
    uid = pwd.getpwnam(name).pw_uid
    if uid == 0:
        raise ValueError("refusing to reap the processes of root")
    found = 0
    deadline = time.monotonic() + timeout
    while True:
        _collect_zombie_children(uid)
        pids = [p for p in _live_pids_of(uid) if p != os.getpid()]
        if not pids:
            _collect_zombie_children(uid)
            return found
        found = max(found, len(pids))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def become_subreaper() -> bool:
    """Adopt orphaned descendants (``PR_SET_CHILD_SUBREAPER``), so :func:`reap` can collect them.

    A fork bomb's children outlive the kernel. Without a subreaper they are
    re-parented to PID 1, which on some machines never waits for them: their
    zombies then count against the grading user's process limit for good, and
    the next kernel cannot even start its threads. Returns False where the
    call is not available (not Linux).
    """
    from .._linux import become_child_subreaper

    return become_child_subreaper()


def _collect_zombie_children(uid: int) -> None:
    me = os.getpid()
    for pid, state, ppid in _processes_of(uid):
        if state == "Z" and ppid == me:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
