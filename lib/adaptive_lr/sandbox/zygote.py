"""Grading kernels forked from a process that has already imported what every kernel imports.

A kernel started from nothing spends about a second before the student's
first cell runs: the interpreter, ipykernel and IPython, NumPy, matplotlib
and the library's grading helpers. A worker grades many notebooks, each in
two kernels (the grading kernel and the re-check), so that second is paid
twice per submission. The zygote is a process a worker starts once
(:func:`start`), with a kernel's allow-listed environment and nothing of the
worker's (no secret is ever in its memory). It imports :data:`PRELOAD` and
waits on a Unix socket that only root, the worker, may open. For each kernel
it forks a child, which takes every step of :func:`.kernel.enter` (scratch
folder, namespaces, read-only view, limits, the grading user) and then
starts ipykernel in place instead of executing a new interpreter. Each child
is a copy of the zygote, never of another kernel: nothing of one student's
kernel reaches the next.

What would otherwise differ from an executed kernel is made the same: the
environment (replaced whole), ``tempfile``'s folder (found again), NumPy's
global generator (reseeded), ``sys.path[0]`` (the scratch folder) and
matplotlib's backend (set from the kernelspec; neither pyplot nor the inline
backend is imported before the kernel's shell exists, so IPython hooks
figures up as usual). A kernel that must not see a path (``--hide``) must
not find a module from it already imported either: the child refuses to
start if one is (the re-check kernel hides the reference implementation,
which :data:`PRELOAD` leaves out).

The protocol, one connection per kernel: the client sends one JSON line
``{"argv": [...], "env": {...}}`` (the kernelspec's arguments after
``-m adaptive_lr.sandbox.kernel``, and the variables :data:`.kernel.PASSED_ON`
of its environment); the zygote answers ``{"pid": N}`` once the child has a
process group of its own (or ``{"refused": why}`` or ``{"error": why}``, and
the client starts the kernel as a new process instead), and ``{"exit": code,
"cpu": s, "maxrss_kib": n}`` when it has reaped the child (its CPU seconds and
peak memory: a kernel is the zygote's child, not the worker's, so the worker's
own ``getrusage`` does not count it; :func:`kernel_usage` does). Until then the
client may send ``{"signal": n}`` lines: the zygote signals the kernel's
process group only while it has not reaped the kernel, so a signal never
reaches a process that took over a freed id (the worker would need a pidfd to
be as sure). A client that closes the connection first kills the kernel's
process group. Each side checks that the other is the same user (root, or the
worker's account when it is not root).

Left as it is: every kernel of one zygote hashes strings with the zygote's
seed (``PYTHONHASHSEED``'s), so a set of strings iterates in the same order in
each of them, where executed kernels differ from one another.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from .._linux import end_with_parent

ENV = "ADAPTIVE_LR_ZYGOTE"  # in the worker's environment: the socket of its zygote
OFF = "ADAPTIVE_LR_FORK_KERNELS"  # "0": start every kernel as a new process (to compare)
PRELOAD = (
    "ipykernel.kernelapp",
    # What ipykernel imports when its application starts (-X importtime): the debugger alone,
    # with debugpy, is about 0.1 s of every kernel's start.
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "psutil",
    "sqlite3",
    "tornado.platform.asyncio",
    "numpy",
    "numpy.random",  # its global generator is seeded once, at import: each child reseeds it
    "matplotlib",
    "matplotlib.figure",
    "matplotlib.font_manager",
    "matplotlib.backends.backend_agg",
    "PIL.PngImagePlugin",
    "adaptive_lr.grading",
    "adaptive_lr.objectives",
    "adaptive_lr.viz",
)
"""What the zygote imports: what every grading kernel imports, and nothing any kernel hides."""


class Refused(ConnectionError):
    """The zygote will not fork this kernel (it hides a folder the zygote imported from)."""


# -- the zygote (its own process) -------------------------------------------------------------
def serve(path: str) -> None:
    """Import :data:`PRELOAD`, listen on ``path`` and fork a kernel per connection, for ever."""
    end_with_parent()  # with the worker that started it, even if the worker is killed
    parent = os.getppid()
    for name in PRELOAD:
        importlib.import_module(name)
    if len(os.listdir("/proc/self/task")) != 1:  # unshare() needs a single-threaded process
        raise SystemExit("[zygote] an import started a thread: kernels cannot be forked from here")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    kernels: dict[int, socket.socket] = {}  # pid -> its client's connection
    unread: dict[int, bytes] = {}  # pid -> the start of a line its client has not ended yet
    while os.getppid() == parent:
        # Ended kernels are reaped between waits (no SIGCHLD handler: a kernel inherits none), so
        # a short wait: a killed kernel is reported within 10 ms, for 100 wake-ups a second.
        for key, _ in sel.select(timeout=0.01):
            if key.fileobj is listener:
                _accept(listener, sel, kernels)
            else:
                _from_client(key.fileobj, key.data, sel, kernels, unread)
        _report_exits(sel, kernels, unread)


def _accept(listener, sel, kernels) -> None:
    conn, _ = listener.accept()
    try:
        if peer_uid(conn) != os.geteuid():
            raise PermissionError("a client of another user")
        request = json.loads(_read_line(conn, timeout=10))
        argv, env = list(request["argv"]), dict(request.get("env", {}))
        from . import kernel

        hidden = kernel._parser().parse_args(argv).hide
    except (OSError, ValueError, KeyError, TypeError, SystemExit):
        conn.close()
        return
    # What a child would hold of a hidden folder is what this process holds now.
    refused = _hidden_modules(hidden)
    if refused:
        _answer(conn, {"refused": f"it hides {hidden}, and the zygote has imported "
                                  f"{sorted(refused)} from there"})
        return
    pid = _fork(argv, env, [listener, *kernels.values(), conn], sel, conn)
    if pid is not None:
        kernels[pid] = conn
        sel.register(conn, selectors.EVENT_READ, pid)


def _fork(argv, env, inherited, sel, conn) -> int | None:
    """Fork the kernel's child; its id once it has a session of its own, None if it failed."""
    try:
        ready, done = os.pipe()
    except OSError as err:
        _answer(conn, {"error": f"no pipe: {err}"})
        return None
    try:
        pid = os.fork()
    except OSError as err:  # out of processes or memory: this kernel is executed instead
        os.close(ready)
        os.close(done)
        _answer(conn, {"error": f"fork failed: {err}"})
        return None
    if pid == 0:
        os.close(ready)
        _child(argv, env, inherited, sel, done)
    os.close(done)
    with os.fdopen(ready, "rb") as f:  # the child has a session of its own once this returns
        f.read(1)
    try:
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except OSError:
        pass
    return pid


def _answer(conn, message: dict) -> None:
    """Send a last message and close: the client starts this kernel itself."""
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass
    conn.close()


def peer_uid(conn: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _read_line(conn, timeout) -> bytes:
    """One line from ``conn`` (the only thing either side sends in one go)."""
    conn.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _from_client(conn, pid, sel, kernels, unread) -> None:
    """The client of kernel ``pid`` sent signal requests, or is done with the kernel (closed)."""
    try:
        chunk = conn.recv(4096)
    except OSError:
        chunk = b""
    if chunk:
        *lines, rest = (unread.pop(pid, b"") + chunk).split(b"\n")
        for line in lines:
            _signal(pid, line)
        if len(rest) < 4096:  # a line no client sends: treated as the end
            unread[pid] = rest
            return
    unread.pop(pid, None)
    sel.unregister(conn)
    conn.close()
    del kernels[pid]
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # a killed process ends within milliseconds
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        time.sleep(0.01)


def _signal(pid: int, line: bytes) -> None:
    """Signal kernel ``pid``'s process group; it is not reaped yet, so the id is still its."""
    try:
        signum = int(json.loads(line)["signal"])
        if signum in signal.valid_signals():
            os.killpg(pid, signum)
    except (ValueError, KeyError, TypeError, OSError):
        pass


def _report_exits(sel, kernels, unread) -> None:
    for pid in list(kernels):
        try:
            done, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            done, status, usage = pid, 255 << 8, None
        if not done:
            continue
        conn = kernels.pop(pid)
        unread.pop(pid, None)
        report = {"exit": os.waitstatus_to_exitcode(status),
                  "cpu": usage.ru_utime + usage.ru_stime if usage else 0.0,
                  "maxrss_kib": usage.ru_maxrss if usage else 0}
        try:
            conn.sendall(json.dumps(report).encode() + b"\n")
        except OSError:
            pass
        sel.unregister(conn)
        conn.close()


def _child(argv, env, inherited, sel, done) -> None:
    """In the forked child: the sandbox, then ipykernel in this process. Never returns.

    A session of its own, as jupyter_client gives an executed kernel (a session leader
    cannot move into the zygote's process group); no file of the zygote's: its log would
    otherwise be a file every kernel could write and read back, from kernel to kernel. The
    zygote sets no signal handler, so the child has an interpreter's own (SIGPIPE ignored).
    """
    code = 1
    try:
        os.setsid()
        os.write(done, b"1")
        os.close(done)
        sel.close()
        for s in inherited:
            s.close()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 1 << 16)
        code = _run_kernel(argv, env)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        _exit(code)


def _exit(code: int) -> None:
    """End as an interpreter that returns from its main module ends, without the zygote's loop."""
    import atexit

    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


_REAL_PATHS: dict[str, str] = {}  # a module's file -> its real path (0.17 s for all of them)


def _roots(hidden) -> tuple[str, ...]:
    """The real paths of the ``hidden`` folders, each ending in a separator (prefixes to test)."""
    return tuple(os.path.realpath(p).rstrip(os.sep) + os.sep for p in hidden)


def _hidden_modules(hidden) -> list[str]:
    """The modules this process has imported from below a folder of ``hidden``."""
    roots = _roots(hidden)
    if not roots:
        return []
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        if path not in _REAL_PATHS:
            _REAL_PATHS[path] = os.path.realpath(path)
        if _REAL_PATHS[path].startswith(roots):
            found.append(name)
    return found


def _die_with(parent: int) -> None:
    """End this kernel when the zygote ends (it ends with its worker), as an executed kernel
    ends with the grader that started it (ipykernel's parent poller, which a fork cannot use).

    Set after :func:`.kernel.enter`: changing the user clears a parent-death signal.
    """
    end_with_parent()
    if os.getppid() != parent:  # it ended before the signal was asked for
        os._exit(1)


def _run_kernel(argv, passed_env) -> int:
    import matplotlib
    import numpy as np

    from . import kernel

    for key in kernel.passed_on(os.environ):
        del os.environ[key]
    os.environ.update(kernel.passed_on(passed_env))
    zygote_pid = os.getppid()
    connection, backend, env = kernel.enter(argv)
    _die_with(zygote_pid)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # found again from TMPDIR (the scratch folder)
    sys.path[0] = os.getcwd()  # as `python -m ipykernel_launcher` started here has it
    np.random.seed()  # (Python's random module reseeds itself in a forked child)
    if _sees_oracle(argv):  # a grading kernel, not the re-check's: its hidden tests' referee
        from ..grading import hidden

        hidden.start_ahead()
    _forget_folders(matplotlib)
    matplotlib.use(env["MPLBACKEND"])
    from ipykernel import kernelapp

    args = kernel.kernel_argv(connection, backend)[3:]
    sys.argv = [kernelapp.__file__, *args]
    kernelapp.launch_new_instance(argv=args)
    return 0


def _sees_oracle(argv) -> bool:
    """Whether the kernel of ``argv`` can import the reference implementation (its referee can)."""
    import adaptive_lr

    from . import kernel

    oracle = os.path.realpath(os.path.join(os.path.dirname(adaptive_lr.__file__), "optim")) + os.sep
    return not oracle.startswith(_roots(kernel._parser().parse_args(argv).hide))


def _forget_folders(matplotlib) -> None:
    """matplotlib keeps its configuration and cache folders from their first use (the
    zygote's, which a kernel can neither read nor write: a cache it then writes warns on
    stderr); they are found again from ``MPLCONFIGDIR``, as a new process finds them."""
    for name in ("get_configdir", "get_cachedir"):
        getter = getattr(matplotlib, name)
        cells = dict(zip(getter.__code__.co_freevars, getter.__closure__ or ()))
        if "called" in cells:  # matplotlib's _logged_cached (a test checks the folder)
            cells["called"].cell_contents = False


# -- the worker's side ------------------------------------------------------------------------
_STARTED: dict = {}  # this process's zygote: {"process": Popen, "socket": path}
_USAGE = {"cpu": 0.0, "maxrss_kib": 0}  # of the forked kernels this process has seen end


def kernel_usage() -> dict:
    """CPU seconds and the largest peak memory (KiB) of the forked kernels that have ended here."""
    return dict(_USAGE)


def start(root: str | None = None, timeout: float = 60.0) -> str | None:
    """Start this worker's zygote (once per process); returns its socket, None if it failed.

    Sets :data:`ENV` in this process's environment, where the sandbox's
    provisioner looks for it; kernels never see it (their environment is an
    allow-list).
    """
    from .kernel import environment
    from .kernelspec import default_scratch_root

    if os.environ.get(OFF) == "0":
        return None
    proc = _STARTED.get("process")
    if proc is not None and proc.poll() is None:
        return _STARTED["socket"]
    root = root or default_scratch_root()
    os.makedirs(root, mode=0o711, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="zygote-", dir=root)  # 0700, this process's user
    path = os.path.join(folder, "zygote.sock")
    log_fd = os.open(os.path.join(folder, "zygote.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(log_fd, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "adaptive_lr.sandbox.zygote", "--socket", path],
            env=environment(folder), cwd=folder, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            return None
        time.sleep(0.02)
    _STARTED.update(process=proc, socket=path)
    os.environ[ENV] = path
    return path


def stop() -> None:
    """End this process's zygote and remove its folder (its kernels are the reaper's)."""
    proc = _STARTED.pop("process", None)
    path = _STARTED.pop("socket", None)
    os.environ.pop(ENV, None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
    if path:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def retire(path: str) -> None:
    """The zygote at ``path`` failed to fork a kernel: stop using it (stop it, if it is this
    process's). The next kernels are executed; the worker's next task starts a new zygote."""
    if _STARTED.get("socket") == path:
        stop()
    elif os.environ.get(ENV) == path:
        del os.environ[ENV]


def is_sandbox_kernel(cmd) -> bool:
    """Whether ``cmd`` is the sandbox kernelspec's command line (what the zygote can start)."""
    return len(cmd) > 3 and cmd[1:3] == ["-m", "adaptive_lr.sandbox.kernel"]


class ForkedKernel:
    """What jupyter_client's provisioner uses of a ``Popen``, for a kernel a zygote forked."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int, pending: bytes = b""):
        self._conn, self.pid, self.returncode = conn, pid, None
        self._pending = pending  # what arrived after the pid line

    def _read(self, timeout: float | None) -> None:
        if self._conn is None:
            return
        self._conn.settimeout(timeout)
        try:
            while b"\n" not in self._pending:
                chunk = self._conn.recv(4096)
                if not chunk:
                    break
                self._pending += chunk
        except (TimeoutError, BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        if b"\n" in self._pending:
            report = json.loads(self._pending.split(b"\n", 1)[0])
            self.returncode = int(report["exit"])
            _USAGE["cpu"] += float(report.get("cpu", 0.0))
            _USAGE["maxrss_kib"] = max(_USAGE["maxrss_kib"], int(report.get("maxrss_kib", 0)))
        else:  # the zygote is gone, and with it (PR_SET_PDEATHSIG) the kernel
            self.returncode = -signal.SIGKILL
        self.close()

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            self._read(timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Ask the zygote to signal the kernel: it alone knows whether the id is still the
        kernel's (the worker could signal a process that took over a freed id)."""
        if self.poll() is not None or self._conn is None:
            return
        try:
            self._conn.settimeout(5)
            self._conn.sendall(json.dumps({"signal": int(signum)}).encode() + b"\n")
        except OSError:  # the zygote is gone, and with it the kernel
            pass
        if signum == signal.SIGKILL:  # ends within milliseconds: the next poll then knows it
            self._read(2.0)  # (jupyter_client polls every 0.1 s, which a shutdown would pay)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self):
        self.close()

    def close(self) -> None:
        """Done with the kernel: the zygote kills it if it still runs (and then reaps it, so
        its id is no longer this kernel's: it is never signalled again)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if self.returncode is None:
            self.returncode = -signal.SIGKILL


def fork_kernel(path: str, cmd, env) -> ForkedKernel:
    """Have the zygote at ``path`` start the kernel of command line ``cmd``.

    Raises :class:`Refused` when the zygote will not fork it, and another
    ``OSError`` when it cannot (the caller then starts the kernel itself).
    """
    from .kernel import passed_on

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(30)
        conn.connect(path)
        if peer_uid(conn) != os.geteuid():
            raise PermissionError(f"the socket {path} is not a zygote of this user's")
        conn.sendall(json.dumps({"argv": list(cmd[3:]), "env": passed_on(env)}).encode() + b"\n")
        data = _read_line(conn, timeout=30)
        if not data.endswith(b"\n"):
            raise ConnectionError(f"the zygote at {path} closed the connection before forking")
        line, rest = data.split(b"\n", 1)
        answer = _parse_answer(line, path)
        return ForkedKernel(conn, answer, rest)
    except BaseException:
        conn.close()
        raise


def _parse_answer(line: bytes, path: str) -> int:
    try:
        answer = json.loads(line)
        if "refused" in answer:
            raise Refused(f"the zygote will not fork this kernel: {answer['refused']}")
        if "error" in answer:
            raise ConnectionError(f"the zygote at {path} could not fork: {answer['error']}")
        pid = int(answer["pid"])
    except (ValueError, KeyError, TypeError) as err:
        raise ConnectionError(f"the zygote at {path} answered {line[:200]!r}") from err
    if pid <= 1:  # a signal to 0 or -1 would reach this process's group or every process
        raise ConnectionError(f"the zygote at {path} answered the process id {pid}")
    return pid


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m adaptive_lr.sandbox.zygote")
    p.add_argument("--socket", required=True)
    serve(p.parse_args(argv).socket)


if __name__ == "__main__":
    main()
