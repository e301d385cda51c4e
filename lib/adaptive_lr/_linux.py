"""The two Linux process controls (prctl) the library uses; elsewhere they do nothing."""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, arg: int) -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def end_with_parent() -> bool:
    """SIGKILL this process when its parent ends, even a parent killed by SIGKILL.

    Cleared by a change of user (set it after ``setuid``), kept across ``exec``.
    Returns False where it is not available; a caller that must not outlive
    its parent then checks ``os.getppid()`` itself.
    """
    return _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def become_child_subreaper() -> bool:
    """Have this process, not PID 1, inherit (and so be able to reap) its descendants' orphans."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)
