"""The cases the hidden tests try: generated from a seed, by the referee only.

Every function gets

* random cases over several shapes, in float64 and float32, with random
  non-default hyperparameters and steps ``t`` from 1 to 10,000;
* one case with every hyperparameter left at its default (a wrong default is
  a wrong answer);
* *targeted* cases, always present whatever the seed, each one where a rule's
  special case or a common mistake shows: ``t = 1`` from a zero state, zero
  gradients, zero weights (the trust ratio's fallback), a large ``eps``
  (1e-3) with tiny gradients (where epsilon inside the square root changes the
  step thirty-fold), large ``lr * weight_decay``, tall matrices, a state much
  smaller than the new gradient (Adafactor's update clipping), ...

The seed only changes the numbers, never which situations are covered, so the
catalogue of mistakes in :mod:`.mistakes` is caught for every seed (a test
checks it for several).

A case is a dict: ``label`` (what a student reads in a message), ``args``
(``[name, value]`` pairs in the order of the signature), ``kwargs``, ``dtype``
and ``tags``.
"""

from __future__ import annotations

import zlib

import numpy as np

from .api import FUNCTIONS

F64, F32 = "float64", "float32"
SHAPES = ((1,), (6,), (3, 4), (2, 3, 2))
MATRICES = ((1, 3), (4, 4), (3, 5), (6, 2), (2, 7))
STEPS = (1, 2, 3, 10, 100, 10_000)

_TAG_TEXT = {
    "defaults": "every hyperparameter at its default",
    "first-step": "first step (t=1) from a zero state",
    "zero-grad": "zero gradient",
    "some-zero-grad": "some coordinates have a zero gradient",
    "zero-weights": "all weights zero",
    "zero-update": "the update u is zero",
    "large-eps": "large eps with tiny gradients (where eps goes matters)",
    "large-decay": "large lr*weight_decay",
    "tall": "tall matrix (more rows than columns)",
    "clipping": "update clipping is active",
    "small-state": "state much smaller than the new gradient",
    "new-max": "the new v exceeds vmax in some coordinates",
    "zero-row": "a zero row in G",
    "zero-matrix": "zero matrix",
    "momentum-state": "non-zero velocity from earlier steps",
    "scale": "a matrix far from unit norm",
    "small-weights": "weights much smaller than eps2 (the floor of the relative step)",
    "large-weights": "weights with a large norm (above 10)",
}


def _label(fn, dtype, args, kwargs, tags) -> str:
    parts = []
    if dtype:
        parts.append(dtype)
    for name, value in args:
        if isinstance(value, np.ndarray):
            if "shape" not in " ".join(parts):
                parts.append(f"shape {tuple(value.shape)}")
        else:
            parts.append(f"{name}={value!r}")
    if kwargs:
        parts.append(", ".join(f"{k}={v!r}" for k, v in kwargs.items()))
    if fn.hyper and len(kwargs) < len(fn.hyper):
        parts.append("defaults otherwise" if kwargs else "default hyperparameters")
    notes = [_TAG_TEXT[t] for t in tags if t in _TAG_TEXT and t != "defaults"]
    text = ", ".join(parts)
    return text + (f" ({'; '.join(notes)})" if notes else "")


class _Builder:
    def __init__(self, name: str, seed: int):
        self.fn = FUNCTIONS[name]
        # The salt is a stable hash of the name (not its position in a table, not Python's
        # per-process hash()): reordering or extending FUNCTIONS leaves every hidden case alone.
        salt = zlib.crc32(name.encode("utf-8"))
        self.rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, salt])
        self.cases: list[dict] = []

    # random helpers ---------------------------------------------------------
    def normal(self, shape, scale=1.0):
        return self.rng.standard_normal(shape) * scale

    def scale(self, lo=-2.0, hi=1.0):
        return float(10.0 ** self.rng.uniform(lo, hi))

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def hyper(self, **options):
        return {k: self.pick(v) for k, v in options.items()}

    # one case ---------------------------------------------------------------
    def add(self, values: dict, kwargs=None, dtype=F64, tags=()):
        kwargs = dict(kwargs or {})
        args = []
        for name in self.fn.required:
            value = values[name]
            if isinstance(value, np.ndarray):
                value = value.astype(dtype)
            args.append([name, value])
        for k in kwargs:
            if k not in self.fn.defaults:
                raise KeyError(f"{self.fn.name} has no hyperparameter {k!r}")
        self.cases.append(
            {
                "label": _label(self.fn, dtype if any(isinstance(v, np.ndarray) for _, v in args) else None,
                                args, kwargs, tags),
                "args": args,
                "kwargs": kwargs,
                "dtype": dtype,
                "tags": list(tags),
            }
        )


# --- Exercise 1 -----------------------------------------------------------------


def _adagrad_update(b: _Builder):
    for dtype in (F64, F32):
        for shape in SHAPES:
            s = b.scale()
            first = b.rng.random() < 0.3
            accum = np.zeros(shape) if first else b.normal(shape, s) ** 2 * int(b.rng.integers(1, 50))
            b.add(
                {"theta": b.normal(shape), "grad": b.normal(shape, s), "accum": accum},
                b.hyper(lr=(1e-3, 1e-2, 0.1, 0.5), eps=(1e-10, 1e-8, 1e-6)),
                dtype,
                ("first-step",) if first else (),
            )
    b.add({"theta": b.normal((5,)), "grad": b.normal((5,)), "accum": b.normal((5,)) ** 2}, tags=("defaults",))
    b.add({"theta": b.normal((4,)), "grad": b.normal((4,)), "accum": np.zeros(4)}, {"lr": 0.1},
          tags=("first-step",))
    b.add({"theta": b.normal((3, 2)), "grad": np.zeros((3, 2)), "accum": np.zeros((3, 2))}, {"lr": 0.1},
          tags=("zero-grad", "first-step"))
    g = b.normal((8,))
    g[::3] = 0.0
    b.add({"theta": b.normal((8,)), "grad": g, "accum": b.normal((8,)) ** 2}, {"lr": 0.05},
          tags=("some-zero-grad",))
    for eps, accum_scale in ((1e-3, 0.0), (1e-2, 1e-12)):
        g = b.normal((6,)) * 10.0 ** b.rng.uniform(-9, -5, 6)
        b.add(
            {"theta": b.normal((6,)), "grad": g, "accum": b.normal((6,)) ** 2 * accum_scale},
            {"lr": 0.1, "eps": eps},
            tags=("large-eps",),
        )


def _adagrad_effective_lr(b: _Builder):
    for dtype in (F64, F32):
        for shape in SHAPES:
            s = b.scale(-3, 2)
            b.add({"accum": b.normal(shape, s) ** 2 * int(b.rng.integers(1, 200))},
                  b.hyper(lr=(1e-3, 1e-2, 0.1, 1.0), eps=(1e-10, 1e-8, 1e-6)), dtype)
    b.add({"accum": b.normal((5,)) ** 2}, tags=("defaults",))
    a = b.normal((6,)) ** 2
    a[::2] = 0.0
    b.add({"accum": a}, {"lr": 0.1, "eps": 1e-6}, tags=("some-zero-grad",))
    b.add({"accum": 10.0 ** b.rng.uniform(-12, -6, 5)}, {"lr": 0.1, "eps": 1e-3}, tags=("large-eps",))


# --- Exercise 2 -----------------------------------------------------------------


def _ema_update(b: _Builder):
    for dtype in (F64, F32):
        for shape in SHAPES:
            b.add({"m": b.normal(shape), "grad": b.normal(shape, b.scale()),
                   "beta": b.pick((0.5, 0.9, 0.99, 0.999))}, dtype=dtype)
    b.add({"m": np.zeros(4), "grad": b.normal((4,)), "beta": 0.9}, tags=("first-step",))
    b.add({"m": b.normal((3, 3)), "grad": b.normal((3, 3)), "beta": 0.0})
    b.add({"m": b.normal((5,)), "grad": np.zeros(5), "beta": 0.8}, tags=("zero-grad",))


def _ema_weights(b: _Builder):
    for beta, t in ((0.9, 1), (0.9, 2), (0.9, 10), (0.5, 7), (0.99, 50), (0.999, 1000), (0.0, 4), (0.3, 3)):
        b.add({"beta": beta, "t": t})
    b.add({"beta": float(np.round(b.rng.uniform(0.05, 0.95), 3)), "t": int(b.rng.integers(2, 40))})


# --- Exercises 3, 4, 5 and 8: the Adam family -----------------------------------


def _adam_state(b: _Builder, shape, t, gscale):
    if t == 1:
        return np.zeros(shape), np.zeros(shape)
    m = b.normal(shape, 0.5 * gscale)
    v = (b.normal(shape, gscale) ** 2 + 0.1 * gscale**2) * (1.0 - 0.999 ** min(t - 1, 5000))
    return m, v


def _adam_like(b: _Builder, param="theta", extra=None, hp_extra=None):
    """Cases shared by the Adam family; ``extra(shape, t, state)`` adds arrays, ``hp_extra`` hyperparameters."""
    hp_extra = hp_extra or {}

    def values(shape, t, gscale, grad=None, pscale=1.0):
        m, v = _adam_state(b, shape, t, gscale)
        out = {param: b.normal(shape, pscale), "grad": b.normal(shape, gscale) if grad is None else grad,
               "m": m, "v": v, "t": t}
        if extra:
            out.update(extra(shape, t, out))
        return out

    for dtype in (F64, F32):
        for i, shape in enumerate(SHAPES):
            t = STEPS[(i * 2 + (dtype == F32)) % len(STEPS)]
            hp = b.hyper(lr=(1e-3, 1e-2, 0.1), beta1=(0.0, 0.5, 0.9, 0.95), beta2=(0.9, 0.99, 0.999),
                         eps=(1e-8, 1e-6), **hp_extra)
            b.add(values(shape, t, b.scale()), hp, dtype, ("first-step",) if t == 1 else ())
    b.add(values((5,), 3, 1.0), tags=("defaults",))
    b.add(values((4,), 1, 1.0), {"lr": 0.1, **{k: v[-1] for k, v in hp_extra.items()}}, tags=("first-step",))
    for t in (2, 7):
        b.add(values((3, 2), t, 0.3), {"lr": 0.01, "beta1": 0.9, "beta2": 0.999,
                                       **{k: v[1] for k, v in hp_extra.items()}})
    b.add(values((2, 3), 10_000, 1.0), {"lr": 0.05, **{k: v[1] for k, v in hp_extra.items()}})
    b.add(values((6,), 4, 1.0, grad=np.zeros(6)), {"lr": 0.1, **{k: v[-1] for k, v in hp_extra.items()}},
          tags=("zero-grad",))
    b.add(values((3,), 1, 1.0, grad=np.zeros(3)), {"lr": 0.1, **{k: v[-1] for k, v in hp_extra.items()}},
          tags=("zero-grad", "first-step"))
    for t in (1, 5):
        g = b.normal((6,)) * 10.0 ** b.rng.uniform(-9, -5, 6)
        vals = values((6,), 1, 1.0, grad=g, pscale=1.0)
        if t > 1:
            vals["m"] = b.normal((6,)) * 1e-7
            vals["v"] = (b.normal((6,)) * 1e-7) ** 2
            vals["t"] = t
            if extra:
                vals.update(extra((6,), t, vals))
        b.add(vals, {"lr": 0.1, "eps": 1e-3, **{k: v[1] for k, v in hp_extra.items()}}, tags=("large-eps",))
    return values


def _adam_update(b: _Builder):
    _adam_like(b)


def _amsgrad_update(b: _Builder):
    def vmax(shape, t, vals):
        v = vals["v"]
        if t == 1:
            return {"vmax": np.zeros(shape)}
        bump = (b.rng.random(shape) < 0.6) * b.rng.uniform(0.0, 3.0, shape) * (v + 0.05)
        return {"vmax": v + bump}

    values = _adam_like(b, extra=vmax)
    for t in (2, 3, 10):
        vals = values((7,), t, 0.2)
        vals["grad"] = b.normal((7,)) * np.where(b.rng.random(7) < 0.5, 30.0, 0.01)
        b.add(vals, {"lr": 0.01}, tags=("new-max",))


def _adam_l2_update(b: _Builder):
    _adam_like(b, hp_extra={"weight_decay": (0.0, 1e-2, 0.1, 0.5)})
    _decay_cases(b, "theta")


def _adamw_update(b: _Builder):
    _adam_like(b, hp_extra={"weight_decay": (0.0, 1e-2, 0.1, 0.5)})
    _decay_cases(b, "theta")


def _decay_cases(b: _Builder, param):
    for t in (1, 3, 50):
        m, v = _adam_state(b, (5,), t, 1.0)
        b.add({param: b.normal((5,), 3.0), "grad": b.normal((5,)), "m": m, "v": v, "t": t},
              {"lr": 0.5, "weight_decay": 0.5}, tags=("large-decay",))
    m, v = _adam_state(b, (4,), 4, 1.0)
    b.add({param: b.normal((4,), 2.0), "grad": np.zeros(4), "m": m, "v": v, "t": 4},
          {"lr": 0.1, "weight_decay": 0.3}, tags=("zero-grad", "large-decay"))
    # very different gradient scales across coordinates: coupled decay is rescaled, decoupled is not
    g = b.normal((6,)) * np.array([1e-3, 1e-3, 1.0, 1.0, 30.0, 30.0])
    b.add({param: b.normal((6,)), "grad": g, "m": np.zeros(6), "v": np.zeros(6), "t": 1},
          {"lr": 0.01, "weight_decay": 0.1}, tags=("first-step",))


# --- Exercise 6 -----------------------------------------------------------------


def _adafactor_update(b: _Builder):
    def state(n, m, t, s):
        if t == 1:
            return np.zeros(n), np.zeros(m)
        return b.normal((n,), s) ** 2 + 0.1 * s**2, b.normal((m,), s) ** 2 + 0.1 * s**2

    for dtype in (F64, F32):
        for i, (n, m) in enumerate(MATRICES):
            t = STEPS[(i + 3 * (dtype == F32)) % len(STEPS)]
            s = b.scale(-1, 1)
            R, C = state(n, m, t, s)
            hp = b.hyper(lr=(1e-2, 1e-3, 0.3), beta2_decay=(-0.8, -0.5, -1.0), eps2=(1e-3, 1e-2), d=(1.0, 0.5, 2.0))
            b.add({"X": b.normal((n, m), b.scale(-1, 0.5)), "G": b.normal((n, m), s), "R": R, "C": C, "t": t},
                  hp, dtype, ("first-step",) if t == 1 else ())
    R, C = state(3, 4, 5, 1.0)
    b.add({"X": b.normal((3, 4)), "G": b.normal((3, 4)), "R": R, "C": C, "t": 5}, tags=("defaults",))
    b.add({"X": b.normal((4, 3)), "G": b.normal((4, 3)), "R": np.zeros(4), "C": np.zeros(3), "t": 1},
          {"lr": 0.1, "d": 0.5}, tags=("first-step", "clipping"))
    for t in (20, 300):
        b.add({"X": b.normal((3, 5)), "G": b.normal((3, 5), 10.0), "R": np.full(3, 1e-2), "C": np.full(5, 1e-2),
               "t": t}, {"lr": 0.5}, tags=("small-state", "clipping"))
    b.add({"X": np.zeros((2, 4)), "G": b.normal((2, 4)), "R": np.zeros(2), "C": np.zeros(4), "t": 1},
          tags=("zero-weights", "first-step"))
    G = b.normal((4, 3))
    G[1] = 0.0
    b.add({"X": b.normal((4, 3)), "G": G, "R": np.zeros(4), "C": np.zeros(3), "t": 1}, {"lr": 0.1},
          tags=("zero-row", "first-step"))
    R, C = state(3, 3, 4, 1.0)
    b.add({"X": b.normal((3, 3)), "G": np.zeros((3, 3)), "R": R, "C": C, "t": 4}, tags=("zero-grad",))
    R, C = state(2, 5, 10_000, 0.5)
    b.add({"X": b.normal((2, 5), 3.0), "G": b.normal((2, 5), 0.5), "R": R, "C": C, "t": 10_000},
          {"lr": 0.5, "eps2": 1e-2})
    R, C = state(3, 4, 6, 1.0)
    b.add({"X": b.normal((3, 4), 1e-5), "G": b.normal((3, 4)), "R": R, "C": C, "t": 6}, {"lr": 0.1},
          tags=("small-weights",))


# --- Exercise 7 -----------------------------------------------------------------


def _lars_update(b: _Builder):
    for dtype in (F64, F32):
        for shape in SHAPES:
            vel = np.zeros(shape) if b.rng.random() < 0.3 else b.normal(shape, 1e-2)
            hp = b.hyper(momentum=(0.0, 0.5, 0.9), weight_decay=(0.0, 1e-4, 1e-2, 0.5),
                         trust_coefficient=(1e-3, 0.02, 1.0))
            b.add({"w": b.normal(shape), "grad": b.normal(shape, b.scale()), "velocity": vel,
                   "lr": b.pick((0.1, 1.0, 5.0))}, hp, dtype)
    b.add({"w": b.normal((5,)), "grad": b.normal((5,)), "velocity": b.normal((5,), 1e-3), "lr": 0.5},
          tags=("defaults",))
    b.add({"w": np.zeros((3, 2)), "grad": b.normal((3, 2)), "velocity": np.zeros((3, 2)), "lr": 0.1},
          {"weight_decay": 0.01}, tags=("zero-weights",))
    b.add({"w": b.normal((4,)), "grad": np.zeros(4), "velocity": b.normal((4,), 0.1), "lr": 0.1},
          {"weight_decay": 0.0}, tags=("zero-update", "momentum-state"))
    b.add({"w": b.normal((6,)), "grad": b.normal((6,), 1e-2), "velocity": np.zeros(6), "lr": 1.0},
          {"weight_decay": 0.5, "trust_coefficient": 0.02}, tags=("large-decay",))
    b.add({"w": b.normal((2, 3)), "grad": b.normal((2, 3)), "velocity": b.normal((2, 3), 0.05), "lr": 2.0},
          {"momentum": 0.9, "trust_coefficient": 0.01}, tags=("momentum-state",))
    b.add({"w": np.zeros(5), "grad": b.normal((5,)), "velocity": b.normal((5,), 0.01), "lr": 0.5},
          {"momentum": 0.5}, tags=("zero-weights", "momentum-state"))


# --- Exercise 8 -----------------------------------------------------------------


def _trust_ratio(b: _Builder):
    for dtype in (F64, F32):
        for shape in SHAPES:
            b.add({"w": b.normal(shape, b.scale()), "u": b.normal(shape, b.scale(-4, 1))}, dtype=dtype)
    b.add({"w": np.zeros((3, 3)), "u": b.normal((3, 3))}, tags=("zero-weights",))
    b.add({"w": b.normal((4,)), "u": np.zeros(4)}, tags=("zero-update",))
    b.add({"w": np.zeros(2), "u": np.zeros(2)}, tags=("zero-weights", "zero-update"))
    b.add({"w": np.full((2, 2), 3.0), "u": np.full((2, 2), 0.5)})
    b.add({"w": b.normal((4, 4), 10.0), "u": b.normal((4, 4))}, tags=("large-weights",))
    b.add({"w": b.normal((20,), 5.0), "u": b.normal((20,), 1e-2)}, dtype=F32, tags=("large-weights",))


def _lamb_update(b: _Builder):
    _adam_like(b, param="w", hp_extra={"weight_decay": (0.0, 1e-2, 0.1, 0.5)})
    _decay_cases(b, "w")
    m, v = _adam_state(b, (3, 3), 3, 1.0)
    b.add({"w": np.zeros((3, 3)), "grad": b.normal((3, 3)), "m": m, "v": v, "t": 3}, {"lr": 0.01},
          tags=("zero-weights",))


# --- Exercise 9 -----------------------------------------------------------------


def _spd(b: _Builder, n, lo, hi):
    Q, _ = np.linalg.qr(b.normal((n, n)))
    lam = 10.0 ** b.rng.uniform(lo, hi, n)
    A = (Q * lam) @ Q.T
    return (A + A.T) / 2.0


def _symmetric(A, dtype):
    A = A.astype(dtype)
    return ((A + A.T) / 2).astype(dtype)


def _matrix_inverse_root(b: _Builder):
    for n, p, dtype, (lo, hi) in (
        (1, 4, F64, (-2, 2)), (2, 2, F64, (-2, 2)), (3, 4, F64, (-3, 3)), (4, 1, F64, (-1, 1)),
        (5, 3, F64, (-2, 2)), (6, 4, F64, (-4, 2)), (3, 4, F32, (-1, 1)), (4, 2, F32, (-1, 1)),
        (2, 1, F32, (-0.5, 0.5)),
    ):
        A = _spd(b, n, lo, hi)
        b.add({"A": A, "p": p}, dtype=dtype)
        b.cases[-1]["args"][0][1] = _symmetric(A, dtype)
    b.add({"A": np.diag(10.0 ** b.rng.uniform(-2, 2, 4)), "p": 4})
    b.add({"A": np.eye(3) * 0.25, "p": 2})


def _shampoo_stats(b: _Builder, n, m, history, eps):
    L, R = eps * np.eye(n), eps * np.eye(m)
    for _ in range(history):
        G = b.normal((n, m))
        L, R = L + G @ G.T, R + G.T @ G
    return L, R


def _shampoo_update(b: _Builder):
    for i, (n, m) in enumerate(MATRICES):
        for dtype in (F64, F32):
            history = 0 if (i + (dtype == F32)) % 3 == 0 else max(n, m) + 2
            eps = b.pick((1e-4, 1e-2, 1.0)) if dtype == F64 else 1.0
            if dtype == F32 and history:
                eps = 0.5
            L, R = _shampoo_stats(b, n, m, history, eps)
            b.add({"W": b.normal((n, m)), "G": b.normal((n, m)), "L": L, "R": R,
                   "lr": b.pick((0.1, 1e-2, 1.0))}, dtype=dtype, tags=() if history else ("first-step",))
            b.cases[-1]["args"][2][1] = _symmetric(L, dtype)
            b.cases[-1]["args"][3][1] = _symmetric(R, dtype)
    L, R = _shampoo_stats(b, 3, 2, 0, 1e-2)
    b.add({"W": b.normal((3, 2)), "G": np.zeros((3, 2)), "L": L, "R": R, "lr": 0.1}, tags=("zero-grad",))
    L, R = _shampoo_stats(b, 2, 4, 6, 1e-3)
    b.add({"W": b.normal((2, 4)), "G": b.normal((2, 4), 5.0), "L": L, "R": R, "lr": 0.5})


# --- Exercise 10 ----------------------------------------------------------------


def _newton_schulz(b: _Builder):
    for dtype in (F64, F32):
        for shape in MATRICES:
            kwargs = b.hyper(steps=(5, 1, 3, 10)) if b.rng.random() < 0.6 else {}
            b.add({"G": b.normal(shape, b.scale(-3, 2))}, kwargs, dtype, ("tall",) if shape[0] > shape[1] else ())
    b.add({"G": b.normal((3, 4))}, tags=("defaults",))
    b.add({"G": b.normal((5, 2), 100.0)}, tags=("tall", "scale"))
    b.add({"G": b.normal((2, 3), 50.0)}, {"steps": 0}, tags=("scale",))
    b.add({"G": b.normal((4, 4), 1e-3)}, {"steps": 2}, tags=("scale",))
    b.add({"G": np.zeros((3, 2))}, tags=("zero-matrix", "tall"))
    b.add({"G": b.normal((2, 2), 1e-8)}, {"eps": 1e-3, "steps": 1}, tags=("scale",))


def _muon_update(b: _Builder):
    for dtype in (F64, F32):
        for shape in MATRICES:
            hp = b.hyper(lr=(1e-3, 0.02, 0.1), momentum=(0.95, 0.9, 0.5, 0.0), nesterov=(True, False),
                         steps=(5, 3), weight_decay=(0.0, 0.1))
            buf = np.zeros(shape) if b.rng.random() < 0.3 else b.normal(shape, 0.5)
            b.add({"W": b.normal(shape), "G": b.normal(shape, b.scale(-1, 1)), "buf": buf}, hp, dtype,
                  ("tall",) if shape[0] > shape[1] else ())
    b.add({"W": b.normal((3, 4)), "G": b.normal((3, 4)), "buf": b.normal((3, 4), 0.5)}, tags=("defaults",))
    b.add({"W": b.normal((6, 2)), "G": b.normal((6, 2)), "buf": b.normal((6, 2), 0.5)},
          {"lr": 0.02}, tags=("tall",))
    b.add({"W": b.normal((4, 3)), "G": b.normal((4, 3), 30.0), "buf": np.zeros((4, 3))},
          {"lr": 0.05, "nesterov": True}, tags=("tall", "scale"))
    b.add({"W": b.normal((2, 5)), "G": b.normal((2, 5)), "buf": b.normal((2, 5))},
          {"lr": 0.05, "momentum": 0.9, "nesterov": False})
    b.add({"W": b.normal((3, 3)), "G": np.zeros((3, 3)), "buf": np.zeros((3, 3))},
          {"lr": 0.1, "weight_decay": 0.5}, tags=("zero-grad",))
    b.add({"W": b.normal((3, 5)), "G": b.normal((3, 5)), "buf": b.normal((3, 5))},
          {"lr": 0.1, "weight_decay": 0.2, "momentum": 0.8})


def _generators(functions, namespace) -> dict:
    """Every function of ``api.FUNCTIONS`` -> its generator, the function ``_<name>`` above."""
    found = {name: namespace.get(f"_{name}") for name in functions}
    missing = [name for name, gen in found.items() if not callable(gen)]
    if missing:
        raise ImportError(f"no hidden-case generator _<name> for {', '.join(missing)} in {__name__}")
    return found


_GENERATORS = _generators(FUNCTIONS, globals())


def make_cases(name: str, seed: int) -> list[dict]:
    """The hidden cases of ``name`` for ``seed`` (deterministic)."""
    if name not in _GENERATORS:
        raise KeyError(f"no hidden cases for {name!r}; known: {', '.join(_GENERATORS)}")
    b = _Builder(name, seed)
    _GENERATORS[name](b)
    return b.cases
