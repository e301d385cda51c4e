"""The grading kernel's sandbox, attacked from inside a real kernel.

Each test runs hostile code in a kernel started from the sandbox's kernelspec
and checks what it achieved: nothing outside its scratch folder, bounded
memory, processes and file sizes, and no process left behind.
"""

import os
import time
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from adaptive_lr.sandbox import Limits, ensure_user, reap, write_kernelspec, zygote
from adaptive_lr.sandbox.limits import parse_bytes
from adaptive_lr.sandbox.users import _live_pids_of, become_subreaper

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

ROOT = os.geteuid() == 0
# One grading account per test worker: the reaper kills every process of its
# account, so two workers must never share one (the same holds for grading workers).
USER = f"adaptive-lr-grader-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
needs_root = pytest.mark.skipif(not ROOT, reason="switching users and mounts needs root")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A stand-in for the instructor's course folder, with a gradebook and a solution."""
    root = tmp_path_factory.mktemp("course")
    (root / "gradebook.db").write_text("hidden tests live here")
    (root / "source").mkdir()
    (root / "source" / "exercises.ipynb").write_text("the solution")
    return root


@pytest.fixture(scope="module")
def zygote_socket(tmp_path_factory):
    """A zygote (kernels forked from a pre-imported process), as a grading worker starts one."""
    path = zygote.start(str(tmp_path_factory.mktemp("zygote-root")))
    os.environ.pop(zygote.ENV, None)  # only the forked kernels below use it
    yield path
    zygote.stop()


# Every attack runs against both ways a grading kernel starts: a new process, and a fork of
# the worker's zygote (sandbox.zygote), which grading workers use.
LAUNCHES = ["executed", "forked"]


@pytest.fixture(scope="module", params=LAUNCHES)
def kernel(request, tmp_path_factory, course):
    yield from _kernel(request, tmp_path_factory, course, max_processes=48)


def _kernel(request, tmp_path_factory, course, max_processes):
    forked = request.param == "forked"
    socket_path = request.getfixturevalue("zygote_socket") if forked else None
    become_subreaper()
    if ROOT:
        ensure_user(USER)
    kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
    spec = write_kernelspec(
        kernels,
        user=USER,
        limits=Limits(
            memory_bytes=2 * 2**30,
            max_processes=max_processes,
            max_file_bytes=8 * 2**20,
            cpu_seconds=60,
        ),
        scratch_root=str(tmp_path_factory.mktemp("scratch-root")),
        hide=[str(course)],
    )
    km = KernelManager(
        kernel_name=spec.name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )
    if forked:
        assert socket_path, "the zygote did not start"
        os.environ[zygote.ENV] = socket_path
    try:
        km.start_kernel()
    finally:
        os.environ.pop(zygote.ENV, None)
    assert isinstance(km.provisioner.process, zygote.ForkedKernel) == forked
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    if ROOT:
        reap(USER)


@pytest.fixture(params=LAUNCHES)
def own_kernel(request, tmp_path_factory, course):
    """A kernel of its own, for attacks that leave it unable to go on."""
    yield from _kernel(request, tmp_path_factory, course, max_processes=32)


def run(kc, code, timeout=60):
    """Execute ``code``; return (stdout text, error name or None)."""
    kc.execute(code)
    out, error = [], None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            error = f"{content['ename']}: {content['evalue']}"
        elif kind == "status" and content["execution_state"] == "idle" and out is not None:
            if msg["parent_header"].get("msg_type") == "execute_request":
                return "".join(out).strip(), error


def test_kernel_runs_in_its_scratch_folder(kernel):
    out, err = run(
        kernel,
        "import os; print(os.getcwd() == os.environ['ADAPTIVE_LR_SANDBOX'] == os.environ['HOME'])",
    )
    assert (out, err) == ("True", None)


@needs_root
def test_kernel_is_the_unprivileged_grading_user(kernel):
    import pwd

    out, _ = run(kernel, "import os; print(os.getuid(), os.getgid(), os.getgroups())")
    uid = pwd.getpwnam(USER).pw_uid
    assert out.split()[0] == str(uid) and "[]" in out


@needs_root
@pytest.mark.parametrize("target", ["{repo}/planted.txt", "/tmp/planted.txt", "/dev/shm/planted"])
def test_writes_outside_scratch_fail(kernel, target):
    repo = Path(__file__).resolve().parents[2]
    path = target.format(repo=repo)
    _, err = run(kernel, f"open({path!r}, 'w').write('x')")
    assert err is not None and ("Read-only file system" in err or "Permission denied" in err), err
    assert not os.path.exists(path)


@needs_root
def test_course_folder_is_hidden(kernel, course):
    code = (
        "import os\n"
        f"print(os.path.exists({str(course / 'gradebook.db')!r}),"
        f" os.path.exists({str(course / 'source' / 'exercises.ipynb')!r}))"
    )
    out, err = run(kernel, code)
    assert (out, err) == ("False False", None), (
        "the gradebook and the solution must be out of sight"
    )


def test_writing_in_scratch_works(kernel):
    out, err = run(kernel, "open('notes.txt', 'w').write('ok'); print(open('notes.txt').read())")
    assert (out, err) == ("ok", None)


def images_of(kc, code, timeout=60) -> int:
    """Execute ``code``; return how many images it displayed."""
    kc.execute(code)
    images = 0
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        kind, content = msg["msg_type"], msg["content"]
        if kind == "display_data" and "image/png" in content["data"]:
            images += 1
        elif kind == "status" and content["execution_state"] == "idle":
            if msg["parent_header"].get("msg_type") == "execute_request":
                return images


def test_an_inline_figure_is_rendered_once_for_its_display(kernel):
    """pyplot's after-cell redraw of every figure finds nothing to draw (sandbox.inline): the
    figure the feedback shows is the only render, and pyplot's own switches still work."""
    out, err = run(kernel, (
        "import matplotlib.figure as _mf\n"
        "_draws, _draw = [], _mf.Figure.draw\n"
        "_mf.Figure.draw = lambda self, renderer: (_draws.append(1), _draw(self, renderer))[1]\n"
        "import matplotlib.pyplot as plt\n"
        "print(plt.get_backend())"))
    assert err is None and "inline" in out, (out, err)
    assert images_of(kernel, "plt.plot([0, 1]); plt.title('one figure');") == 1
    assert run(kernel, "print(len(_draws), plt.get_fignums())") == ("1 []", None)
    assert run(kernel, "plt.ioff(); plt.ion(); print(plt.isinteractive())") == ("True", None)


def test_memory_bomb_gets_memory_error_and_kernel_survives(kernel):
    _, err = run(kernel, "hog = bytearray(50 * 2**30)")
    assert err.startswith("MemoryError"), err
    out, err = run(kernel, "print(1 + 1)")
    assert (out, err) == ("2", None)


def test_big_file_is_refused(kernel):
    _, err = run(kernel, "open('big.bin', 'wb').write(b'0' * (100 * 2**20))")
    assert err is not None and ("File too large" in err or "No space left" in err), err


@needs_root
def test_fork_bomb_is_bounded_and_reaped(own_kernel):
    code = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(10000):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(120); os._exit(0)\n"
        "        n += 1\n"
        "except OSError as e:\n"
        "    print(type(e).__name__, n)\n"
    )
    out, _ = run(own_kernel, code)
    name, n = out.split()
    assert name == "BlockingIOError" and int(n) < 32
    import pwd

    uid = pwd.getpwnam(USER).pw_uid
    assert len(_live_pids_of(uid)) > int(n), "the children are alive until reaped"
    assert reap(USER) > int(n)
    assert not _live_pids_of(uid), "the reaper leaves no process of the grading user"


@needs_root
def test_reaper_kills_everything_the_grading_user_left():
    import subprocess

    uid = ensure_user(USER + "-reap").pw_uid
    become_subreaper()
    procs = [subprocess.Popen(["sleep", "60"], user=uid, start_new_session=True) for _ in range(3)]
    assert reap(USER + "-reap") >= 3
    time.sleep(0.1)
    assert not _live_pids_of(uid)
    for p in procs:
        p.wait(timeout=5)


def test_parse_bytes_and_limits_validation():
    assert parse_bytes("4G") == 4 * 2**30 and parse_bytes("512M") == 512 * 2**20
    assert parse_bytes(1024) == 1024
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes("lots")
    with pytest.raises(ValueError, match="memory_bytes must be a positive integer"):
        Limits(memory_bytes=0)
