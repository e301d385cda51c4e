"""Differential diagnosis: which known convention or mistake produced the student's results.

For a failing function the referee hands over, case by case, what the
student returned and what the reference expects. Every entry of the
catalogue (:mod:`.mistakes` and :mod:`.conventions`) is run on *every* case,
and compared with the student's results, not with the reference: an entry
explains the results when it matches them on the failing cases and on the
passing ones alike. One matching case is not a diagnosis: a finding that rests
on one case is reported as a guess, one that explains only some failing cases
as partial (a second difference remains).

Runs in the referee's clean process (it imports the oracle, through
:func:`.mistakes.runnable`, for the sibling functions a mistake calls).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .compare import mismatch
from .mistakes import Mistake, of_function, runnable


class Finding(NamedTuple):
    mistake: Mistake
    support: tuple
    """Indices of the failing cases this entry reproduces."""
    failing: int
    """Failing cases with comparable outputs."""
    contradicts: int
    """Cases (failing or not) where this entry's result differs from the student's."""
    checked: int
    closeness: float
    """Largest relative difference between this entry's results and the student's on the float64
    cases where they match (NaN when only float32 cases matched)."""
    departure: dict
    """Case index -> how far this entry departs from the reference there (relative), to order cases."""

    @property
    def confident(self) -> bool:
        return self.contradicts == 0 and len(self.support) >= 2

    @property
    def guess(self) -> bool:
        return self.contradicts == 0 and len(self.support) == 1

    @property
    def partial(self) -> bool:
        return self.contradicts > 0 and len(self.support) >= 2 and 2 * len(self.support) >= self.failing


def _as_tuple(fn, value):
    return tuple(value) if fn.returns_tuple else (value,)


def call(impl, fn, case):
    """``impl`` on the case's inputs upcast to float64 (fresh copies), its outputs as a tuple."""
    args = [np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v for _, v in case["args"]]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _as_tuple(fn, impl(*args, **dict(case["kwargs"])))


def _bases(fn, case):
    base_of = {n: np.asarray(v, np.float64) for n, v in case["args"] if isinstance(v, np.ndarray)}
    return [base_of.get(o.name) if o.kind == "param" else None for o in fn.outputs]


def _relative(a, b, base) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if base is not None:
        a, b = a - base, b - base
    with np.errstate(all="ignore"):
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        diff = np.abs(a - b)
        diff = np.where(np.isnan(a) & np.isnan(b), 0.0, diff)
        worst = float(np.max(diff)) if diff.size else 0.0
    if worst == 0.0:
        return 0.0
    return worst / scale if scale > 0 else float("inf")


def same(fn, case, got, other, rtol) -> bool:
    """``got`` (the student's outputs) equals ``other`` output by output, within the tolerance."""
    if len(got) != len(other):
        return False
    for out, g, o, base in zip(fn.outputs, got, other, _bases(fn, case)):
        o = np.asarray(o, dtype=np.float64)
        g = np.asarray(g, dtype=np.float64)
        if out.kind == "scalar":
            g, o = g.reshape(()), o.reshape(())
        if g.shape != o.shape or mismatch(g, o, case["dtype"] or "float64", base=base, rtol=rtol) is not None:
            return False
    return True


def closeness(fn, case, got, other) -> float:
    return max((_relative(g, o, b) for g, o, b in zip(got, other, _bases(fn, case))), default=0.0)


def diagnose(fn, evaluated, rtol_of, reference_module) -> list[Finding]:
    """The catalogue entries that explain the student's results, best first.

    ``evaluated`` is a list of ``(index, case, got, expected, failing)`` for the
    cases whose outputs could be compared (``got`` the student's outputs).
    """
    failing = sum(1 for *_, f in evaluated if f)
    findings = []
    for mistake in of_function(fn.name):
        if mistake.mutates:
            continue
        try:
            impl = runnable(mistake, reference_module)
        except Exception:  # an entry that does not compile names nothing; the verdict stands
            continue
        support, contradicts, close, departure = [], 0, float("nan"), {}
        for index, case, got, expected, is_failing in evaluated:
            try:
                alt = call(impl, fn, case)
            except Exception:
                contradicts += 1
                continue
            rtol = rtol_of(case)
            if not same(fn, case, got, alt, rtol):
                contradicts += 1
                continue
            if is_failing:
                support.append(index)
                departure[index] = closeness(fn, case, alt, expected)
            if case["dtype"] != "float32":  # float32 results match only to float32's tolerance
                here = closeness(fn, case, got, alt)
                close = here if np.isnan(close) else max(close, here)
        if support:
            findings.append(Finding(mistake, tuple(support), failing, contradicts, len(evaluated), close, departure))
    findings.sort(key=lambda f: (not f.confident, not f.partial, -len(f.support), f.contradicts,
                                  f.closeness if f.closeness == f.closeness else 1.0))
    return findings
