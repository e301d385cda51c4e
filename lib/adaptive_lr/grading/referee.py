"""The referee: a clean Python process that owns the expected values and the verdicts.

The notebook's kernel starts it once (``python -I``, so no user site, no
``PYTHON*`` variables and nothing the notebook has run) and talks to it over
a pipe (:mod:`.wire`). For a hidden test the referee

1. generates the cases from the seed written in the hidden test cell
   (:mod:`.cases`) and sends the inputs;
2. receives what the student's function returned on each case (run in the
   kernel under :mod:`.guard`), with the names of any argument it modified
   and any use of the oracle the tripwires saw;
3. computes the expected values with ``adaptive_lr.optim`` *in this process*
   (float64, from the exactly upcast inputs), compares (:mod:`.compare`), runs
   the catalogue of :mod:`.mistakes` on a failing case to name the likely
   mistake, and answers with a verdict and the message the student reads.

Replacing ``adaptive_lr.optim``'s functions, ``np.allclose`` or
``np.testing`` in the notebook changes nothing here.
"""

from __future__ import annotations

import math
import sys
import traceback
import warnings

import numpy as np

from typing import NamedTuple

from . import wire
from .api import CALLS, FUNCTIONS
from .cases import make_cases
from .compare import RTOL, Got, digits_for, entry, fmt, low_precision, mismatch, relative, scale_factor
from .diagnosis import diagnose
from .verdict import Verdict

_SIGNATURE_ERRORS = ("unexpected keyword argument", "positional argument", "required positional")


def _optim():
    from adaptive_lr import optim

    return optim


def _rtol(name, dtype):
    base = RTOL.get(dtype, RTOL["float64"])
    return base * (FUNCTIONS[name].f32_factor if dtype == "float32" else 1.0)


def _upcast(case):
    args = [np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v for _, v in case["args"]]
    return args, dict(case["kwargs"])


def _as_tuple(fn, value):
    return tuple(value) if fn.returns_tuple else (value,)


def _call(impl, fn, case):
    args, kwargs = _upcast(case)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _as_tuple(fn, impl(*args, **kwargs))


class _Outputs:
    """The student's outputs of one case, decoded, or the reason they cannot be compared."""

    def __init__(self, fn, desc):
        self.values: list = []
        self.problem = None
        n = len(fn.outputs)
        if fn.returns_tuple:
            if desc.get("kind") not in ("tuple", "list"):
                self.problem = (
                    f"returned {Got(desc).what()}; expected a tuple of {n} arrays "
                    f"({', '.join(o.name for o in fn.outputs)})"
                )
                return
            if desc["length"] != n:
                self.problem = (
                    f"returned a {desc['kind']} of {desc['length']} values; expected {n}: "
                    f"({', '.join(o.name for o in fn.outputs)})"
                )
                return
            items = desc["items"]
        else:
            items = [desc]
        for out, item in zip(fn.outputs, items):
            got = Got(item)
            if out.kind == "scalar":
                if got.array is None or got.array.size != 1:
                    self.problem = f"{out.name}: returned {got.what()}; expected a number (a Python float)"
                    return
            elif got.kind != "array":
                self.problem = f"{out.name}: returned {got.what()}; expected a NumPy array"
                if str(got.type).startswith("torch."):
                    self.problem = (f"{out.name}: returned a torch tensor ({got.type}); the exercise works on "
                                    "NumPy arrays: compute with NumPy and return a NumPy array of the "
                                    "input's dtype (torch tensors are refused, not converted)")
                return
            if got.array.dtype.kind == "c":
                self.problem = f"{out.name}: returned complex numbers; expected real ones"
                return
            self.values.append(got.array)


class Diff(NamedTuple):
    """One output that differs from the reference on one case."""

    out: object
    what: str
    got: np.ndarray
    expected: np.ndarray
    index: tuple
    err: float
    rel: float
    """Largest difference relative to the largest expected entry (in the space compared)."""
    scale: float | None


def _compare_outputs(fn, case, got_values, expected, rtol) -> list:
    """A :class:`Diff` (or a shape message) for each output that differs."""
    base_of = {name: np.array(v, dtype=np.float64) for name, v in case["args"] if isinstance(v, np.ndarray)}
    problems = []
    for out, got, exp in zip(fn.outputs, got_values, expected):
        exp = np.asarray(exp, dtype=np.float64)
        if out.kind == "scalar":
            got = np.asarray(got, dtype=np.float64).reshape(())
        elif tuple(got.shape) != tuple(exp.shape):
            problems.append(f"{out.name} has shape {tuple(got.shape)}, expected {tuple(exp.shape)}")
            continue
        base = base_of.get(out.name) if out.kind == "param" else None
        bad = mismatch(got, exp, case["dtype"] or "float64", base=base, rtol=rtol)
        if bad is None:
            continue
        index, err, _ = bad
        if base is not None:
            g_show, e_show = np.asarray(got, np.float64) - base, exp - base
            what = f"the update {out.name}_new - {out.name}"
        else:
            g_show, e_show = np.asarray(got, np.float64), exp
            what = out.name
        top = float(np.max(np.abs(e_show))) if e_show.size else 0.0
        rel = err / top if top > 0 else float("inf")
        problems.append(Diff(out, what, g_show, e_show, tuple(int(i) for i in index), err, rel,
                             scale_factor(got, exp, base)))
    return problems


def _render(diff: Diff, show_scale: bool) -> list:
    """The lines of one differing output: the arrays, the worst entry with its relative difference."""
    g_at = float(diff.got[diff.index]) if diff.index else float(diff.got)
    e_at = float(diff.expected[diff.index]) if diff.index else float(diff.expected)
    digits = digits_for(relative(g_at, e_at))
    lines = [f"{diff.what} (rule: {diff.out.rule}):"]
    if diff.expected.ndim and diff.expected.size > 1:
        lines.append(f"    expected {fmt(diff.expected, digits=digits)}")
        lines.append(f"    got      {fmt(diff.got, digits=digits)}")
        lines.append(f"    largest difference at index {diff.index}: {entry(g_at, e_at, digits)}")
    else:
        lines.append(f"    {entry(g_at, e_at, digits)}")
    if show_scale and diff.scale is not None:
        noun = "update" if diff.what.startswith("the update") else diff.out.name
        lines.append(f"    Your {noun} is about {diff.scale:.4g} times the expected one, in every entry.")
    return lines


def _order_hint(fn, got_values, expected, case, rtol):
    """A hint when the outputs are right but returned in the wrong order."""
    if len(fn.outputs) < 2:
        return None
    perm = []
    for got in got_values:
        match = None
        for j, exp in enumerate(expected):
            exp = np.asarray(exp, dtype=np.float64)
            if np.shape(got) == exp.shape and mismatch(got, exp, case["dtype"], rtol=rtol) is None:
                match = j
                break
        perm.append(match)
    if None not in perm and perm != list(range(len(perm))) and len(set(perm)) == len(perm):
        names = ", ".join(o.name for o in fn.outputs)
        return f"the values are right but in the wrong order: return ({names})"
    return None


def _features(cases) -> str:
    dtypes = sorted({c["dtype"] for c in cases if c["dtype"] and any(isinstance(v, np.ndarray) for _, v in c["args"])})
    ts = sorted({v for c in cases for n, v in c["args"] if n == "t" and isinstance(v, int)})
    tags = {t for c in cases for t in c["tags"]}
    parts = []
    if dtypes:
        parts.append(" and ".join(dtypes))
    if ts:
        parts.append(f"t from {ts[0]} to {ts[-1]}")
    parts.append("non-default hyperparameters")
    for tag, text in (("defaults", "the defaults"), ("zero-grad", "zero gradients"),
                      ("zero-weights", "zero weights"), ("large-eps", "large eps with tiny gradients"),
                      ("tall", "tall matrices"), ("clipping", "update clipping")):
        if tag in tags:
            parts.append(text)
    return ", ".join(parts)


class _Case:
    """What one case gave: the problems found, and the outputs when they could be compared."""

    def __init__(self, index, case):
        self.index, self.case = index, case
        self.lines: list = []  # errors, mutation, structure: shown before any numbers
        self.diffs: list = []
        self.got = None
        self.expected = None
        self.hint = None

    @property
    def failing(self) -> bool:
        return bool(self.lines or self.diffs)

    @property
    def rel(self) -> float:
        return max((d.rel for d in self.diffs if isinstance(d, Diff)), default=0.0)


def _evaluate(fn, index, case, res, oracle) -> _Case:
    c = _Case(index, case)
    if res["status"] != "ok":
        err = res.get("error", "an error")
        c.lines.append(f"raised {err}")
        if any(s in err for s in _SIGNATURE_ERRORS):
            c.lines.append(f"    The API is {fn.signature}.")
        return c
    if res.get("mutated"):
        names = ", ".join(res["mutated"])
        c.lines.append(
            f"modified its argument{'s' if len(res['mutated']) > 1 else ''} {names} in place; "
            "every input must be left unchanged and new arrays returned "
            f"(write {res['mutated'][0]} = ... rather than {res['mutated'][0]} += ..., *= or out=)"
        )
    outs = _Outputs(fn, res["value"])
    if outs.problem:
        c.lines.append(outs.problem)
        return c
    rtol = _rtol(fn.name, case["dtype"])
    c.got, c.expected = outs.values, _call(oracle, fn, case)
    for p in _compare_outputs(fn, case, outs.values, c.expected, rtol):
        (c.diffs if isinstance(p, Diff) else c.lines).append(p)
    if c.diffs:
        c.hint = _order_hint(fn, outs.values, c.expected, case, rtol)
    return c


def _weak_precision(failures) -> str:
    """A 16-bit format when every failing case is off by about that format's rounding only."""
    if not failures or any(f.lines for f in failures):
        return ""
    worst = max(f.rel for f in failures)
    if not 1e-4 <= worst <= 3e-2:
        return ""
    if all(d.scale is not None for f in failures for d in f.diffs):
        return ""  # a systematic factor is a mistake, not rounding
    for f in failures:
        if any(mismatch(d.got, d.expected, "float64", rtol=3e-2) is not None for d in f.diffs):
            return ""
    return "bfloat16" if worst > 2e-3 else "float16"


_PRECISION_TEXT = {
    "bfloat16": "bfloat16 (8 significant bits, about 2 to 3 decimal digits)",
    "float16": "float16 (11 significant bits, about 3 decimal digits)",
}


def _precision_line(kind: str, exact: bool) -> str:
    where = _PRECISION_TEXT[kind]
    if exact:
        head = (f"Precision: every number you returned on the failing cases is a {kind} number, {where}: "
                "the result was computed or stored in 16-bit floats.")
    else:
        head = (f"Precision: your results agree with the reference only to the accuracy of {where} "
                "arithmetic, on every failing case, as if computed in 16-bit floats.")
    return (head + " Compute in the input's dtype "
            "(float64 in, float64 out; float32 in, float32 out); torch.optim.Muon's bfloat16 "
            "Newton-Schulz is not what this exercise asks.")


def _finding_line(f) -> str:
    m = f.mistake
    origin = f" (as in {m.origin})" if m.origin else ""
    if f.confident:
        if f.closeness != f.closeness:
            how = "within float32's tolerance"
        elif f.closeness == 0.0:
            how = "exactly"
        else:
            how = f"to {f.closeness:.0e} relative"
        return (f"Likely mistake: {m.description}{origin}. Your results match this on all {f.checked} "
                f"cases that returned values ({len(f.support)} of them failing), {how}.")
    if f.partial:
        return (f"Likely mistake, in part: {m.description}{origin}. This matches {len(f.support)} of the "
                f"{f.failing} failing cases; on {f.contradicts} case(s) your results differ from it too, "
                "so something else differs as well.")
    return (f"Possible mistake (a guess: only case {f.support[0] + 1} supports it): "
            f"{m.description}{origin}.")


def _order(failures, best):
    """The most diagnostic failing case first: raised or malformed, then where the diagnosed
    convention departs most from the reference, then targeted cases, then by relative difference."""
    def key(c):
        departs = best.departure.get(c.index, 0.0) if best is not None else 0.0
        return (not c.lines, -departs, not c.case["tags"], -c.rel)

    return sorted(failures, key=key)


def _callee_note(name: str) -> str:
    for caller, callee in CALLS.items():
        if callee == name:
            return (f"Note: if your {caller} calls {name}, its hidden test judges {caller} with a correct "
                    f"{name} in its place, so this mistake costs points here only.")
    return ""


def judge(name: str, seed: int, results: list, substituted: dict | None = None) -> Verdict:
    """The verdict on the student's results for the hidden cases of ``name`` and ``seed``.

    ``substituted`` (``{"callee", "own_results", "callee_failed"}``) says that ``results`` were
    obtained with the referee's values of a graded callee in place of the student's, which fails
    its own test (:mod:`.callees`); ``own_results`` are those with the student's callee.
    """
    fn = FUNCTIONS[name]
    optim = _optim()
    oracle = getattr(optim, name)
    cases = make_cases(name, seed)
    n = len(cases)

    used = []
    for r in results:
        for e in r.get("oracle", []):
            if e not in used:
                used.append(e)
    if used:
        return Verdict(False, (
            f"{name} uses the reference implementation or disables the check for it "
            f"({'; '.join(used[:3])}). "
            "The exercise asks you to write the update yourself with NumPy: calling "
            "adaptive_lr.optim (or running a copy of its code) from your solution scores 0 "
            "on this test."
        ), cases=n, failed_cases=n, oracle=tuple(used[:3]))
    if len(results) != n:
        return Verdict(False, f"{name}: the hidden test ran {len(results)} of {n} cases.", cases=n, failed_cases=n)

    evaluated = [_evaluate(fn, i, case, res, oracle) for i, (case, res) in enumerate(zip(cases, results))]
    failures = [c for c in evaluated if c.failing]
    callee = substituted["callee"] if substituted else ""

    if not failures:
        if callee:
            own = [c for c in (_evaluate(fn, i, case, res, oracle) for i, (case, res)
                               in enumerate(zip(cases, substituted["own_results"]))) if c.failing]
            return Verdict(True, (
                f"{name}: all {n} hidden cases match the reference with a correct {callee} "
                f"({_features(cases)}). Your {callee} fails its own hidden test "
                f"({substituted['callee_failed']} cases), and with it {len(own)} of these {n} cases "
                f"fail; {name} is judged on its own logic, with the referee's values of {callee} in "
                f"place of yours, and keeps its points. The difference costs points in {callee}'s test only."
            ), substituted=callee, cases=n)
        return Verdict(True, f"{name}: all {n} hidden cases match the reference ({_features(cases)}).", cases=n)

    # A case counts as failing for the diagnosis only when its numbers differ: a function that
    # returns the right numbers but modifies an input must not be "explained" by a mistake that
    # agrees with it wherever the numbers are right (eps inside the root, for AdaGrad and Adam).
    comparable = [(c.index, c.case, c.got, c.expected, bool(c.diffs)) for c in evaluated if c.got is not None]
    findings = [f for f in diagnose(fn, comparable, lambda case: _rtol(name, case["dtype"]), optim)
                if f.confident or f.partial or f.guess]
    best = findings[0] if findings and (findings[0].confident or findings[0].partial) else None
    valued = [f for f in failures if f.diffs and not f.lines]
    precision = low_precision([g for f in valued for g in f.got], [e for f in valued for e in f.expected])
    exact = bool(precision)
    if not precision and best is None:
        precision = _weak_precision(failures)

    ordered = _order(failures, best)
    first = ordered[0]
    msg = [f"{name}: {len(failures)} of {n} hidden cases fail."]
    if callee:
        msg.append(f"(Judged with a correct {callee} in place of yours, which fails its own hidden test "
                   f"({substituted['callee_failed']} cases): the differences below are {name}'s own.)")
    msg.append("")
    if precision:
        msg.append(_precision_line(precision, exact))
    shown = [f for f in findings if f.confident][:2] or findings[:1]
    for f in shown:
        msg.append(_finding_line(f))
    if precision or shown:
        msg.append("")
    msg.append(f"Case {first.index + 1}: {first.case['label']}")
    for line in first.lines:
        msg.append("  " + line)
    for d in first.diffs:
        msg.extend("  " + line for line in _render(d, show_scale=not precision))
    if first.hint:
        msg.append("  " + first.hint)
    others = [f"case {c.index + 1}: {c.case['label']}" for c in ordered[1:4]]
    if others:
        msg.append("")
        msg.append("Also failing: " + "; ".join(others) + ("; ..." if len(ordered) > 4 else ""))
    note = _callee_note(name)
    if note:
        msg += ["", note]
    # A finding that explains every case makes the partial ones moot (they explain a part of it).
    confident = tuple(f.mistake.key for f in findings if f.confident) or tuple(
        f.mistake.key for f in findings if f.partial)
    guesses = tuple(f.mistake.key for f in findings if f.guess)
    return Verdict(False, "\n".join(msg), mistakes=confident, guesses=guesses, precision=precision,
                   substituted=callee, failed_cases=len(failures), cases=n)


def judge_number(value, expected: float, name: str, rtol: float, atol: float, hint: str) -> Verdict:
    """Verdict on a numeric answer."""
    got = Got(value)
    if got.kind not in ("number", "numpy_scalar") and not (got.kind == "array" and got.array.size == 1):
        return Verdict(False, f"{name} should be a number; it is {got.what()}.", cases=1, failed_cases=1)
    x = float(np.asarray(got.array, dtype=np.float64).reshape(()))
    if math.isfinite(x) and abs(x - expected) <= atol + rtol * abs(expected):
        return Verdict(True, f"{name} = {x:.6g} is right.", cases=1)
    digits = digits_for(relative(x, expected))
    text = (f"{name}: expected about {expected:.{digits}g} (within {rtol:.0e} relative), got {x:.{digits}g}"
            f" (relative difference {relative(x, expected):.2g}).")
    if hint:
        text += " " + hint
    return Verdict(False, text, cases=1, failed_cases=1)


def callee_values(name: str, calls: list) -> dict:
    """The reference's ``name`` on each recorded call ``{"key", "args", "kwargs"}``: key -> value.

    Computed here, in float64 from the exactly upcast arguments, so that the kernel
    never runs the reference (:mod:`.callees` puts these values in the callee's place).
    """
    fn, oracle = FUNCTIONS[name], getattr(_optim(), name)
    values = {}
    for c in calls:
        case = {"args": [[k, v] for k, v in zip(fn.required, c["args"])], "kwargs": c["kwargs"]}
        try:
            out = _call(oracle, fn, case)
        except Exception as err:  # the student's caller passed arguments the rule rejects
            values[c["key"]] = {"error": f"{type(err).__name__}: {err}"}
            continue
        values[c["key"]] = {"value": np.asarray(out[0], dtype=np.float64)}
    return values


def handle(request: dict) -> dict:
    op = request.get("op")
    if op == "cases":
        cases = make_cases(request["name"], request["seed"])
        return {"cases": [{"args": c["args"], "kwargs": c["kwargs"]} for c in cases]}
    if op == "judge":
        return judge(request["name"], request["seed"], request["results"],
                     substituted=request.get("substituted")).to_wire()
    if op == "callee":
        return {"values": callee_values(request["name"], request["calls"])}
    if op == "number":
        return judge_number(request["value"], float(request["expected"]), request["name"],
                            float(request.get("rtol", 1e-3)), float(request.get("atol", 0.0)),
                            request.get("hint", "")).to_wire()
    if op == "ping":
        return {"pong": True}
    return {"error": f"unknown request {op!r}"}


def main() -> None:
    """Serve requests on stdin/stdout until the kernel closes the pipe."""
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the pipe
    _optim()
    while True:
        try:
            message = wire.read_frame(stdin)
        except EOFError:
            return
        try:
            reply = handle(wire.decode(message))
        except Exception:
            reply = {"error": traceback.format_exc()}
        wire.write_frame(stdout, wire.encode(reply))


if __name__ == "__main__":
    main()
