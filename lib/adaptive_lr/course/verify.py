"""Re-check, outside the student's kernel, every hidden test that passed inside it.

A hidden test runs in the notebook's kernel, where the student's code ran
first. Its expected values come from a clean referee process, but the verdict
is *reported* by the kernel, and a submission can rewrite how the kernel
reports: patch ``get_ipython().run_cell`` to wrap every later cell in
``try: ... except: pass``, and every test cell "passes" (a blank notebook
scored 50/50 that way). So after the notebook has run, :func:`recheck`

1. starts a fresh kernel in the grading sandbox with the reference
   implementation (``adaptive_lr/optim``) hidden, so nothing there can call it;
2. runs the notebook's cells but its tests and its unused plots in it
   (:func:`needed_cells`);
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
import json
import symtable
import time
from dataclasses import asdict, dataclass

from jupyter_client import KernelManager

from ..grading import wire
from ..grading.callees import judge_function
from ..grading.referee import handle, judge_number
from ..grading.verdict import Verdict
from ..sandbox import client

MARK = "ADAPTIVE_LR_RECHECK:"


class ConfigurationError(ValueError):
    """The source's hidden tests cannot be re-checked as written (raised before any grading)."""


@dataclass(frozen=True)
class HiddenCheck:
    """One ``hidden_test(...)`` or ``hidden_number(...)`` call of a test cell, keyed by its grade id."""

    grade_id: str
    kind: str  # "function" or "number"
    name: str  # the function, or the answer's name
    seed: int = 0
    variable: str = ""
    expected: float = 0.0
    rtol: float = 1e-3
    atol: float = 0.0
    hint: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# Arguments of each call: (positional names, required keywords, optional keywords and defaults).
_SIGNATURES = {
    "hidden_test": (("name", "func"), ("seed",), {}),
    "hidden_number": (("value", "expected"), ("name",), {"rtol": 1e-3, "atol": 0.0, "hint": ""}),
}


def _literal(node, grade_id: str, call: str, arg: str, kinds: tuple):
    where = f"{grade_id}: {call}(...) argument {arg!r}"
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ConfigurationError(
            f"{where} is `{ast.unparse(node)}`, not a literal; write the value itself "
            "(the re-check reads it from the source without running it)"
        ) from None
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigurationError(
            f"{where} is {value!r}; expected {' or '.join(k.__name__ for k in kinds)}"
        )
    return value


def _parse_call(node: ast.Call, grade_id: str) -> HiddenCheck:
    call = node.func.id
    positional, required, optional = _SIGNATURES[call]
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise ConfigurationError(f"{grade_id}: {call}(...) uses * or ** arguments; write each one out")
    if len(node.args) != len(positional):
        raise ConfigurationError(
            f"{grade_id}: {call}(...) takes {len(positional)} positional arguments "
            f"({', '.join(positional)}), got {len(node.args)}"
        )
    kw = {k.arg: k.value for k in node.keywords}
    missing = [k for k in required if k not in kw]
    unknown = sorted(set(kw) - set(required) - set(optional))
    if missing or unknown:
        what = [f"missing {', '.join(missing)}"] if missing else []
        what += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise ConfigurationError(f"{grade_id}: {call}(...) keyword arguments: {'; '.join(what)}")
    if call == "hidden_test":
        return HiddenCheck(
            grade_id,
            "function",
            _literal(node.args[0], grade_id, call, "name", (str,)),
            seed=_literal(kw["seed"], grade_id, call, "seed", (int,)),
        )
    if not isinstance(node.args[0], ast.Name):
        raise ConfigurationError(
            f"{grade_id}: hidden_number(...) argument 'value' is `{ast.unparse(node.args[0])}`; "
            "it must be the answer variable's name"
        )
    num = (int, float)
    opt = {k: _literal(kw[k], grade_id, call, k, (str,) if k == "hint" else num)
           for k in optional if k in kw}
    return HiddenCheck(
        grade_id,
        "number",
        _literal(kw["name"], grade_id, call, "name", (str,)),
        variable=node.args[0].id,
        expected=float(_literal(node.args[1], grade_id, call, "expected", num)),
        rtol=float(opt.get("rtol", optional["rtol"])),
        atol=float(opt.get("atol", optional["atol"])),
        hint=opt.get("hint", optional["hint"]),
    )


def hidden_checks(nb) -> dict[str, tuple[HiddenCheck, ...]]:
    """grade id -> the ``hidden_test``/``hidden_number`` calls of that test cell, parsed strictly.

    Read from the *source* notebook (where the hidden tests are written), once
    per batch. Keyed by grade id, not by cell position: a student's added
    cells shift positions. Every argument must be a literal of the right type
    and none may be missing; anything else raises :class:`ConfigurationError`
    (a silent default would fail an honest student as tampering).
    """
    found: dict[str, tuple[HiddenCheck, ...]] = {}
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not md.get("grade") or md.get("solution"):
            continue
        grade_id = md.get("grade_id", "")
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as err:
            raise ConfigurationError(f"{grade_id}: the test cell is not valid Python ({err})") from None
        calls = [
            _parse_call(node, grade_id)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _SIGNATURES
        ]
        if calls:
            found[grade_id] = tuple(calls)
    return found


def checks_from_json(text: str) -> dict[str, tuple[HiddenCheck, ...]]:
    return {gid: tuple(HiddenCheck(**c) for c in cs) for gid, cs in json.loads(text).items()}


def checks_to_json(checks: dict) -> str:
    return json.dumps({gid: [c.to_dict() for c in cs] for gid, cs in checks.items()}, indent=1)


# Runs in the re-check kernel: call the student's function on each case, send back data.
# A stand-in (adaptive_lr.grading.callees) answers the calls to a graded callee from the
# table of reference values the grader sent, when the caller is judged without its callee.
_RUNNER = (
    """
# The re-check needs the student's definitions, not their plots: figures are
# built on a backend that never renders them (no PNG is drawn or sent).
try:
    import matplotlib as __adaptive_lr_mpl__
    __adaptive_lr_mpl__.use("Agg", force=True)
    del __adaptive_lr_mpl__
except Exception:
    pass


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
        self.km = KernelManager(kernel_name=kernel_name, client_class=client.BLOCKING)
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.timeout = timeout

    def run(self, code: str, timeout: float | None = None) -> str:
        """Execute ``code`` and return its stdout, as the notebook would: a cell past the
        time limit (``timeout``, else the kernel's) is interrupted and counts as finished
        once the kernel is idle again.
        Raises :class:`Stuck` when the kernel dies or ignores the interrupt."""
        msg_id = self.kc.execute(code, store_history=False)
        out = []
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
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


def _combine(verdicts: list[Verdict]) -> Verdict:
    """One verdict for a test cell with several hidden calls: it passes only when all pass."""
    if len(verdicts) == 1:
        return verdicts[0]
    failed = [v for v in verdicts if not v.passed]

    def union(field):
        return tuple(dict.fromkeys(k for v in verdicts for k in getattr(v, field)))

    return Verdict(
        passed=not failed,
        message="\n".join(v.message for v in (failed or verdicts)),
        mistakes=union("mistakes"),
        guesses=union("guesses"),
        precision=next((v.precision for v in verdicts if v.precision), ""),
        substituted=next((v.substituted for v in verdicts if v.substituted), ""),
        failed_cases=sum(v.failed_cases for v in verdicts),
        cases=sum(v.cases for v in verdicts),
        oracle=union("oracle"),
    )


def _symbols(source: str) -> tuple[set, set]:
    """Names ``source`` binds in the notebook's namespace and the notebook's names it reads
    (a function's own locals are neither)."""
    bound, read, todo = set(), set(), [symtable.symtable(source, "<cell>", "exec")]
    while todo:
        table = todo.pop()
        todo.extend(table.get_children())
        module = table.get_type() == "module"
        for sym in table.get_symbols():
            if not (module or sym.is_global()):
                continue
            if sym.is_referenced():
                read.add(sym.get_name())
            if sym.is_assigned() or sym.is_imported() or (module and sym.is_namespace()):
                bound.add(sym.get_name())
    return bound, read


def _bindings(source: str) -> tuple[set, set, bool]:
    """What a cell binds, what it reads that an earlier cell bound, and whether it imports
    (effects its names do not show). Statement by statement: ``t = 3; x = t`` reads no ``t``."""
    tree = ast.parse(source)
    bound, read = set(), set()
    for statement in tree.body:
        b, r = _symbols(ast.unparse(statement))
        read |= r - bound
        bound |= b
    opaque = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
    return bound, read, opaque


def needed_cells(nb, checks: dict) -> set[int]:
    """Indices of the cells the re-check runs: every cell but the test cells and unused plots.

    The re-check needs the student's definitions, not their plots. A free
    code cell (not an answer, not a test, not locked: the figure cells and
    cells a student added) is left out when nothing it binds is read by a
    later cell that runs, nor is a checked name, and it imports nothing; found by one backward pass over the cells.
    Answer cells, the setup cell and anything that does not parse always run.
    """
    live = {c.name for cs in checks.values() for c in cs} | {
        c.variable for cs in checks.values() for c in cs if c.variable
    }
    keep = set()
    for index in range(len(nb.cells) - 1, -1, -1):
        cell = nb.cells[index]
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or (md.get("grade") and not md.get("solution")):
            continue
        try:
            bound, read, opaque = _bindings(cell.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            keep.add(index)
            continue
        free = not (md.get("solution") or md.get("locked"))
        if free and not opaque and not (bound & live):
            continue
        keep.add(index)
        live |= read
    return keep


# Seconds a cell that ran past the cell limit in the notebook gets in the first re-check run:
# it was interrupted there, and waiting the whole limit again would double what a runaway
# loop costs the batch (15 s of make demo's 15 s limit, the most expensive submission).
SLOW_CELL_SECONDS = 1.0


def recheck(nb, kernel_name: str, timeout: float, checks: dict, passed=(), slow=()) -> dict:
    """grade_id -> :class:`~adaptive_lr.grading.verdict.Verdict` for every hidden test of ``nb``.

    ``checks`` is :func:`hidden_checks` of the source notebook. The
    notebook's cells run in order in a fresh kernel, except its test cells
    and the cells the answers do not need (:func:`needed_cells`): where a
    test cell with hidden checks stands (found by grade id), its cases are
    run and judged here instead. The cells in ``slow`` (indices of the cells
    that ran past the time limit in the notebook, and were interrupted there)
    are interrupted after :data:`SLOW_CELL_SECONDS`. Should a test in
    ``passed`` (the grade ids that passed in the notebook) fail with cells
    left out or cut short, the re-check is run again with every cell and the
    whole time limit, and that run's verdicts count: leaving out a plot or
    cutting a runaway cell short never turns a pass into a failure. A check
    that cannot be completed (the kernel dies, a cell will not stop, nothing
    comes back) is a failed verdict with the reason; in the notebook those
    tests did not run either.
    """
    if not checks:
        return {}
    needed = needed_cells(nb, checks)
    short = {i: min(timeout, SLOW_CELL_SECONDS) for i in slow}
    verdicts = _recheck_cells(nb, kernel_name, timeout, checks, needed, short)
    everything = {i for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    if any(not verdicts[g].passed for g in passed if g in verdicts) and (
        not everything <= needed or short
    ):
        verdicts = _recheck_cells(nb, kernel_name, timeout, checks, everything, {})
    return verdicts


def _recheck_cells(nb, kernel_name: str, timeout: float, checks: dict, needed: set,
                   short: dict) -> dict:
    """One re-check run: the ``needed`` cells, each within ``timeout`` or its ``short`` limit."""
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
            grade_id = md.get("grade_id", "")
            is_test = bool(md.get("grade") and not md.get("solution"))
            if is_test and grade_id in checks:
                found = []
                for c in checks[grade_id]:
                    try:
                        found.append(_check(kernel, c))
                    except Stuck:
                        raise
                    except Exception as err:  # noqa: BLE001  (no usable answer: a failed verdict)
                        found.append(Verdict(False, f"re-check failed ({err})"))
                verdicts[grade_id] = _combine(found)
            elif not is_test and index in needed:
                kernel.run(cell.source, short.get(index))
    except Exception as err:  # noqa: BLE001  (Stuck, or the kernel would not start)
        for grade_id in checks:
            verdicts.setdefault(
                grade_id, Verdict(False, f"could not be re-checked outside the notebook ({err})")
            )
    finally:
        try:
            kernel.close()
        except Exception:  # noqa: BLE001  (a dead kernel is already gone)
            pass
    return verdicts
