"""Kernels forked from a worker's zygote (sandbox.zygote): what differs from a new process.

The sandbox's attacks (test_kernel.py) and probes (test_network.py) run against forked
kernels too; these tests check what only forking could get wrong: a fork must not carry
state from the zygote a new process would not have, nor a module a kernel must not see.
"""

import os
import time

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from adaptive_lr.sandbox import Limits, ensure_user, reap, write_kernelspec, zygote
from adaptive_lr.sandbox.users import become_subreaper

from .test_kernel import run

pytestmark = pytest.mark.xdist_group(__name__)

ROOT = os.geteuid() == 0
USER = f"adaptive-lr-grader-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-zyg"
SECRET = {"ADAPTIVE_LR_TEST_SECRET": "the gradebook password"}


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    """Start forked kernels of a spec hiding ``hide``: ``forge(hide=()) -> KernelManager``."""
    become_subreaper()
    if ROOT:
        ensure_user(USER)
    os.environ.update(SECRET)  # in the worker's environment when its zygote starts
    socket_path = zygote.start(str(tmp_path_factory.mktemp("zygote-root")))
    os.environ.pop(zygote.ENV, None)
    started = []

    def start(hide=(), socket=None):
        kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
        spec = write_kernelspec(kernels, user=USER, hide=[str(p) for p in hide],
                                limits=Limits(memory_bytes=2 * 2**30, cpu_seconds=60),
                                scratch_root=str(tmp_path_factory.mktemp("scratch")))
        km = KernelManager(kernel_name=spec.name,
                           kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
        os.environ[zygote.ENV] = socket or socket_path
        try:
            km.start_kernel()
        finally:
            os.environ.pop(zygote.ENV, None)
        assert isinstance(km.provisioner.process, zygote.ForkedKernel)
        started.append(km)
        return km

    yield start
    for km in started:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    zygote.stop()
    for key in SECRET:
        os.environ.pop(key, None)
    if ROOT:
        reap(USER)


def _client(km):
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return kc


def test_the_zygote_holds_no_secret_of_the_worker(forge):
    forge()  # the zygote is running
    pid = zygote._STARTED["process"].pid
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    assert b"ADAPTIVE_LR_TEST_SECRET" not in env and b"the gradebook password" not in b"".join(env.values())
    assert zygote.ENV.encode() not in env


def test_forked_kernels_have_their_own_randomness_temp_folder_and_preloaded_imports(forge):
    code = ("import os, sys, random, tempfile\n"
            "preloaded = 'numpy' in sys.modules and 'adaptive_lr.grading' in sys.modules\n"
            "import numpy as np\n"
            "print(random.random(), np.random.rand(), tempfile.gettempdir() == os.getcwd(), preloaded)")
    outs = []
    for _ in range(2):
        km = forge()
        kc = _client(km)
        out, err = run(kc, code)
        assert err is None, err
        outs.append(out.split())
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    (r1, n1, tmp1, pre1), (r2, n2, tmp2, pre2) = outs
    assert r1 != r2 and n1 != n2, "a fork must reseed the random generators"
    assert tmp1 == tmp2 == "True", "temporary files go to the kernel's scratch folder"
    assert pre1 == pre2 == "True"


def test_a_kernel_hiding_a_folder_the_zygote_imported_from_is_refused(forge):
    import numpy

    km = forge(hide=[os.path.dirname(numpy.__file__)])
    assert km.provisioner.process.wait(30) == zygote.REFUSED


def test_exit_code_and_cpu_of_a_forked_kernel_reach_the_worker(forge):
    km = forge()
    kc = _client(km)
    before = zygote.kernel_usage()["cpu"]
    kc.execute("import os\nsum(i * i for i in range(3_000_000))\nos._exit(3)")
    process = km.provisioner.process
    assert process.wait(30) == 3
    assert zygote.kernel_usage()["cpu"] > before
    assert zygote.kernel_usage()["maxrss_kib"] > 10_000  # a kernel with NumPy loaded
    kc.stop_channels()


def test_closing_the_connection_kills_a_running_kernel(forge):
    km = forge()
    _client(km).stop_channels()
    process = km.provisioner.process
    pid = process.pid
    process.close()
    deadline = time.monotonic() + 10
    while not _ended(pid):
        if time.monotonic() > deadline:
            pytest.fail("the kernel outlived its connection to the zygote")
        time.sleep(0.05)


def test_a_forked_kernel_ends_with_its_zygote(forge, tmp_path):
    import subprocess
    import sys

    from adaptive_lr.sandbox.kernel import environment

    folder = tmp_path / "own-zygote"
    folder.mkdir(mode=0o700)
    path = str(folder / "z.sock")
    own = subprocess.Popen([sys.executable, "-m", "adaptive_lr.sandbox.zygote", "--socket", path],
                           env=environment(str(folder)), cwd=folder)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        km = forge(socket=path)
        _client(km).stop_channels()
        pid = km.provisioner.process.pid
    finally:
        own.kill()  # as when its worker is killed (the zygote ends with it)
        own.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _ended(pid):
            return
        time.sleep(0.05)
    pytest.fail("a forked kernel outlived its zygote")


def _ended(pid) -> bool:
    """Gone, or a zombie (an orphan's zombie waits for this process, the subreaper)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_forked_kernel_holds_no_file_of_the_zygote_and_has_an_interpreters_own_signals(forge):
    km = forge()
    kc = _client(km)
    code = ("import os, signal\n"
            "targets = []\n"
            "for fd in os.listdir('/proc/self/fd'):\n"
            "    try:\n"
            "        targets.append(os.readlink(f'/proc/self/fd/{fd}'))\n"
            "    except FileNotFoundError:  # the listing's own\n"
            "        pass\n"
            "print([t for t in targets if 'zygote' in t], os.getsid(0) == os.getpid(),\n"
            "      signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,\n"
            "      signal.getsignal(signal.SIGINT) is signal.default_int_handler)")
    out, err = run(kc, code)
    kc.stop_channels()
    assert err is None, err
    # The zygote's log was every kernel's stderr: a file each could write and read back.
    assert out == "[] True True True", out
