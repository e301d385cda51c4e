"""Compare a student's outputs with the reference's, with tolerances, and say what differs.

Used by the referee only, in its own clean interpreter: nothing a notebook
does to NumPy can reach these comparisons.

Tolerances. The reference is computed in float64 from the (exactly upcast)
inputs; a result is accepted when every entry satisfies

    |got - expected| <= rtol * |expected| + rtol * max|expected| + rounding

with ``rtol`` 1e-6 for float64 inputs and 2e-3 for float32 inputs, and
``rounding`` four units in the last place of the input's dtype. A parameter
(``theta``, ``w``, ``W``, ``X``) is compared through its *update*
``new - old``: an update of 1e-6 on weights of size 1 is invisible in the
weights but not in the update, and it is the update that a mistake changes.
Algebraically equivalent rearrangements pass; a misplaced epsilon, a missing
factor or a wrong sign do not.
"""

from __future__ import annotations

import numpy as np

RTOL = {"float64": 1e-6, "float32": 2e-3}
ULP = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps)}


class Got:
    """A student's output decoded from its wire description."""

    def __init__(self, desc):
        self.kind = desc.get("kind")
        self.type = desc.get("type")
        self.array = None
        if self.kind == "array" or self.kind == "numpy_scalar":
            self.array = desc["data"]
        elif self.kind == "number":
            self.array = np.asarray(desc["value"], dtype=np.float64)

    def what(self) -> str:
        if self.kind == "array":
            return f"an array of shape {tuple(self.array.shape)} and dtype {self.array.dtype}"
        if self.kind in ("numpy_scalar", "number"):
            return f"a number ({self.type})"
        if self.kind == "none":
            return "None (is a `return` missing?)"
        if self.kind in ("tuple", "list"):
            return f"a {self.kind}"
        return f"an object of type {self.type}"


def digits_for(relative: float) -> int:
    """Significant digits that make a relative difference of ``relative`` visible (6 to 17)."""
    if not np.isfinite(relative) or relative <= 0:
        return 6
    return int(min(17, max(6, np.ceil(-np.log10(relative)) + 3)))


def fmt(a, n=6, digits=6) -> str:
    """``a`` (a number or an array, shown flat, ``n`` entries) with ``digits`` significant digits."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return f"{float(a):.{digits}g}"
    flat = a.ravel()
    body = ", ".join(f"{float(x):.{digits}g}" for x in flat[:n])
    return f"[{body}{', ...' if flat.size > n else ''}]"


def relative(got: float, expected: float) -> float:
    """``|got - expected| / |expected|`` (inf when only ``expected`` is zero, 0 when both are)."""
    d = abs(got - expected)
    if d == 0 or (np.isnan(got) and np.isnan(expected)):
        return 0.0
    return d / abs(expected) if expected != 0 else float("inf")


def entry(got: float, expected: float, digits: int) -> str:
    """One entry compared: both values, the relative difference and, when informative, the ratio."""
    rel = relative(got, expected)
    text = f"expected {expected:.{digits}g}, got {got:.{digits}g}"
    if np.isfinite(got) and np.isfinite(expected) and expected != 0:
        text += f" (relative difference {rel:.2g}"
        ratio = got / expected
        if abs(ratio - 1.0) > 1e-3 and ratio != 0:
            text += f"; got/expected = {ratio:.6g}"
        text += ")"
    return text


def mismatch(got, expected, dtype: str, base=None, rtol=None):
    """``None`` when ``got`` matches ``expected``, else ``(index, largest_error, allowed)``.

    ``base`` (the parameter before the step) switches to comparing updates.
    """
    rtol = RTOL[dtype] if rtol is None else rtol
    ulp = ULP[dtype]
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(all="ignore"):
        if base is not None:
            b = np.asarray(base, dtype=np.float64)
            floor = 4.0 * ulp * (np.abs(b) + np.abs(e))
            g, e = g - b, e - b
        else:
            floor = 4.0 * ulp * np.abs(e)
        finite = np.abs(e[np.isfinite(e)])
        scale = float(np.max(finite)) if finite.size else 0.0
        allowed = rtol * np.abs(e) + rtol * scale + floor + 1e-300
        err = np.abs(g - e)
        both_nan = np.isnan(g) & np.isnan(e)
        same_inf = np.isinf(g) & np.isinf(e) & (np.sign(g) == np.sign(e))
        bad = ~((err <= allowed) | both_nan | same_inf)
    if not bad.any():
        return None
    with np.errstate(all="ignore"):
        ratio = np.where(bad, np.nan_to_num(err / allowed, nan=np.inf, posinf=np.inf), 0.0)
    k = int(np.argmax(ratio))
    index = np.unravel_index(k, e.shape) if e.ndim else ()
    return index, float(err.ravel()[k]), float(allowed.ravel()[k])


def scale_factor(got, expected, base=None):
    """``c`` when ``got`` (or its update) is ``c`` times the expected one, else ``None``."""
    g = np.asarray(got, dtype=np.float64).ravel()
    e = np.asarray(expected, dtype=np.float64).ravel()
    if base is not None:
        b = np.asarray(base, dtype=np.float64).ravel()
        g, e = g - b, e - b
    with np.errstate(all="ignore"):
        ee = float(e @ e)
        if not np.isfinite(ee) or ee == 0.0 or not np.all(np.isfinite(g)):
            return None
        c = float(g @ e) / ee
        resid = float(np.linalg.norm(g - c * e))
        if resid <= 1e-3 * abs(c) * np.sqrt(ee) and abs(c - 1.0) > 1e-3 and c != 0.0:
            return c
    return None


def _bfloat16(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to the nearest bfloat16 number (ties to even), as float64."""
    with np.errstate(all="ignore"):
        bits = x.astype(np.float32).view(np.uint32)
        bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return bits.view(np.float32).astype(np.float64)


def _float16(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return x.astype(np.float16).astype(np.float64)


def _is_format(x: np.ndarray, rounded) -> np.ndarray:
    """Entries of ``x`` that are numbers of a 16-bit format (to 1e-9 relative: a cast back to
    float64 through float32, or a last multiplication by a Python float, keeps them so)."""
    with np.errstate(all="ignore"):
        return np.abs(rounded(x) - x) <= 1e-9 * np.abs(x)


def low_precision(got_values, expected_values) -> str:
    """``"bfloat16"`` or ``"float16"`` when every returned number is one of that format (and the
    reference's are not): the result was computed or stored in 16-bit floats. ``""`` otherwise."""
    g = [np.asarray(v, np.float64).ravel() for v in got_values]
    e = [np.asarray(v, np.float64).ravel() for v in expected_values]
    g = np.concatenate(g) if g else np.zeros(0)
    e = np.concatenate(e) if e else np.zeros(0)
    g, e = g[np.isfinite(g) & (g != 0)], e[np.isfinite(e) & (e != 0)]
    if g.size < 4 or e.size < 4:
        return ""
    mantissa = np.frexp(g)[0] * 16
    if np.all(mantissa == np.round(mantissa)):
        return ""  # round numbers (a ratio clamped at 1.0, -G for a step of -1) are not 16-bit rounding
    for name, rounded in (("bfloat16", _bfloat16), ("float16", _float16)):
        if _is_format(g, rounded).all() and _is_format(e, rounded).mean() < 0.5:
            return name
    return ""
