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

    def start(hide=(), socket=None, forked=True):
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
        assert isinstance(km.provisioner.process, zygote.ForkedKernel) == forked
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


_REFEREE = (
    "import os, sys\n"
    "from adaptive_lr.grading import hidden\n"
    "proc = hidden._STATE['proc']\n"
    "ahead = isinstance(proc, hidden._Forked) and proc.poll() is None\n"
    "own_session = ahead and os.getsid(proc.pid) == proc.pid != os.getsid(0)\n"
    "reply = hidden.request({'op': 'number', 'value': hidden.guard.describe(0.5), 'expected': 0.5,\n"
    "                        'name': 'x', 'rtol': 1e-3, 'atol': 0.0, 'hint': ''})\n"
    "print(ahead, own_session, reply['passed'], hidden._STATE['proc'] is proc)"
)


def test_a_forked_grading_kernel_has_its_referee_running_before_its_first_cell(forge):
    """Forked ahead, in a session of its own, and it answers; the kernel then uses that one."""
    km = forge()
    kc = _client(km)
    out, err = run(kc, _REFEREE)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    assert (out, err) == ("True True True True", None)


def test_the_forked_referee_has_no_folder_the_kernel_writes_on_its_path():
    from adaptive_lr.grading.hidden import _referee_path

    path = ["/scratch", "", "/lib", "/home/u/.local/site", ".", "/usr/lib/python3.11"]
    assert _referee_path(path, "/scratch", "/home/u/.local/site") == ["/lib", "/usr/lib/python3.11"]
    assert _referee_path(path, "/elsewhere", None)[0] == "/scratch"  # only what the kernel writes


def test_the_recheck_kernel_which_hides_the_oracle_forks_no_referee(forge):
    import adaptive_lr.optim

    km = forge(hide=[os.path.dirname(adaptive_lr.optim.__file__)])
    kc = _client(km)
    out, err = run(kc, "from adaptive_lr.grading import hidden\nprint(hidden._STATE['proc'])")
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    assert (out, err) == ("None", None)


def test_a_kernel_hiding_a_folder_the_zygote_imported_from_is_executed_instead(forge):
    import numpy

    km = forge(hide=[os.path.dirname(numpy.__file__)], forked=False)  # asserts: not forked
    kc = _client(km)
    out, err = run(kc, "import sys\nprint('numpy' in sys.modules)")
    kc.stop_channels()
    assert (out, err) == ("False", None)
    assert os.environ.get(zygote.ENV) is None  # the fixture's zygote is still used by the rest


def test_matplotlib_finds_its_folders_in_the_forked_kernels_scratch(forge):
    kc = _client(forge())
    out, err = run(kc, "import os, matplotlib\n"
                       "print(matplotlib.get_configdir() == matplotlib.get_cachedir() == os.getcwd())")
    kc.stop_channels()
    assert (out, err) == ("True", None)


def test_signals_reach_a_forked_kernel_through_its_zygote_only(forge, monkeypatch):
    km = forge()
    kc = _client(km)
    signalled = []
    # The worker itself never signals a kernel's id: the zygote does, while it has not reaped it.
    monkeypatch.setattr(os, "kill", lambda *a: signalled.append(a))
    monkeypatch.setattr(os, "killpg", lambda *a: signalled.append(a))
    kc.execute("import time\ntime.sleep(60)")
    time.sleep(1)
    km.interrupt_kernel()
    deadline = time.monotonic() + 20
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["msg_type"] == "error":
            break
    kc.stop_channels()
    assert msg["content"]["ename"] == "KeyboardInterrupt" and signalled == []


def test_a_zygote_that_cannot_fork_is_retired_and_the_kernel_executed(forge, tmp_path, monkeypatch):
    import json
    import socket
    import threading

    path = str(tmp_path / "z.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def answer():  # a zygote out of processes
        conn, _ = server.accept()
        zygote._read_line(conn, timeout=10)
        conn.sendall(json.dumps({"error": "fork failed: [Errno 11] Resource temporarily unavailable"}).encode() + b"\n")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    retired, retire = [], zygote.retire
    monkeypatch.setattr(zygote, "retire", lambda p: (retired.append(p), retire(p)))
    km = forge(socket=path, forked=False)
    assert retired == [path]
    kc = _client(km)
    assert run(kc, "print(1 + 1)") == ("2", None)
    kc.stop_channels()
    server.close()


@pytest.mark.parametrize("line, error", [
    (b'{"pid": 0}', "process id 0"),
    (b'{"pid": -1}', "process id -1"),
    (b'{"pid": "x"}', "answered"),
    (b'not json', "answered"),
    (b'{"error": "fork failed"}', "could not fork"),
])
def test_a_zygotes_answer_is_checked_before_any_signal_can_use_it(line, error):
    with pytest.raises(ConnectionError, match=error):
        zygote._parse_answer(line, "z.sock")
    with pytest.raises(zygote.Refused):
        zygote._parse_answer(b'{"refused": "it hides /x"}', "z.sock")
    assert zygote._parse_answer(b'{"pid": 4242}', "z.sock") == 4242


def test_a_failed_fork_is_answered_and_the_zygote_goes_on(tmp_path, monkeypatch):
    import errno
    import json
    import selectors
    import socket

    path = str(tmp_path / "z.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    client.sendall(json.dumps({"argv": ["--user", "nobody", "-f", "k.json"]}).encode() + b"\n")

    def no_fork():
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    kernels = {}
    zygote._accept(listener, selectors.DefaultSelector(), kernels)
    answer = json.loads(zygote._read_line(client, timeout=5))
    assert kernels == {} and "fork failed" in answer["error"]
    client.close()
    listener.close()


@pytest.mark.skipif(not ROOT, reason="needs another account to own the socket")
def test_a_socket_of_another_user_is_not_taken_for_a_zygote(forge):
    import pwd
    import shutil
    import socket
    import tempfile

    account = pwd.getpwnam(USER)
    folder = tempfile.mkdtemp()  # pytest's tmp_path is root's alone: the other user cannot reach it
    os.chown(folder, account.pw_uid, account.pw_gid)
    path = os.path.join(folder, "z.sock")
    up_r, up_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # another user's process listening where a zygote was expected
        try:
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen(1)
            os.write(up_w, b"1")
            conn, _ = s.accept()
            conn.sendall(b'{"pid": 4242}\n')
            time.sleep(5)
        finally:
            os._exit(0)
    os.close(up_w)
    try:
        assert os.read(up_r, 1) == b"1"
        with pytest.raises(PermissionError, match="not a zygote of this user"):
            zygote.fork_kernel(path, ["python", "-m", "adaptive_lr.sandbox.kernel", "-f", "k"], {})
    finally:
        os.close(up_r)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        shutil.rmtree(folder)


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
