"""nbgrader's executor, made to survive what a submission can do to its kernel.

:class:`SandboxedExecute` replaces nbgrader's ``Execute`` in the autograde
stage (``grader_config.py``). It

* runs every notebook in the grading sandbox (:mod:`adaptive_lr.sandbox`):
  an unprivileged user, resource limits, a read-only file system but for a
  scratch folder, the course folder and the instructor's ``source/`` hidden;
* turns a kernel that dies (``os._exit``, ``kill -9``, the memory limit) or
  a cell that will not stop (an infinite loop that swallows the interrupt)
  into a graded notebook instead of a failed one: the cells that ran keep
  their results, and every code cell that did not run gets an error output,
  so its tests score 0. (Without that, a test cell that never ran has no
  error in it and nbgrader would count it as passed.) The batch goes on;
* caps each cell's stored output (a submission that prints 100 MB leaves
  a short notice, not 100 MB, in the autograded notebook);
* enforces a wall-clock budget per notebook, and after each notebook kills
  whatever processes the grading user has left (a fork bomb's orphans).

What happened is written to ``nb.metadata["adaptive_lr"]["execution"]``:
``{"status": "ok" | "timeout" | "kernel died", "reason": ..., "cell": ...}``,
which :mod:`adaptive_lr.course.batch` turns into the report's status column.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, List, Unicode

from ..sandbox import KERNEL_NAME, Limits, ensure_user, reap, write_kernelspec
from ..grading.verdict import to_metadata
from .verify import hidden_checks, recheck
from ..sandbox.users import DEFAULT_USER, become_subreaper, is_root

NOT_RUN = "NotRun"
RECHECK_FAILED = "RecheckFailed"
RECHECK_KERNEL = KERNEL_NAME + "-recheck"


def course_secrets(config) -> list[str]:
    """What a grading kernel must not see in the course: solutions, submissions, grades.

    ``source/`` (solutions and hidden tests), ``submitted/``, ``autograded/``
    and ``feedback/`` (every student's work) and the SQLite gradebook (hidden
    tests in plain text). The rest of the course folder, and the library the
    tests import, stay readable.
    """
    from nbgrader.coursedir import CourseDirectory

    cd = CourseDirectory(config=config)
    root = os.path.abspath(cd.root)
    paths = [
        os.path.join(root, d)
        for d in (
            cd.source_directory,
            cd.submitted_directory,
            cd.autograded_directory,
            cd.feedback_directory,
        )
    ]
    if cd.db_url.startswith("sqlite:///"):
        paths.append(cd.db_url[len("sqlite:///") :])
    return [p for p in paths if os.path.exists(p)]


def claim_account(base: str) -> str:
    """Claim a grading account no other grading process is using: ``base``, ``base-1``, ...

    The reaper kills every process of its account after each notebook, so two
    graders running at once (two courses, or the workers of a parallel batch)
    must never share one. An exclusive ``flock`` held for this process's life
    marks the account as taken; it is released when the process ends, even
    if it crashes.
    """
    import fcntl

    folder = os.path.join(tempfile.gettempdir(), "adaptive-lr-sandbox", "accounts")
    os.makedirs(folder, exist_ok=True)
    for i in range(64):
        name = base if i == 0 else f"{base}-{i}"
        fd = os.open(os.path.join(folder, f"{name}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        SandboxedExecute._account_lock = fd  # held until the process exits
        ensure_user(name)
        return name
    raise RuntimeError(f"64 grading processes already hold the accounts {base}, {base}-1, ...")


def _fail(cell, ename: str, message: str) -> None:
    """Give ``cell`` an error output: nbgrader then scores a test cell 0."""
    cell.outputs.append(
        new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])
    )


def _grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, in the sandbox, with timeouts and kernel deaths graded."""

    sandbox = Bool(True, help="run kernels in the grading sandbox").tag(config=True)
    sandbox_user = Unicode(DEFAULT_USER, help="the grading account (one per grading worker)").tag(
        config=True
    )
    hide_paths = List(
        Unicode(),
        help="more paths the kernel must not see, besides the course's own (see course_secrets)",
    ).tag(config=True)
    memory_bytes = Integer(Limits().memory_bytes).tag(config=True)
    cpu_seconds = Integer(Limits().cpu_seconds).tag(config=True)
    max_processes = Integer(Limits().max_processes).tag(config=True)
    max_file_bytes = Integer(Limits().max_file_bytes).tag(config=True)
    notebook_timeout = Integer(
        900, help="wall-clock seconds for one whole notebook; then its kernel is killed"
    ).tag(config=True)
    recheck = Bool(
        True,
        help="re-run every passed hidden test outside the student's kernel (adaptive_lr.course.verify)",
    ).tag(config=True)
    max_output_chars = Integer(
        100_000, help="characters of output kept per cell; the rest is dropped with a notice"
    ).tag(config=True)

    _kernelspec_dir = None
    _account = None  # the grading account this process holds (see claim_account)
    _account_lock = None

    def _prepare_sandbox(self) -> None:
        if not self.sandbox:
            self._recheck_kernel = self.kernel_name or "python3"
            return
        become_subreaper()
        if is_root() and SandboxedExecute._account is None:
            SandboxedExecute._account = claim_account(self.sandbox_user)
        # Not written back to the sandbox_user trait: nbconvert re-runs the
        # client's __init__ in preprocess(), which would reset it from the config.
        self._user = SandboxedExecute._account or self.sandbox_user
        if SandboxedExecute._kernelspec_dir is None:
            base = tempfile.mkdtemp(prefix="adaptive-lr-kernels-")
            limits = Limits(
                self.memory_bytes, self.cpu_seconds, self.max_processes, self.max_file_bytes
            )
            hide = course_secrets(self.config) + [p for p in self.hide_paths if p]
            write_kernelspec(os.path.join(base, "kernels"), limits, user=self._user, hide=hide)
            # The re-check kernel cannot even see the reference implementation.
            import adaptive_lr.optim

            oracle = os.path.dirname(os.path.abspath(adaptive_lr.optim.__file__))
            write_kernelspec(
                os.path.join(base, "kernels"),
                limits,
                user=self._user,
                hide=[*hide, oracle],
                name=RECHECK_KERNEL,
            )
            SandboxedExecute._kernelspec_dir = base
            os.environ["JUPYTER_PATH"] = base + (
                os.pathsep + os.environ["JUPYTER_PATH"] if os.environ.get("JUPYTER_PATH") else ""
            )
        self.kernel_name = KERNEL_NAME
        self._recheck_kernel = RECHECK_KERNEL

    # -- execution ------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._prepare_sandbox()
        self._started = set()
        self._output_chars = {}
        self._truncated = set()
        self._timed_out = []
        record = {"status": "ok", "reason": "", "cell": ""}
        watchdog = threading.Timer(self.notebook_timeout, self._kill_runaway_kernel)
        watchdog.daemon = True
        self._watchdog_fired = False
        watchdog.start()
        start = time.monotonic()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except (DeadKernelError, CellTimeoutError, RuntimeError) as err:
            if not self._started:
                raise  # the kernel never ran a cell: the grader's fault, not the student's
            last = max(self._started)
            cell = nb.cells[last]
            where = _grade_id(cell) or f"cell {last + 1}"
            if self._watchdog_fired:
                record = {
                    "status": "timeout",
                    "cell": where,
                    "reason": f"the notebook ran past {self.notebook_timeout} s (in {where}); its kernel was stopped",
                }
            elif isinstance(err, CellTimeoutError):
                record = {
                    "status": "timeout",
                    "cell": where,
                    "reason": f"{where} did not stop within {self.timeout} s, even when interrupted",
                }
            else:
                record = {
                    "status": "kernel died",
                    "cell": where,
                    "reason": f"the kernel died while running {where} (sys.exit, os._exit, a signal "
                    "or the memory limit); later cells did not run",
                }
            self._mark_not_run(nb, last, record["reason"])
        finally:
            watchdog.cancel()
            if self.sandbox and is_root():
                reap(self._user)
        if self.recheck:
            forged = self._recheck_passed_hidden_tests(nb)
            if forged:
                record["recheck_failed"] = forged
        if record["status"] == "ok" and self._timed_out:
            cells = ", ".join(self._timed_out)
            record = {
                "status": "timeout",
                "cell": self._timed_out[0],
                "reason": f"{cells} ran past the {self.timeout} s cell limit and was interrupted",
            }
        record["seconds"] = round(time.monotonic() - start, 2)
        if self._truncated:
            record["truncated_cells"] = sorted(self._truncated)
        nb.metadata.setdefault("adaptive_lr", {})["execution"] = record
        return nb, resources

    def _recheck_passed_hidden_tests(self, nb) -> list[str]:
        """Re-run, outside the kernel, the hidden tests that passed in it; fail those that do not pass there."""
        checks = hidden_checks(nb)
        passed = {
            c.grade_id
            for c in checks
            if not any(
                o.get("output_type") == "error" for o in nb.cells[c.cell_index].get("outputs", [])
            )
        }
        judged = {
            c.grade_id
            for c in checks
            if any(
                o.get("output_type") == "error" and o.get("ename") == "AssertionError"
                for o in nb.cells[c.cell_index].get("outputs", [])
            )
        }
        if not passed and not judged:
            return []
        try:
            verdicts = recheck(nb, self._recheck_kernel, float(self.timeout or 60), checks)
        finally:
            if self.sandbox and is_root():
                reap(self._user)
        # The grader-side verdicts, typed: the report reads the diagnosed mistakes from here.
        nb.metadata.setdefault("adaptive_lr", {})["verdicts"] = to_metadata(verdicts)
        forged = []
        for index, cell in enumerate(nb.cells):
            grade_id = _grade_id(cell)
            verdict = verdicts.get(grade_id)
            if grade_id in passed and verdict is not None and not verdict.passed:
                message = (
                    "this hidden test passed in the notebook but not when re-run outside it: "
                    + verdict.message
                )
                _fail(cell, RECHECK_FAILED, message)
                forged.append(grade_id)
        if forged:
            # The notebook reported passes it did not earn, so its other test cells
            # cannot be trusted either: a visible test of an exercise whose functions
            # fail the re-check fails too (an honest notebook never gets here).
            failing = {gid[:2] for gid, v in verdicts.items() if not v.passed}
            checked = {c.grade_id for c in checks}
            for cell in nb.cells:
                md = cell.get("metadata", {}).get("nbgrader", {})
                grade_id = md.get("grade_id", "")
                if (
                    cell.cell_type == "code"
                    and md.get("grade")
                    and not md.get("solution")
                    and grade_id not in checked
                    and grade_id[:2] in failing
                    and not any(o.get("output_type") == "error" for o in cell.get("outputs", []))
                ):
                    message = (
                        f"not trusted: this notebook reported hidden tests as passed that fail when "
                        f"re-run outside it, and exercise {grade_id[:2]} fails that re-check"
                    )
                    _fail(cell, RECHECK_FAILED, message)
                    forged.append(grade_id)
        return forged

    def on_cell_executed(self, **kwargs):
        reply = kwargs.get("execute_reply") or {}
        if reply.get("content", {}).get("ename") == self.error_on_timeout.get("ename"):
            cell = kwargs["cell"]
            self._timed_out.append(_grade_id(cell) or f"cell {kwargs.get('cell_index', 0) + 1}")
        return super().on_cell_executed(**kwargs)

    def preprocess_cell(self, cell, resources, index):
        self._started.add(index)
        return super().preprocess_cell(cell, resources, index)

    def _mark_not_run(self, nb, last: int, reason: str) -> None:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index < last:
                continue
            if index == last and any(
                o.get("output_type") == "error" for o in cell.get("outputs", [])
            ):
                continue
            _fail(cell, NOT_RUN, reason)

    def _kill_runaway_kernel(self) -> None:
        self._watchdog_fired = True
        km = getattr(self, "km", None)
        try:
            if km is not None and km.has_kernel:
                pid = km.provisioner.process.pid
                os.killpg(os.getpgid(pid), 9)
        except (OSError, AttributeError):
            pass
        if self.sandbox and is_root():
            reap(self._user)

    # -- output ---------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        if msg.get("msg_type") not in (
            "stream",
            "display_data",
            "execute_result",
            "update_display_data",
        ):
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content", {})
        text = content.get("text", "")
        size = len(text) + sum(
            len(v) for v in content.get("data", {}).values() if isinstance(v, str)
        )
        used = self._output_chars.get(cell_index, 0)
        self._output_chars[cell_index] = used + size
        if used + size <= self.max_output_chars:
            return super().output(outs, msg, display_id, cell_index)
        room = self.max_output_chars - used
        out = None
        if room > 0 and text:  # keep the head of a long stream, drop the rest
            msg = {**msg, "content": {**content, "text": text[:room]}}
            out = super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            outs.append(
                new_output(
                    "stream",
                    name="stdout",
                    text=f"\n[output truncated by the grader after {self.max_output_chars:,} characters]\n",
                )
            )
        return out
