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

from . import wire
from .api import FUNCTIONS
from .cases import make_cases
from .compare import RTOL, Got, fmt, mismatch, scale_factor
from .mistakes import of_function, runnable

# float32 tolerance multipliers where the reference itself loses digits in float32
# (an eigendecomposition, five Newton-Schulz steps that amplify rounding).
_F32_FACTOR = {"matrix_inverse_root": 5.0, "shampoo_update": 5.0, "newton_schulz": 5.0, "muon_update": 5.0}

_SIGNATURE_ERRORS = ("unexpected keyword argument", "positional argument", "required positional")


def _optim():
    from adaptive_lr import optim

    return optim


def _rtol(name, dtype):
    base = RTOL.get(dtype, RTOL["float64"])
    return base * (_F32_FACTOR.get(name, 1.0) if dtype == "float32" else 1.0)


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
                return
            if got.array.dtype.kind == "c":
                self.problem = f"{out.name}: returned complex numbers; expected real ones"
                return
            self.values.append(got.array)


def _compare_outputs(fn, case, got_values, expected, rtol):
    """A list of ``(output, message)`` for the outputs that differ."""
    base_of = {name: np.array(v, dtype=np.float64) for name, v in case["args"] if isinstance(v, np.ndarray)}
    problems = []
    for out, got, exp in zip(fn.outputs, got_values, expected):
        exp = np.asarray(exp, dtype=np.float64)
        if out.kind == "scalar":
            got = np.asarray(got, dtype=np.float64).reshape(())
        elif tuple(got.shape) != tuple(exp.shape):
            problems.append((out, f"{out.name} has shape {tuple(got.shape)}, expected {tuple(exp.shape)}"))
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
            g_show, e_show = got, exp
            what = out.name
        where = f" at index {tuple(int(i) for i in index)}" if index else ""
        text = (
            f"{what}: expected {fmt(e_show)}, got {fmt(g_show)} "
            f"(largest difference {err:.3g}{where}; rule: {out.rule})"
        )
        c = scale_factor(got, exp, base)
        if c is not None:
            text += f"\n    Your {'update' if base is not None else out.name} is {c:.4g} times the expected one."
        problems.append((out, text))
    return problems


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


def _diagnose(fn, case, got_values, rtol):
    """The catalogued mistakes whose output matches the student's on this case."""
    optim = _optim()
    found = []
    for m in of_function(fn.name):
        if m.mutates:
            continue
        try:
            wrong = _call(runnable(m, optim), fn, case)
        except Exception:
            continue
        if len(wrong) != len(got_values):
            continue
        if not _compare_outputs(fn, case, got_values, wrong, rtol):
            found.append(m)
    return found


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


def judge(name: str, seed: int, results: list) -> dict:
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
        return {
            "passed": False,
            "message": (
                f"{name} uses the reference implementation or disables the check for it "
                f"({'; '.join(used[:3])}). "
                "The exercise asks you to write the update yourself with NumPy: calling "
                "adaptive_lr.optim (or running a copy of its code) from your solution scores 0 "
                "on this test."
            ),
            "oracle": used[:3],
        }
    if len(results) != n:
        return {"passed": False, "message": f"{name}: the hidden test ran {len(results)} of {n} cases."}

    failures = []
    mistake_counts: dict = {}
    for i, (case, res) in enumerate(zip(cases, results)):
        lines, diagnoses = [], []
        if res["status"] != "ok":
            err = res.get("error", "an error")
            lines.append(f"raised {err}")
            if any(s in err for s in _SIGNATURE_ERRORS):
                lines.append(f"    The API is {fn.signature}.")
        else:
            if res.get("mutated"):
                names = ", ".join(res["mutated"])
                lines.append(
                    f"modified its argument{'s' if len(res['mutated']) > 1 else ''} {names} in place; "
                    "every input must be left unchanged and new arrays returned "
                    f"(write {res['mutated'][0]} = ... rather than {res['mutated'][0]} += ..., *= or out=)"
                )
            outs = _Outputs(fn, res["value"])
            if outs.problem:
                lines.append(outs.problem)
            else:
                rtol = _rtol(name, case["dtype"])
                expected = _call(oracle, fn, case)
                problems = _compare_outputs(fn, case, outs.values, expected, rtol)
                if problems:
                    hint = _order_hint(fn, outs.values, expected, case, rtol)
                    lines.extend(text for _, text in problems)
                    if hint:
                        lines.append("    " + hint)
                    diagnoses = _diagnose(fn, case, outs.values, rtol)
                    for m in diagnoses:
                        mistake_counts[m.key] = (mistake_counts.get(m.key, (0, m))[0] + 1, m)
        if lines:
            failures.append((i, case, lines, diagnoses))

    if not failures:
        return {"passed": True,
                "message": f"{name}: all {n} hidden cases match the reference ({_features(cases)})."}

    i, case, lines, diagnoses = failures[0]
    msg = [f"{name}: {len(failures)} of {n} hidden cases fail.", "",
           f"Case {i + 1}: {case['label']}"]
    msg += ["  " + line for line in lines]
    if diagnoses:
        msg.append("  Likely mistake: " + diagnoses[0].description + ".")
    others = [f"case {j + 1}: {c['label']}" for j, c, _, _ in failures[1:4]]
    if others:
        msg.append("")
        msg.append("Also failing: " + "; ".join(others) + ("; ..." if len(failures) > 4 else ""))
    common = [m for count, m in sorted(mistake_counts.values(), key=lambda x: -x[0])]
    if common and (not diagnoses or common[0].key != diagnoses[0].key):
        msg.append("Across the failing cases, the likely mistake: " + common[0].description + ".")
    return {"passed": False, "message": "\n".join(msg)}


def judge_number(value, expected: float, name: str, rtol: float, atol: float, hint: str) -> dict:
    """Verdict on a numeric answer."""
    got = Got(value)
    if got.kind not in ("number", "numpy_scalar") and not (got.kind == "array" and got.array.size == 1):
        return {"passed": False, "message": f"{name} should be a number; it is {got.what()}."}
    x = float(np.asarray(got.array, dtype=np.float64).reshape(()))
    if math.isfinite(x) and abs(x - expected) <= atol + rtol * abs(expected):
        return {"passed": True, "message": f"{name} = {x:.6g} is right."}
    text = f"{name}: expected about {expected:.6g} (within {rtol:.0e} relative), got {x:.6g}."
    if hint:
        text += " " + hint
    return {"passed": False, "message": text}


def handle(request: dict) -> dict:
    op = request.get("op")
    if op == "cases":
        cases = make_cases(request["name"], request["seed"])
        return {"cases": [{"args": c["args"], "kwargs": c["kwargs"]} for c in cases]}
    if op == "judge":
        return judge(request["name"], request["seed"], request["results"])
    if op == "number":
        return judge_number(request["value"], float(request["expected"]), request["name"],
                            float(request.get("rtol", 1e-3)), float(request.get("atol", 0.0)),
                            request.get("hint", ""))
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
