"""The exercise API as data: names, parameters, defaults and what each function returns.

This is the table of ``exercise-api.md`` in a form the graders can use, and the
one place where a graded function is declared: the visible tests check a
student's signature against it and run the function once on its smoke inputs,
the referee builds its calls from it, knows which output is a parameter
(compared through its update, ``new - old``), a state, a value or a scalar, and
widens its float32 tolerance by the function's factor; the hidden cases are
generated for every function it lists. :mod:`.facts` checks that it agrees with
``adaptive_lr.optim`` (signatures, defaults, the state of each rule's spec).

This module imports nothing but the standard library, so that the kernel that
runs a student's notebook can read it without loading the oracle.
"""

from __future__ import annotations

from typing import NamedTuple


class Output(NamedTuple):
    name: str
    kind: str
    """``param`` (compared through ``new - input``), ``state``, ``value`` or ``scalar``."""
    rule: str
    """The equation that produces it, quoted in messages."""


class Array(NamedTuple):
    """An input array as plain data: ``scale`` times ``numpy.<fill>(shape)``."""

    fill: str
    """``zeros``, ``ones`` or ``eye`` (then ``shape`` is ``(n,)``)."""
    shape: tuple
    scale: float = 1.0


def _zeros(*shape: int) -> Array:
    return Array("zeros", shape)


def _ones(*shape: int) -> Array:
    return Array("ones", shape)


def _eye(n: int, scale: float = 1.0) -> Array:
    return Array("eye", (n,), scale)


class Function(NamedTuple):
    exercise: int
    name: str
    required: tuple
    """Positional parameters without defaults, in order."""
    hyper: tuple
    """``(name, default)`` pairs of the keyword parameters, in order."""
    outputs: tuple
    """The returned values in order; a single output is returned bare (not in a tuple)."""
    smoke: tuple
    """Values of ``required`` for one small valid call (:class:`Array` or a number each):
    the visible tests' first check that the function runs."""
    f32_factor: float = 1.0
    """How much wider the float32 tolerance is, where the reference itself loses digits in
    float32 (an eigendecomposition, Newton-Schulz steps that amplify rounding)."""

    @property
    def returns_tuple(self) -> bool:
        return len(self.outputs) > 1

    @property
    def signature(self) -> str:
        parts = list(self.required) + [f"{k}={v!r}" for k, v in self.hyper]
        return f"{self.name}({', '.join(parts)})"

    @property
    def defaults(self) -> dict:
        return dict(self.hyper)


_ADAM_HYPER = (("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8))
_M = Output("m", "state", "m = beta1*m + (1 - beta1)*grad")
_V = Output("v", "state", "v = beta2*v + (1 - beta2)*grad**2")

FUNCTIONS = {
    f.name: f
    for f in (
        Function(
            1,
            "adagrad_update",
            ("theta", "grad", "accum"),
            (("lr", 1e-2), ("eps", 1e-10)),
            (
                Output("theta", "param", "theta = theta - lr*grad/(sqrt(accum_new) + eps)"),
                Output("accum", "state", "accum_new = accum + grad**2"),
            ),
            (_ones(2), _ones(2), _zeros(2)),
        ),
        Function(
            1,
            "adagrad_effective_lr",
            ("accum",),
            (("lr", 1e-2), ("eps", 1e-10)),
            (Output("effective_lr", "value", "lr/(sqrt(accum) + eps), elementwise"),),
            (_ones(2),),
        ),
        Function(
            2,
            "ema_update",
            ("m", "grad", "beta"),
            (),
            (Output("m", "state", "m = beta*m + (1 - beta)*grad"),),
            (_zeros(2), _ones(2), 0.9),
        ),
        Function(
            2,
            "ema_weights",
            ("beta", "t"),
            (),
            (Output("weights", "value", "weights[i-1] = (1 - beta)*beta**(t - i) for i = 1..t"),),
            (0.9, 3),
        ),
        Function(
            3,
            "adam_update",
            ("theta", "grad", "m", "v", "t"),
            _ADAM_HYPER,
            (
                Output("theta", "param", "theta = theta - lr*m_hat/(sqrt(v_hat) + eps)"),
                _M,
                _V,
            ),
            (_ones(2), _ones(2), _zeros(2), _zeros(2), 1),
        ),
        Function(
            4,
            "amsgrad_update",
            ("theta", "grad", "m", "v", "vmax", "t"),
            _ADAM_HYPER,
            (
                Output(
                    "theta",
                    "param",
                    "theta = theta - lr*m_hat/(sqrt(vmax_new/(1 - beta2**t)) + eps)",
                ),
                _M,
                _V,
                Output("vmax", "state", "vmax = maximum(vmax, v_new), on the uncorrected v"),
            ),
            (_ones(2), _ones(2), _zeros(2), _zeros(2), _zeros(2), 1),
        ),
        Function(
            5,
            "adam_l2_update",
            ("theta", "grad", "m", "v", "t"),
            _ADAM_HYPER + (("weight_decay", 1e-2),),
            (
                Output("theta", "param", "Adam on grad + weight_decay*theta"),
                Output("m", "state", "m = beta1*m + (1 - beta1)*(grad + weight_decay*theta)"),
                Output("v", "state", "v = beta2*v + (1 - beta2)*(grad + weight_decay*theta)**2"),
            ),
            (_ones(2), _ones(2), _zeros(2), _zeros(2), 1),
        ),
        Function(
            5,
            "adamw_update",
            ("theta", "grad", "m", "v", "t"),
            _ADAM_HYPER + (("weight_decay", 1e-2),),
            (
                Output(
                    "theta",
                    "param",
                    "theta = theta*(1 - lr*weight_decay) - lr*m_hat/(sqrt(v_hat) + eps)",
                ),
                _M,
                _V,
            ),
            (_ones(2), _ones(2), _zeros(2), _zeros(2), 1),
        ),
        Function(
            6,
            "adafactor_update",
            ("X", "G", "R", "C", "t"),
            (("lr", 1e-2), ("beta2_decay", -0.8), ("eps1", 1e-30), ("eps2", 1e-3), ("d", 1.0)),
            (
                Output("X", "param", "X = X - alpha*U/max(1, RMS(U)/d)"),
                Output("R", "state", "R = (1 - w)*R + w*mean(G**2, axis=1), w = t**beta2_decay"),
                Output("C", "state", "C = (1 - w)*C + w*mean(G**2, axis=0), w = t**beta2_decay"),
            ),
            (_ones(2, 3), _ones(2, 3), _zeros(2), _zeros(3), 1),
        ),
        Function(
            7,
            "lars_update",
            ("w", "grad", "velocity", "lr"),
            (("momentum", 0.9), ("weight_decay", 0.0), ("trust_coefficient", 1e-3)),
            (
                Output("w", "param", "w = w - velocity_new"),
                Output(
                    "velocity",
                    "state",
                    "velocity = momentum*velocity + lr*ratio*u, "
                    "ratio = trust_coefficient*||w||/||u|| (1 if a norm is 0)",
                ),
            ),
            (_ones(2), _ones(2), _zeros(2), 0.1),
        ),
        Function(
            8,
            "trust_ratio",
            ("w", "u"),
            (),
            (Output("ratio", "scalar", "||w||/||u||, or 1.0 when either norm is zero"),),
            (_ones(2), _ones(2)),
        ),
        Function(
            8,
            "lamb_update",
            ("w", "grad", "m", "v", "t"),
            (("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-6), ("weight_decay", 0.0)),
            (
                Output("w", "param", "w = w - lr*trust_ratio(w, u)*u, u = m_hat/(sqrt(v_hat) + eps) + weight_decay*w"),
                _M,
                _V,
            ),
            (_ones(2), _ones(2), _zeros(2), _zeros(2), 1),
        ),
        Function(
            9,
            "matrix_inverse_root",
            ("A", "p"),
            (),
            (Output("A_inv_root", "value", "A**(-1/p) = Q diag(lam**(-1/p)) Q.T from eigh(A)"),),
            (_eye(2, 4.0), 2),
            f32_factor=5.0,
        ),
        Function(
            9,
            "shampoo_update",
            ("W", "G", "L", "R", "lr"),
            (),
            (
                Output("W", "param", "W = W - lr * L_new**(-1/4) @ G @ R_new**(-1/4)"),
                Output("L", "state", "L = L + G @ G.T"),
                Output("R", "state", "R = R + G.T @ G"),
            ),
            (_ones(2, 3), _ones(2, 3), _eye(2), _eye(3), 0.1),
            f32_factor=5.0,
        ),
        Function(
            10,
            "newton_schulz",
            ("G",),
            (("steps", 5), ("eps", 1e-7)),
            (
                Output(
                    "X",
                    "value",
                    "X = G/max(||G||_F, eps) (on G.T when G is tall), then `steps` times "
                    "A = X@X.T; X = a*X + (b*A + c*A@A)@X",
                ),
            ),
            (_ones(2, 3),),
            f32_factor=5.0,
        ),
        Function(
            10,
            "muon_update",
            ("W", "G", "buf"),
            (("lr", 1e-3), ("momentum", 0.95), ("nesterov", True), ("steps", 5), ("weight_decay", 0.0)),
            (
                Output(
                    "W",
                    "param",
                    "W = W*(1 - lr*weight_decay) - lr*sqrt(max(1, rows/cols))*newton_schulz(u, steps)",
                ),
                Output("buf", "state", "buf = momentum*buf + (1 - momentum)*G"),
            ),
            (_ones(2, 3), _ones(2, 3), _zeros(2, 3)),
            f32_factor=5.0,
        ),
    )
}

EXERCISES = {
    1: "AdaGrad accumulator",
    2: "Adam first moment",
    3: "Bias correction",
    4: "AMSGrad",
    5: "Coupled L2 vs decoupled weight decay",
    6: "Adafactor",
    7: "LARS",
    8: "Trust ratio (LAMB)",
    9: "Shampoo preview",
    10: "Muon preview",
}


def functions_of(exercise: int) -> tuple:
    """The API functions of one exercise, in the order of the table."""
    return tuple(f.name for f in FUNCTIONS.values() if f.exercise == exercise)


CALLS = {"lamb_update": "trust_ratio", "shampoo_update": "matrix_inverse_root", "muon_update": "newton_schulz"}
"""Graded functions that call another graded function (the exercise asks for it): caller -> callee.
A caller is judged on its own logic: when the callee fails its own test, the caller's test
is re-run with the referee's correct values in the callee's place (:mod:`.callees`)."""
