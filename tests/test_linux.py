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


@pytest.mark.parametrize("ask", [True, False])
def test_a_process_that_asked_ends_with_its_parent_and_one_that_did_not_outlives_it(ask):
    read, write = os.pipe()
    parent = os.fork()
    if parent == 0:  # the parent: starts the child, reports its id, ends
        child = os.fork()
        if child == 0:
            if ask and not end_with_parent():
                os._exit(3)
            time.sleep(30)
            os._exit(0)
        time.sleep(0.2)  # the child has asked by now
        os.write(write, str(child).encode())
        os._exit(0)
    os.close(write)
    child = int(os.read(read, 32))
    os.close(read)
    os.waitpid(parent, 0)
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    ended = not _alive(child)
    if not ended:
        os.kill(child, 9)
    assert ended == ask


def test_a_subreaper_inherits_its_grandchildren():
    assert become_child_subreaper()
    read, write = os.pipe()
    parent = os.fork()
    if parent == 0:
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(0.5)
            os._exit(7)
        os.write(write, str(grandchild).encode())
        os._exit(0)
    os.close(write)
    grandchild = int(os.read(read, 32))
    os.close(read)
    os.waitpid(parent, 0)
    # Orphaned, it is this process's child now: waitpid would raise ChildProcessError otherwise.
    pid, status = os.waitpid(grandchild, 0)
    assert pid == grandchild and os.waitstatus_to_exitcode(status) == 7
