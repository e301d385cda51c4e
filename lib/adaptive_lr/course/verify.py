"""Re-check, outside the student's kernel, every hidden test that passed inside it.

A hidden test runs in the notebook's kernel, where the student's code ran
first. Its expected values come from a clean referee process, but the verdict
is *reported* by the kernel, and a submission can rewrite how the kernel
reports: patch ``get_ipython().run_cell`` to wrap every later cell in
``try: ... except: pass``, and every test cell "passes" (a blank notebook
scored 50/50 that way). So after the notebook has run, :func:`recheck`

1. starts a fresh kernel in the grading sandbox with the reference
   implementation (``adaptive_lr/optim``) hidden, so nothing there can call it;
2. runs only the student's answer cells in it;
3. for each hidden test, sends the cases' inputs (generated here, from the
   seed written in the restored test cell), and receives what the student's
   function returned, as data (:mod:`adaptive_lr.grading.wire`: arrays and
   JSON, never pickles);
4. judges the results *in this process* with the referee's own
   :func:`~adaptive_lr.grading.referee.judge`.

Whatever the kernel does, it can only hand back numbers, and the numbers must
be right. The re-check can only take points away (a cell that failed in the
notebook stays failed); a hidden test that passed in the notebook but fails
here, or cannot be re-run, gets an error output and scores 0.
"""

from __future__ import annotations

import ast
import base64
import time
from dataclasses import dataclass

from jupyter_client import KernelManager

from ..grading import wire
from ..grading.callees import judge_function
from ..grading.referee import handle, judge_number
from ..grading.verdict import Verdict

MARK = "ADAPTIVE_LR_RECHECK:"


@dataclass(frozen=True)
class HiddenCheck:
    cell_index: int
    grade_id: str
    kind: str  # "function" or "number"
    name: str  # the function, or the answer variable's name
    seed: int = 0
    variable: str = ""
    expected: float = 0.0
    rtol: float = 1e-3
    atol: float = 0.0
    hint: str = ""


def _literal(node, default=None):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return default


def hidden_checks(nb) -> list[HiddenCheck]:
    """The ``hidden_test(...)`` and ``hidden_number(...)`` calls of the notebook's test cells."""
    found = []
    for index, cell in enumerate(nb.cells):
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not md.get("grade") or md.get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            if node.func.id == "hidden_test" and len(node.args) >= 1 and "seed" in kw:
                found.append(
                    HiddenCheck(
                        index,
                        md.get("grade_id", ""),
                        "function",
                        _literal(node.args[0]),
                        seed=int(_literal(kw["seed"], 0)),
                    )
                )
            elif (
                node.func.id == "hidden_number"
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name)
            ):
                found.append(
                    HiddenCheck(
                        index,
                        md.get("grade_id", ""),
                        "number",
                        _literal(kw.get("name"), node.args[0].id),
                        variable=node.args[0].id,
                        expected=float(_literal(node.args[1], 0.0)),
                        rtol=float(_literal(kw.get("rtol"), 1e-3)),
                        atol=float(_literal(kw.get("atol"), 0.0)),
                        hint=_literal(kw.get("hint"), "") or "",
                    )
                )
    return found


# Runs in the re-check kernel: call the student's function on each case, send back data.
# A stand-in (adaptive_lr.grading.callees) answers the calls to a graded callee from the
# table of reference values the grader sent, when the caller is judged without its callee.
_RUNNER = (
    """
def __adaptive_lr_recheck__(payload, kind, name):
    import base64, copy
    from adaptive_lr.grading import wire
    from adaptive_lr.grading.callees import StandIn, standing_in
    from adaptive_lr.grading.guard import describe
    request = wire.decode(base64.b64decode(payload))
    target = globals().get(name)
    results = []
    stand_in = None
    if request.get("stand_in"):
        stand_in = StandIn(request["stand_in"]["name"], request["stand_in"]["table"])
    if kind == "number":
        results = describe(target)
    else:
        for case in request["cases"]:
            args = [copy.deepcopy(v) for _, v in case["args"]]
            try:
                with standing_in(target, stand_in):
                    value = target(*args, **case["kwargs"])
                results.append({"status": "ok", "error": None, "oracle": [], "mutated": [],
                                "value": describe(value)})
            except BaseException as err:
                results.append({"status": "error", "error": f"{type(err).__name__}: {err}"[:300],
                                "oracle": [], "mutated": [], "value": None})
    reply = {"results": results}
    if stand_in is not None:
        reply.update(missing=stand_in.missing, calls=stand_in.calls)
    print("%s" + base64.b64encode(wire.encode(reply)).decode())
"""
    % MARK
)


class RecheckUnavailable(RuntimeError):
    """The re-check kernel could not start: a grading infrastructure failure."""


class Stuck(RuntimeError):
    """The kernel died, or a cell would not stop even when interrupted."""


class _Kernel:
    """A kernel from ``kernel_name``, driven synchronously; every call bounded by ``timeout``."""

    def __init__(self, kernel_name: str, timeout: float):
        self.km = KernelManager(kernel_name=kernel_name)
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.timeout = timeout

    def run(self, code: str) -> str:
        """Execute ``code`` and return its stdout, as the notebook would: a cell past the
        time limit is interrupted and counts as finished once the kernel is idle again.
        Raises :class:`Stuck` when the kernel dies or ignores the interrupt."""
        msg_id = self.kc.execute(code, store_history=False)
        out = []
        deadline = time.monotonic() + self.timeout
        interrupted = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if interrupted:
                    raise Stuck("a cell would not stop, even when interrupted")
                self.km.interrupt_kernel()
                interrupted, deadline = True, time.monotonic() + 5.0
                continue
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 1.0))
            except Exception:  # queue.Empty: is the kernel still there?
                if not self.km.is_alive():
                    raise Stuck("the kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream" and msg["content"].get("name") == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)

    def close(self):
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


def _decode(stdout: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARK):
            return wire.decode(base64.b64decode(line[len(MARK) :]))
    raise ValueError("no result came back")


def _run_in(kernel: _Kernel, kind: str, target: str, cases: list, stand_in=None) -> dict:
    payload = {"cases": [{"args": c["args"], "kwargs": c["kwargs"]} for c in cases]}
    if stand_in is not None:
        payload["stand_in"] = {"name": stand_in.__name__, "table": stand_in.table}
    blob = base64.b64encode(wire.encode(payload)).decode()
    reply = _decode(kernel.run(f"__adaptive_lr_recheck__({blob!r}, {kind!r}, {target!r})"))
    if stand_in is not None:
        stand_in.missing, stand_in.calls = reply.get("missing", []), int(reply.get("calls", 0))
    return reply


def _check(kernel: _Kernel, check: HiddenCheck) -> Verdict:
    if check.kind == "function":
        def run(name, cases, stand_in):
            return _run_in(kernel, "function", name, cases, stand_in)["results"]

        return Verdict.from_wire(judge_function(check.name, check.seed, run, handle))
    results = _run_in(kernel, "number", check.variable, [])["results"]
    return judge_number(results, check.expected, check.name, check.rtol, check.atol, check.hint)


def recheck(nb, kernel_name: str, timeout: float, checks=None) -> dict:
    """grade_id -> :class:`~adaptive_lr.grading.verdict.Verdict` for every hidden test of ``nb``.

    The notebook's cells run in order in a fresh kernel, except its test
    cells: where a hidden test stood, its cases are run and judged here
    instead. A check that cannot be completed (the kernel dies, a cell will
    not stop, nothing comes back) is a failed verdict with the reason; in
    the notebook those tests did not run either.
    """
    checks = hidden_checks(nb) if checks is None else checks
    if not checks:
        return {}
    by_cell: dict = {}
    for c in checks:
        by_cell.setdefault(c.cell_index, []).append(c)
    verdicts = {}
    try:
        # Before any of the student's code runs, a failure is the grader's, not the
        # student's: it is raised, and the notebook is reported as not graded.
        kernel = _Kernel(kernel_name, timeout)
        kernel.run(_RUNNER)
    except Exception as err:
        raise RecheckUnavailable(f"the re-check kernel did not start: {err}") from err
    try:
        for index, cell in enumerate(nb.cells):
            md = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code":
                continue
            if index in by_cell:
                for c in by_cell[index]:
                    try:
                        verdicts[c.grade_id] = _check(kernel, c)
                    except Stuck:
                        raise
                    except Exception as err:  # noqa: BLE001  (no usable answer: a failed verdict)
                        verdicts[c.grade_id] = Verdict(False, f"re-check failed ({err})")
            elif not (md.get("grade") and not md.get("solution")):  # not a test cell
                kernel.run(cell.source)
    except Exception as err:  # noqa: BLE001  (Stuck, or the kernel would not start)
        for c in checks:
            verdicts.setdefault(
                c.grade_id, Verdict(False, f"could not be re-checked outside the notebook ({err})")
            )
    finally:
        try:
            kernel.close()
        except Exception:  # noqa: BLE001  (a dead kernel is already gone)
            pass
    return verdicts
