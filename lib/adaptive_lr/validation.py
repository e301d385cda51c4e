"""Every argument check of the library: the update rules, the objectives, ``run``
and the diagnostics all validate here, with one set of messages.

Each check names the argument and the allowed range, so that a student or a
caller who passes a bad value learns what to change. One convention for the
exception: ``TypeError`` when the value has the wrong type (a string, a float
where an integer is needed, ``True`` for a count), ``ValueError`` when the type
is right but the value is outside the allowed range. Hyperparameters come back
as Python floats: a NumPy float64 scalar would otherwise promote a float32
array to float64 under NumPy 2's promotion rules.
"""

from __future__ import annotations

import math
import numbers
import warnings

from array_api_compat import array_namespace, is_array_api_obj


def namespace(**arrays):
    """Return the array namespace shared by the named arrays, after checking them.

    Raises ``TypeError`` when an argument is not an array, is not real floating,
    or when the arrays do not share one dtype (float32 in must give float32 out).
    """
    first_name, first = None, None
    for name, x in arrays.items():
        if not is_array_api_obj(x) or isinstance(x, (bool, int, float, complex)):
            raise TypeError(
                f"{name} must be an array (NumPy or another array-API library), "
                f"got {type(x).__name__}"
            )
        if first is None:
            first_name, first = name, x
    xp = array_namespace(*arrays.values())
    for name, x in arrays.items():
        if not xp.isdtype(x.dtype, "real floating"):
            raise TypeError(
                f"{name} must have a real floating dtype, got {x.dtype}; "
                f"convert it first, e.g. {name}.astype(np.float64)"
            )
        if x.dtype != first.dtype:
            raise TypeError(
                f"{name} has dtype {x.dtype} but {first_name} has dtype {first.dtype}; "
                "all arrays of one update must share a dtype"
            )
    return xp


def same_shape(**arrays) -> None:
    """Raise ``ValueError`` unless every named array has the shape of the first."""
    items = list(arrays.items())
    ref_name, ref = items[0]
    for name, x in items[1:]:
        if tuple(x.shape) != tuple(ref.shape):
            raise ValueError(
                f"{name} has shape {tuple(x.shape)} but {ref_name} has shape "
                f"{tuple(ref.shape)}; they must match"
            )


def update_arrays(**arrays):
    """The checks every element-wise update opens with; returns the array namespace.

    The first named array is the parameter, the second the gradient, the rest
    the state: all real floating of one dtype (:func:`namespace`), all of the
    parameter's shape (:func:`same_shape`), and a finite gradient (:func:`finite`).
    """
    xp = namespace(**arrays)
    same_shape(**arrays)
    grad_name, grad = list(arrays.items())[1]
    finite(grad_name, grad, xp)
    return xp


def shape_is(name: str, x, shape: tuple) -> None:
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(x.shape)}")


def ndim_is(name: str, x, ndim: int, why: str = "") -> None:
    if x.ndim != ndim:
        kind = {1: "a vector", 2: "a matrix"}.get(ndim, f"{ndim}-dimensional")
        extra = f" ({why})" if why else ""
        raise ValueError(f"{name} must be {kind}{extra}, got an array of shape {tuple(x.shape)}")


def _real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got nan")
    return value


def nonneg(name: str, value) -> float:
    """A finite real ``>= 0`` (learning rates, epsilons, weight decay)."""
    value = _real(name, value)
    if not (0.0 <= value < math.inf):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def positive(name: str, value) -> float:
    value = _real(name, value)
    if not (0.0 < value < math.inf):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def unit_interval(name: str, value) -> float:
    """A decay rate in ``[0, 1)``: at 1 the average never moves and bias correction divides by 0."""
    value = _real(name, value)
    if not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def closed_unit_interval(name: str, value, why: str = "") -> float:
    """A number in ``[0, 1]``."""
    value = _real(name, value)
    if not (0.0 <= value <= 1.0):
        extra = f" ({why})" if why else ""
        raise ValueError(f"{name} must be in [0, 1]{extra}, got {value}")
    return value


def step_index(t) -> int:
    """The 1-based step index ``t``."""
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise TypeError(
            f"t must be an integer (the 1-based step index), got {t!r} of type {type(t).__name__}"
        )
    t = int(t)
    if t < 1:
        raise ValueError(f"t must be >= 1 (the first step is t=1), got {t}")
    return t


def integer(name: str, value, minimum: int = 0, why: str = "") -> int:
    """An integer ``>= minimum``: ``TypeError`` for a non-integer (``2.5``, ``True``), ``ValueError`` below it."""
    extra = f" ({why})" if why else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer >= {minimum}{extra}, got {value!r} of type "
            f"{type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}")
    return int(value)


def positive_int(name: str, value) -> int:
    """An integer ``>= 1`` (sizes, counts, frequencies)."""
    return integer(name, value, 1)


def nonneg_int(name: str, value) -> int:
    """An integer ``>= 0`` (seeds, numbers of steps)."""
    return integer(name, value, 0)


def finite_real(name: str, value) -> float:
    """A finite real number, any sign."""
    value = _real(name, value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def at_least(name: str, value, low: float, why: str = "") -> float:
    """A finite real ``>= low``."""
    value = _real(name, value)
    if not (low <= value < math.inf):
        extra = f" ({why})" if why else ""
        raise ValueError(f"{name} must be a finite number >= {low:g}{extra}, got {value}")
    return value


def one_of(name: str, value, choices) -> object:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def as_float_array(name: str, x, ndim: int | None = None, shape: tuple | None = None):
    """``x`` as a finite float64 NumPy array (a copy only when needed), after checks.

    Raises ``TypeError`` for anything that is not real numbers (strings,
    complex, objects) and ``ValueError`` for a wrong ``ndim``/``shape`` or a
    NaN/inf entry.
    """
    import numpy as np  # only the objectives and diagnostics use NumPy arrays here

    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def finite(name: str, x, xp) -> None:
    """Raise ``ValueError`` when ``x`` holds NaN or infinity.

    Non-finite gradients are refused rather than propagated: a NaN written
    into the optimizer state poisons every later step, and the caller loses
    the last good state. The fast test is one sum in the array's own dtype
    (no temporary array): any NaN or infinity makes the sum non-finite. Only
    then is the element-wise test run, to tell a real NaN from a sum that
    overflowed (large but finite float32 values can do that).
    """
    with warnings.catch_warnings():
        # A sum that overflows is expected here and handled below; a warning on
        # stderr would cost a student the points of an nbgrader test cell.
        warnings.simplefilter("ignore", RuntimeWarning)
        total = float(xp.sum(x))
    if math.isfinite(total):
        return
    bad = int(xp.sum(xp.astype(~xp.isfinite(x), xp.int64)))
    if bad:
        size = math.prod(x.shape)
        raise ValueError(
            f"{name} contains {bad} non-finite value(s) (NaN or inf) out of {size}; "
            "the optimizer state was left unchanged. Check the loss for overflow "
            "or lower the learning rate."
        )
