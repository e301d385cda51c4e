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
  a short notice, not 100 MB, in the autograded notebook); figures (inline
  PNG, for the feedback) have a budget of their own;
* enforces a wall-clock budget per notebook, and after each notebook kills
  whatever processes the grading user has left (a fork bomb's orphans).

What happened is written to ``nb.metadata["adaptive_lr"]["execution"]``:
``{"status": "ok" | "timeout" | "kernel died", "reason": ..., "cell": ...}``,
which :mod:`adaptive_lr.course.batch` turns into the report's status column.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, List, Unicode, default

from ..sandbox import KERNEL_NAME, Limits, client, ensure_user, reap, write_kernelspec
from ..grading.verdict import to_metadata
from .verify import checks_from_json, hidden_checks, recheck
from ..sandbox.users import DEFAULT_USER, become_subreaper, is_root

NOT_RUN = "NotRun"
RECHECK_FAILED = "RecheckFailed"
RECHECK_KERNEL = KERNEL_NAME + "-recheck"


def course_secrets(config) -> list[str]:
    """What a grading kernel must not see in the course: solutions, submissions, grades.

    ``source/`` (solutions and hidden tests), ``submitted/``, ``autograded/``
    and ``feedback/`` (every student's work), the SQLite gradebook (hidden
    tests in plain text) and the course's ``nbgrader_config.py`` (it may hold
    the gradebook's URL, password included). The rest of the course folder,
    and the library the tests import, stay readable.
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
    paths.append(os.path.join(root, "nbgrader_config.py"))
    return [p for p in paths if os.path.exists(p)]


MAX_USER_NAME = 32  # useradd refuses longer names


def account_name(base: str, i: int) -> str:
    """The ``i``-th grading account of ``base``: ``base``, ``base-1``, ... within 32 characters.

    A name that would be too long keeps a prefix of ``base`` and a short hash of
    all of it, so that two long bases never share accounts.
    """
    import hashlib

    suffix = f"-{i}" if i else ""
    if len(base) + len(suffix) <= MAX_USER_NAME:
        return base + suffix
    tag = hashlib.sha256(base.encode()).hexdigest()[:6]
    return f"{base[: MAX_USER_NAME - len(suffix) - 7]}-{tag}{suffix}"


def write_grading_kernelspecs(
    kernels_dir, limits: Limits, user: str, hide, figures: bool = True, scratch_root=None
) -> tuple[str, str]:
    """The grading kernel's and the re-check kernel's specs in ``kernels_dir``; returns their names.

    The re-check kernel cannot even see the reference implementation; nobody
    sees its output, so it draws no figures.
    """
    import adaptive_lr.optim

    oracle = os.path.dirname(os.path.abspath(adaptive_lr.optim.__file__))
    common = {"user": user, "scratch_root": scratch_root}
    backend = "inline" if figures else "agg"
    write_kernelspec(kernels_dir, limits, hide=hide, plot_backend=backend, **common)
    write_kernelspec(
        kernels_dir, limits, hide=[*hide, oracle], name=RECHECK_KERNEL, plot_backend="agg", **common
    )
    return KERNEL_NAME, RECHECK_KERNEL


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
        name = account_name(base, i)
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
    hidden_checks_file = Unicode(
        "",
        help="the batch's hidden checks, parsed once from source/ (JSON, adaptive_lr.course.verify); "
        "empty: parse the course's source notebook",
    ).tag(config=True)
    max_output_chars = Integer(
        100_000, help="characters of output kept per cell; the rest is dropped with a notice"
    ).tag(config=True)
    figures = Bool(
        True, help="figures reach the graded notebook as PNG (inline backend); off: none (Agg)"
    ).tag(config=True)
    max_figure_chars = Integer(
        4_000_000, help="characters of figures (base64 images) kept per cell"
    ).tag(config=True)

    @default("shutdown_kernel")
    def _kill_when_done(self):
        # A graded kernel has nothing to save: killed at once, not asked to shut down and
        # then polled every 0.1 s until it has (its zygote reports a kill within milliseconds).
        return "immediate"

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.client_class = client.ASYNC  # ready as soon as the kernel is (sandbox.client)
        return km

    _kernelspec_dir = None
    _kernelspec_key = None
    _account = None  # the grading account this process holds (see claim_account)
    _account_lock = None
    _account_base = None

    def _prepare_sandbox(self) -> None:
        if not self.sandbox:
            self._recheck_kernel = self.kernel_name or "python3"
            return
        become_subreaper()
        if is_root() and SandboxedExecute._account_base != self.sandbox_user:
            # Claimed once per process and kept for every notebook it grades; a process
            # told to grade as another base account gives its account back first.
            if SandboxedExecute._account_lock is not None:
                os.close(SandboxedExecute._account_lock)
                SandboxedExecute._account_lock = None
            SandboxedExecute._account = claim_account(self.sandbox_user)
            SandboxedExecute._account_base = self.sandbox_user
        # Not written back to the sandbox_user trait: nbconvert re-runs the
        # client's __init__ in preprocess(), which would reset it from the config.
        self._user = SandboxedExecute._account or self.sandbox_user
        limits = Limits(self.memory_bytes, self.cpu_seconds, self.max_processes, self.max_file_bytes)
        hide = course_secrets(self.config) + [p for p in self.hide_paths if p]
        # A long-lived grading process (adaptive_lr.course.task) grades many scratch
        # courses: the specs are written again whenever what they hide or limit changes.
        key = (limits, self._user, tuple(hide), self.figures)
        if SandboxedExecute._kernelspec_key != key:
            old = SandboxedExecute._kernelspec_dir
            base = tempfile.mkdtemp(prefix="adaptive-lr-kernels-")
            write_grading_kernelspecs(
                os.path.join(base, "kernels"), limits, self._user, hide, figures=self.figures
            )
            paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != old]
            os.environ["JUPYTER_PATH"] = os.pathsep.join([base, *paths])
            SandboxedExecute._kernelspec_dir, SandboxedExecute._kernelspec_key = base, key
            if old:
                shutil.rmtree(old, ignore_errors=True)
        self.kernel_name = KERNEL_NAME
        self._recheck_kernel = RECHECK_KERNEL

    # -- execution ------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._prepare_sandbox()
        self._started = set()
        self._output_chars = {}
        self._figure_chars = {}
        self._truncated = set()
        self._timed_out = []
        self._slow_cells = set()  # indices of the cells that ran past the cell limit
        record = {"status": "ok", "reason": "", "cell": ""}
        watchdog = threading.Timer(self.notebook_timeout, self._kill_runaway_kernel)
        watchdog.daemon = True
        self._watchdog_fired = False
        watchdog.start()
        start = self._first_cell_at = time.monotonic()
        self._recheck = {"ran": False, "checked": [], "failed": [], "untrusted": [], "verdicts": {}}
        self._recheck_seconds = 0.0
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
                self._slow_cells.add(last)
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
        executed_at = time.monotonic()
        if self.recheck:
            forged = self._recheck_passed_hidden_tests(nb)
            if forged:
                record["recheck_failed"] = forged
        self._recheck_seconds = time.monotonic() - executed_at
        if record["status"] == "ok" and self._timed_out:
            cells = ", ".join(self._timed_out)
            record = {
                "status": "timeout",
                "cell": self._timed_out[0],
                "reason": f"{cells} ran past the {self.timeout} s cell limit and was interrupted",
            }
        record["seconds"] = round(time.monotonic() - start, 2)
        record["timings"] = {
            "kernel_start": round(self._first_cell_at - start, 3),
            "execution": round(executed_at - self._first_cell_at, 3),
            "recheck": round(self._recheck_seconds, 3),
        }
        record["recheck"] = self._recheck
        if self._truncated:
            record["truncated_cells"] = sorted(self._truncated)
        nb.metadata.setdefault("adaptive_lr", {})["execution"] = record
        return nb, resources

    def _hidden_checks(self) -> dict:
        """The batch's hidden checks (one parse of source/ per batch), keyed by grade id."""
        if self.hidden_checks_file:
            with open(self.hidden_checks_file, encoding="utf-8") as f:
                return checks_from_json(f.read())
        import nbformat
        from nbgrader.coursedir import CourseDirectory

        cd = CourseDirectory(config=self.config)
        path = os.path.join(cd.root, cd.source_directory, cd.assignment_id, "exercises.ipynb")
        return hidden_checks(nbformat.read(path, as_version=4))

    def _recheck_passed_hidden_tests(self, nb) -> list[str]:
        """Re-run every hidden test outside the kernel; fail those that passed in it but not there."""
        checks = self._hidden_checks()
        passed = {
            _grade_id(cell)
            for cell in nb.cells
            if _grade_id(cell) in checks
            and not any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        }
        if not checks:
            return []
        # Every hidden test is re-run, not only the passed ones: the record's message and
        # catalogued mistakes per test come from these grader-side verdicts.
        try:
            verdicts = recheck(nb, self._recheck_kernel, float(self.timeout or 60), checks,
                               passed=passed, slow=self._slow_cells)
        finally:
            if self.sandbox and is_root():
                reap(self._user)
        # The grader-side verdicts, typed (the record reads the diagnosed mistakes from here).
        self._recheck.update(ran=True, checked=sorted(verdicts), verdicts=to_metadata(verdicts))
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
        self._recheck["failed"] = list(forged)
        if forged:
            # The notebook reported passes it did not earn, so its other test cells
            # cannot be trusted either: a visible test of an exercise whose functions
            # fail the re-check fails too (an honest notebook never gets here).
            failing = {gid[:2] for gid, v in verdicts.items() if not v.passed}
            checked = set(checks)
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
                    self._recheck["untrusted"].append(grade_id)
        return forged

    def on_cell_executed(self, **kwargs):
        reply = kwargs.get("execute_reply") or {}
        if reply.get("content", {}).get("ename") == self.error_on_timeout.get("ename"):
            cell = kwargs["cell"]
            self._timed_out.append(_grade_id(cell) or f"cell {kwargs.get('cell_index', 0) + 1}")
            self._slow_cells.add(kwargs.get("cell_index", 0))
        return super().on_cell_executed(**kwargs)

    def preprocess_cell(self, cell, resources, index):
        if not self._started:
            self._first_cell_at = time.monotonic()
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
        data = content.get("data", {})
        figure = sum(
            len(v) for k, v in data.items() if k.startswith("image/") and isinstance(v, str)
        )
        if figure:
            used = self._figure_chars.get(cell_index, 0)
            self._figure_chars[cell_index] = used + figure
            if used + figure <= self.max_figure_chars:
                return super().output(outs, msg, display_id, cell_index)
            limit = f"{self.max_figure_chars:,} characters of figures"
            return self._truncate(outs, cell_index, limit)
        size = len(text) + sum(len(v) for v in data.values() if isinstance(v, str))
        used = self._output_chars.get(cell_index, 0)
        self._output_chars[cell_index] = used + size
        if used + size <= self.max_output_chars:
            return super().output(outs, msg, display_id, cell_index)
        room = self.max_output_chars - used
        out = None
        if room > 0 and text:  # keep the head of a long stream, drop the rest
            msg = {**msg, "content": {**content, "text": text[:room]}}
            out = super().output(outs, msg, display_id, cell_index)
        self._truncate(outs, cell_index, f"{self.max_output_chars:,} characters")
        return out

    def _truncate(self, outs, cell_index, limit: str):
        """Leave, once per cell, the notice that output past ``limit`` was dropped."""
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            outs.append(
                new_output(
                    "stream",
                    name="stdout",
                    text=f"\n[output truncated by the grader after {limit}]\n",
                )
            )
        return None
