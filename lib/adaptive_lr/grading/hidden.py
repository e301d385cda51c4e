"""What the hidden test cells call: the kernel side of a conversation with the referee.

``hidden_test("adam_update", adam_update, seed=...)`` asks the referee for the
cases of that seed, runs the student's function on each under the tripwires
of :mod:`.guard`, sends back what it returned, and prints the referee's
one-line success or raises ``AssertionError`` with the referee's message.
``hidden_number`` does the same for a numeric answer.

The referee is started once per kernel (``python -I``, in its own session) and
stops when the kernel exits (it reads EOF on its stdin). Its stderr goes to a temporary file,
never to the notebook: nbgrader scores a cell 0 when anything reaches stderr. A grading
kernel forked from a worker's zygote forks its referee ahead instead (:func:`start_ahead`),
before the kernel has run anything, so that the first hidden test does not wait for an
interpreter to start and import NumPy.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import time

from . import callees, guard, integrity, wire
from .api import CALLS, FUNCTIONS

_LIB = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from adaptive_lr.grading.referee import main; main()"
_STATE: dict = {"proc": None, "err": None}


class RefereeError(RuntimeError):
    """The referee process failed: a fault of the grader, not of the submission."""


def _start():
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", _BOOT, _LIB],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=err,
        close_fds=True,
        # Its own session: ipykernel's shutdown signals the children in the kernel's
        # process group and waits until they are gone, up to seconds for a child it
        # cannot reap. The referee needs no signal: it exits when its stdin closes.
        start_new_session=True,
    )
    _STATE["proc"], _STATE["err"] = proc, err
    return proc


class _Forked:
    """A referee forked by :func:`start_ahead`, as :func:`request` and :func:`_stop` use a ``Popen``."""

    def __init__(self, pid: int, stdin, stdout):
        self.pid, self.stdin, self.stdout, self.returncode = pid, stdin, stdout, None

    def poll(self):
        if self.returncode is None:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: it has ended all the same
                self.returncode = -1
            else:
                if done:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("referee", timeout)
            time.sleep(0.005)
        return self.returncode

    def kill(self):
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


def _referee_path(path: list, cwd: str, user_site: str | None) -> list:
    """``path`` without the folders ``python -I`` leaves out: the current one and the user's site."""
    return [p for p in path if p not in ("", ".", cwd, user_site)]


def start_ahead() -> None:
    """Fork the referee now, from this process as it is, to serve this kernel's hidden tests.

    Called by a forked grading kernel before it has run any code but the zygote's
    (:mod:`adaptive_lr.sandbox.zygote`), in the sandbox, single-threaded: the
    referee is then what ``python -I`` would start, with NumPy already imported.
    As there, it has a session of its own, its stderr in a temporary file, and no
    folder on its path that the kernel can write to: the current folder (the
    kernel's scratch folder) and the user's site folder are dropped from
    ``sys.path``, since the referee imports the reference implementation only
    when it starts serving, after the student's code may have run.
    """
    import site

    err = tempfile.TemporaryFile()
    referee_in, kernel_out = os.pipe()  # (read end, write end)
    kernel_in, referee_out = os.pipe()
    pid = os.fork()
    if pid == 0:  # the referee
        code = 1
        try:
            os.setsid()
            for fd, target in ((referee_in, 0), (referee_out, 1), (err.fileno(), 2)):
                os.dup2(fd, target)
            os.closerange(3, 1 << 16)
            sys.path[:] = _referee_path(sys.path, os.getcwd(), site.USER_SITE)
            from .referee import main

            main()
            code = 0
        finally:
            os._exit(code)
    os.close(referee_in)
    os.close(referee_out)
    _STATE["proc"] = _Forked(pid, os.fdopen(kernel_out, "wb"), os.fdopen(kernel_in, "rb"))
    _STATE["err"] = err


def _stop():
    proc = _STATE.get("proc")
    if proc is not None:
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
        _STATE["proc"] = None


atexit.register(_stop)


def _stderr_tail() -> str:
    err = _STATE.get("err")
    if err is None:
        return ""
    try:
        err.seek(0)
        return err.read().decode("utf-8", "replace")[-2000:]
    except Exception:
        return ""


def request(tree: dict, _retry: bool = True) -> dict:
    """Send one request to the referee and return its reply."""
    proc = _STATE.get("proc")
    if proc is None or proc.poll() is not None:
        proc = _start()
    try:
        wire.write_frame(proc.stdin, wire.encode(tree))
        reply = wire.decode(wire.read_frame(proc.stdout))
    except (EOFError, OSError, ValueError) as exc:
        tail = _stderr_tail()
        try:
            proc.kill()
        except Exception:
            pass
        _STATE["proc"] = None
        if _retry:
            return request(tree, _retry=False)
        raise RefereeError(f"the grading referee stopped ({exc}); its last words:\n{tail}") from None
    if "error" in reply:
        raise RefereeError("the grading referee failed:\n" + str(reply["error"]))
    return reply


def _report(verdict: dict) -> None:
    __tracebackhide__ = True
    if verdict.get("passed") is True:
        print(verdict["message"])
        return
    if verdict.get("oracle"):
        raise guard.OracleCallError(verdict["message"])
    raise AssertionError(verdict["message"])


def _raised_in(exc, name) -> bool:
    """``exc`` was raised inside a function called ``name`` (the callee, not the caller)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == name:
            return True
        tb = tb.tb_next
    return False


def _run_cases(func, cases, stand_in=None, todo_raises=False, callee=None) -> list:
    """The student's ``func`` on each case under the tripwires, as the referee reads it.

    ``todo_raises``: an unanswered exercise (``NotImplementedError`` on the first case)
    raises, so that the cell shows it; not when it comes from the unanswered ``callee``,
    since the caller is then judged with a stand-in for it."""
    results = []
    for i, case in enumerate(cases):
        names = [n for n, _ in case["args"]]
        args = [v for _, v in case["args"]]
        with callees.standing_in(func, stand_in):
            result = guard.run(func, args, case["kwargs"], names)
        if (result.status == "not_implemented" and i == 0 and todo_raises
                and not (callee and _raised_in(result.exception, callee))):
            raise result.exception
        results.append(
            {
                "status": result.status,
                "error": result.error,
                "oracle": result.oracle,
                "mutated": result.mutated,
                "value": guard.describe(result.value) if result.status == "ok" else None,
            }
        )
        if result.oracle:
            break
    return results


def hidden_test(name: str, func, *, seed: int) -> None:
    """Compare the student's ``func`` with the reference on the hidden cases of ``seed``.

    A function that calls another graded function is judged on its own logic
    (:mod:`.callees`): when the callee fails its own test, the caller is judged
    again with the referee's values in the callee's place.
    """
    __tracebackhide__ = True
    integrity.verify()
    fn = FUNCTIONS[name]
    if not callable(func):
        raise AssertionError(f"{name} is {type(func).__name__}, not a function; define def {fn.signature}:")

    def run(function_name, cases, stand_in):
        target = func if function_name == name else _sibling(func, function_name)
        if target is None:
            return [{"status": "error", "error": f"NameError: {function_name} is not defined", "oracle": [],
                     "mutated": [], "value": None} for _ in cases]
        own = function_name == name and stand_in is None
        return _run_cases(target, cases, stand_in, todo_raises=own, callee=CALLS.get(name))

    _report(callees.judge_function(name, int(seed), run, request))


def _sibling(func, name):
    """The student's function ``name``, as ``func`` would look it up (its module's globals)."""
    target = getattr(func, "__globals__", {}).get(name)
    return target if callable(target) else None


def hidden_number(value, expected: float, *, name: str, rtol: float = 1e-3, atol: float = 0.0,
                  hint: str = "") -> None:
    """Compare a numeric answer with ``expected``: ``|value - expected| <= atol + rtol*|expected|``."""
    __tracebackhide__ = True
    integrity.verify()
    if value is None:
        raise NotImplementedError(f"{name} is still None: replace None by your answer")
    _report(request({"op": "number", "value": guard.describe(value), "expected": float(expected),
                     "name": name, "rtol": float(rtol), "atol": float(atol), "hint": hint}))
