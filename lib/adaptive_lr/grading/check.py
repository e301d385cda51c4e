"""What the visible test cells call: small, readable checks with messages that help.

Each check raises ``AssertionError`` with what was expected, what came back
and the likely mistake, so that a student reads a sentence, not a bare
``assert``. Numbers are compared in plain Python on ``ndarray.tolist()``
(no ``np.allclose``/``np.testing``, whatever the notebook did to them), and
every call of the student's function goes through :mod:`.guard` (calling the
reference implementation is caught, modified inputs are named).

Typical cell::

    check.signature(adam_update, "adam_update")
    theta1, m1, v1 = check.call(adam_update, theta, grad, m, v, 1, lr=0.1)
    check.outputs((theta1, m1, v1), "adam_update", shapes=[(2,)] * 3, dtype=np.float64)
    check.close(theta1, [0.9, -1.9], "theta after the first step", hint="...")
"""

from __future__ import annotations

import inspect
import math
import struct

import numpy as np

from . import guard, integrity
from .api import FUNCTIONS, Array

_NDARRAY = np.ndarray
_GENERIC = np.generic
_REAL_KINDS = "fiu"


def _flatten(x, out):
    if isinstance(x, (list, tuple)):
        for item in x:
            _flatten(item, out)
    else:
        out.append(x)
    return out


def _shape(x):
    if isinstance(x, _NDARRAY):
        return tuple(x.shape)
    if isinstance(x, (list, tuple)):
        return (len(x),) + (_shape(x[0]) if len(x) else ())
    return ()


def _numbers(x, what):
    """``x`` as a flat list of Python floats, or an AssertionError saying what it is instead."""
    if isinstance(x, _NDARRAY):
        if x.dtype.kind not in _REAL_KINDS:
            raise AssertionError(f"{what}: expected real numbers, got an array of dtype {x.dtype}")
        return [float(v) for v in _flatten(x.tolist(), [])]
    if isinstance(x, _GENERIC):
        return [float(x.item())]
    if isinstance(x, bool) or x is None:
        raise AssertionError(f"{what}: expected a number or an array, got {x!r}")
    if isinstance(x, (int, float)):
        return [float(x)]
    if isinstance(x, (list, tuple)):
        return [float(v) for v in _flatten(list(x), [])]
    raise AssertionError(f"{what}: expected a number or an array, got {type(x).__name__}")


def _show(values, shape, n=6, digits=6) -> str:
    text = ", ".join(f"{v:.{digits}g}" for v in values[:n])
    if len(values) > n:
        text += ", ..."
    return text if shape == () else f"[{text}]"


def _is_close(g: float, e: float, rtol: float, atol: float) -> bool:
    d = g - e
    if d < 0:
        d = -d
    size = e if e >= 0 else -e
    return d <= atol + rtol * size  # False for NaN


def close(got, expected, what: str, hint: str = "", rtol: float = 1e-6, atol: float = 1e-12) -> None:
    """``got`` equals ``expected`` (a number, a list or an array) entry by entry, within tolerances."""
    __tracebackhide__ = True
    gs, es = _numbers(got, what), _numbers(expected, f"{what} (expected)")
    g_shape, e_shape = _shape(got), _shape(expected)
    if len(gs) != len(es) or (g_shape != e_shape and len(es) != 1):
        raise AssertionError(f"{what}: expected shape {e_shape}, got shape {g_shape}. {hint}".rstrip())
    for k, (g, e) in enumerate(zip(gs, es)):
        if not _is_close(g, e, rtol, atol):
            rel = abs(g - e) / abs(e) if e != 0 else float("inf")
            digits = 6 if not 0 < rel < 1e-4 else min(17, 3 - int(math.floor(math.log10(rel))))
            where = f"entry {k}: " if len(es) > 1 else ""
            detail = f" ({where}relative difference {rel:.2g})" if rel == rel and rel != float("inf") else ""
            low = _sixteen_bit(gs, es)
            if low:  # a hint written for one mistake would mislead here
                hint = (f"Every number you returned is a {low} number: the result was computed or "
                        f"stored in 16-bit floats. Compute in the input's dtype (float64 or float32).")
            raise AssertionError(
                f"{what}: expected {_show(es, e_shape, digits=digits)}, got {_show(gs, g_shape, digits=digits)}"
                f"{detail}. {hint}".rstrip()
            )


def _is_bfloat16(v: float) -> bool:
    packed = struct.pack(">f", v)
    return struct.unpack(">f", packed)[0] == v and packed[2:] == b"\x00\x00"


def _is_float16(v: float) -> bool:
    try:
        return struct.unpack(">e", struct.pack(">e", v))[0] == v
    except (OverflowError, struct.error):
        return False


def _sixteen_bit(got: list, expected: list) -> str:
    """``"bfloat16"``/``"float16"`` when every non-zero number returned is one (and the expected are not)."""
    g = [v for v in got if v == v and v not in (0.0, float("inf"), float("-inf"))]
    e = [v for v in expected if v == v and v not in (0.0, float("inf"), float("-inf"))]
    if len(g) < 2 or not e:
        return ""
    if all(math.frexp(v)[0] * 16 == round(math.frexp(v)[0] * 16) for v in g):
        return ""  # round numbers with at most 4 significant bits (1, -2, 0.75) say nothing of 16-bit floats
    for name, test in (("bfloat16", _is_bfloat16), ("float16", _is_float16)):
        if all(test(v) for v in g) and sum(map(test, e)) * 2 < len(e):
            return name
    return ""


def signature(func, name: str) -> None:
    """``func`` has the API's parameter names, order and defaults."""
    __tracebackhide__ = True
    fn = FUNCTIONS[name]
    if not callable(func):
        raise AssertionError(f"{name} is {type(func).__name__}, not a function; define def {fn.signature}:")
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        raise AssertionError(f"cannot read the parameters of {name}; define it with def") from None
    names = list(params)
    wanted = list(fn.required) + [k for k, _ in fn.hyper]
    if names != wanted:
        raise AssertionError(
            f"{name} takes ({', '.join(names)}); the API is {fn.signature}. Use exactly these names "
            "in this order: the tests pass hyperparameters by name."
        )
    for k in fn.required:
        if params[k].default is not inspect.Parameter.empty:
            raise AssertionError(f"{k} should have no default in {fn.signature}")
    for k, default in fn.hyper:
        got = params[k].default
        ok = got is not inspect.Parameter.empty and type(got) is not str and (
            got is default if isinstance(default, bool) else
            (not isinstance(got, bool) and isinstance(got, (int, float)) and _is_close(float(got), default, 1e-12, 0.0))
        )
        if not ok:
            shown = "no default" if got is inspect.Parameter.empty else f"the default {got!r}"
            raise AssertionError(f"{name}: {k} has {shown}; the API says {k}={default!r}")


def call(func, *args, **kwargs):
    """Call the student's ``func`` under the tripwires and return what it returned.

    Its own exceptions propagate unchanged (with their traceback); using the
    reference implementation or modifying an argument raises AssertionError.
    """
    __tracebackhide__ = True
    integrity.verify()
    try:
        names = [p.name for p in inspect.signature(func).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        fn = FUNCTIONS.get(getattr(func, "__name__", ""))
        names = list(fn.required) if fn else []
    names += [f"argument {i + 1}" for i in range(len(names), len(args))]
    result = guard.run(func, list(args), kwargs, names[: len(args)])
    if result.oracle:
        raise guard.OracleCallError(
            f"{getattr(func, '__name__', 'your function')} calls the reference implementation "
            f"({'; '.join(result.oracle[:3])}); write the update yourself with NumPy."
        )
    if result.exception is not None:
        raise result.exception
    if result.mutated:
        which = ", ".join(result.mutated)
        raise AssertionError(
            f"{getattr(func, '__name__', 'your function')} modified its argument{'s' if len(result.mutated) > 1 else ''} "
            f"{which} in place. Inputs must be left unchanged and new arrays returned: write "
            f"{result.mutated[0]} = {result.mutated[0]} + ... instead of {result.mutated[0]} += ... (or *=, out=)."
        )
    if result.printed:
        print(result.printed, end="" if result.printed.endswith("\n") else "\n")
    return result.value


def outputs(result, name: str, shapes, dtype) -> None:
    """``result`` has the API's structure: the right number of arrays, with these shapes and ``dtype``."""
    __tracebackhide__ = True
    fn = FUNCTIONS[name]
    names = ", ".join(o.name for o in fn.outputs)
    if fn.returns_tuple:
        if not isinstance(result, (tuple, list)):
            raise AssertionError(f"{name} should return a tuple ({names}); it returned {type(result).__name__}")
        if len(result) != len(fn.outputs):
            raise AssertionError(f"{name} should return {len(fn.outputs)} values ({names}); it returned {len(result)}")
        values = list(result)
    else:
        values = [result]
    want = np.dtype(dtype)
    for out, value, shape in zip(fn.outputs, values, shapes):
        if out.kind == "scalar":
            if isinstance(value, bool) or not isinstance(value, (float, int, _GENERIC)):
                raise AssertionError(f"{name} should return a number (float); it returned {type(value).__name__}")
            continue
        if value is None:
            raise AssertionError(f"{name}: {out.name} is None; is a `return` missing?")
        if not isinstance(value, _NDARRAY):
            raise AssertionError(f"{name}: {out.name} should be a NumPy array; it is {type(value).__name__}")
        if tuple(value.shape) != tuple(shape):
            raise AssertionError(
                f"{name}: {out.name} has shape {tuple(value.shape)}, expected {tuple(shape)}. "
                "Check the axis of each mean or sum and that nothing broadcasts by accident."
            )
        if value.dtype != want:
            raise AssertionError(
                f"{name}: {out.name} has dtype {value.dtype}, expected {want}: {want} inputs must give {want} "
                "outputs. A NumPy float64 scalar (np.sqrt(2), np.float64(t)) promotes float32 arrays; "
                "use Python floats for scalars (math.sqrt, float(...), t**0.5)."
            )


def _materialized(value):
    """A smoke input of :mod:`.api` (plain data) as the value the function receives."""
    if isinstance(value, Array):
        if value.fill == "eye":
            return np.eye(*value.shape) * value.scale
        return getattr(np, value.fill)(value.shape) * value.scale
    return value


def runs(func, name: str) -> None:
    """``func`` runs once on a small valid input (a NotImplementedError passes through)."""
    __tracebackhide__ = True
    integrity.verify()
    fn = FUNCTIONS[name]
    result = guard.run(func, [_materialized(v) for v in fn.smoke], {}, list(fn.required))
    if result.status == "not_implemented":
        raise result.exception
    if result.oracle:
        raise guard.OracleCallError(f"{name} calls the reference implementation; write it yourself with NumPy.")
    if result.status == "error":
        raise AssertionError(
            f"{name} raised {result.error} on a small valid input; make the visible tests pass first."
        )


def answered(value, name: str) -> None:
    """A numeric answer has been given (``None`` means not yet: NotImplementedError)."""
    __tracebackhide__ = True
    if value is None:
        raise NotImplementedError(f"{name} is still None: replace None by your answer")
    if isinstance(value, _NDARRAY) and value.size == 1 and value.dtype.kind in _REAL_KINDS:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, _GENERIC)):
        raise AssertionError(f"{name} should be a number, got {type(value).__name__}")
