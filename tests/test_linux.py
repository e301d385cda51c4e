"""The process controls of adaptive_lr._linux do what they say (on Linux)."""

import os
import sys
import time

import pytest

from adaptive_lr._linux import become_child_subreaper, end_with_parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's prctl")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _orphan(child, settle=0.0) -> int:
    """Fork a parent that forks ``child()`` (which ends the process itself), reports the child's
    id, waits ``settle`` seconds and ends; returns the id once the parent is reaped."""
    read, write = os.pipe()
    parent = os.fork()
    if parent == 0:
        pid = os.fork()
        if pid == 0:
            child()
        time.sleep(settle)
        os.write(write, str(pid).encode())
        os._exit(0)
    os.close(write)
    pid = int(os.read(read, 32))
    os.close(read)
    os.waitpid(parent, 0)
    return pid


@pytest.mark.parametrize("ask", [True, False])
def test_a_process_that_asked_ends_with_its_parent_and_one_that_did_not_outlives_it(ask):
    def child():
        if ask and not end_with_parent():
            os._exit(3)
        time.sleep(30)
        os._exit(0)

    pid = _orphan(child, settle=0.2)  # the child has asked by the time its parent ends
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    ended = not _alive(pid)
    if not ended:
        os.kill(pid, 9)
    assert ended == ask


def test_a_subreaper_inherits_its_grandchildren():
    assert become_child_subreaper()

    def grandchild():
        time.sleep(0.5)
        os._exit(7)

    orphan = _orphan(grandchild)
    # Orphaned, it is this process's child now: waitpid would raise ChildProcessError otherwise.
    pid, status = os.waitpid(orphan, 0)
    assert pid == orphan and os.waitstatus_to_exitcode(status) == 7
