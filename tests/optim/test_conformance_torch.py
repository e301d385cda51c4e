"""Conformance of the oracle with torch.optim, step by step, in float64.

Every test feeds one gradient sequence to ``adaptive_lr.optim.make_optimizer(rule)``
and to the matching ``torch.optim`` optimizer, and after each of 50 steps compares
the parameters and every state array (see ``_peers`` for the tolerance).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.optim._muon as torch_muon

from adaptive_lr.optim import NS_COEFFICIENTS, Optimizer, make_optimizer, newton_schulz

from ._peers import (
    ATOL,
    REGIMES,
    SCALES,
    OracleRun,
    Problem,
    TorchPeer,
    assert_close,
    assert_mutation_detected,
    lockstep,
    max_abs_diff,
)

pytestmark = pytest.mark.conformance

ELEMENTWISE_PROBLEMS = [
    Problem("vector", (7,), "random", seed=1),
    Problem("matrix", (4, 6), "random", seed=2),
    Problem("tall-quadratic", (6, 3), "quadratic", seed=3),
    Problem("tensor3", (2, 3, 4), "random", seed=4),
]
MATRIX_PROBLEMS = [
    Problem("wide", (4, 6), "random", seed=5),
    Problem("tall-quadratic", (6, 3), "quadratic", seed=6),
    Problem("square", (5, 5), "random", seed=7),
]


# rule -> builder(eps) returning (oracle Optimizer, torch optimizer factory, {oracle name: torch key}).
# ``eps=None`` means the rule's default.
LR, BETAS, WD = 0.05, (0.9, 0.99), 0.1


def _adagrad(eps):
    eps = 1e-10 if eps is None else eps
    return (
        make_optimizer("adagrad", lr=LR, eps=eps),
        lambda ps: torch.optim.Adagrad(
            ps,
            lr=LR,
            eps=eps,
            lr_decay=0.0,
            weight_decay=0.0,
            initial_accumulator_value=0.0,
            foreach=False,
        ),
        {"accum": "sum"},
    )


def _rmsprop(centered):
    def build(eps):
        eps = 1e-8 if eps is None else eps
        keys = {"v": "square_avg", **({"g_mean": "grad_avg"} if centered else {})}
        return (
            make_optimizer("rmsprop", lr=0.01, beta2=0.9, eps=eps, centered=centered),
            lambda ps: torch.optim.RMSprop(
                ps,
                lr=0.01,
                alpha=0.9,
                eps=eps,
                centered=centered,
                momentum=0.0,
                weight_decay=0.0,
                foreach=False,
            ),
            keys,
        )

    return build


def _adam(rule):
    def build(eps):
        eps = 1e-8 if eps is None else eps
        hp = {"lr": LR, "beta1": BETAS[0], "beta2": BETAS[1], "eps": eps}
        keys = {"m": "exp_avg", "v": "exp_avg_sq"}
        if rule == "adam":
            make = lambda ps: torch.optim.Adam(ps, lr=LR, betas=BETAS, eps=eps, foreach=False)
        elif rule == "amsgrad":
            keys["vmax"] = "max_exp_avg_sq"
            make = lambda ps: torch.optim.Adam(
                ps, lr=LR, betas=BETAS, eps=eps, amsgrad=True, foreach=False
            )
        elif rule == "adam_l2":
            hp["weight_decay"] = WD
            make = lambda ps: torch.optim.Adam(
                ps, lr=LR, betas=BETAS, eps=eps, weight_decay=WD, foreach=False
            )
        else:
            hp["weight_decay"] = WD
            make = lambda ps: torch.optim.AdamW(
                ps, lr=LR, betas=BETAS, eps=eps, weight_decay=WD, foreach=False
            )
        return make_optimizer(rule, **hp), make, keys

    return build


EPS_RULES = {
    "adagrad": _adagrad,
    "rmsprop": _rmsprop(centered=False),
    "rmsprop_centered": _rmsprop(centered=True),
    "adam": _adam("adam"),
    "amsgrad": _adam("amsgrad"),
    "adam_l2": _adam("adam_l2"),
    "adamw": _adam("adamw"),
}


def _run(rule, regime, problem, build, check=True, oracle=None):
    eps, scale = REGIMES[regime]["eps"], REGIMES[regime]["scale"]
    ours, make, keys = build(eps)
    theta0 = problem.theta0()
    return lockstep(
        f"{rule} [{regime}, {problem}]",
        "torch.optim",
        OracleRun(oracle or ours, theta0),
        TorchPeer(make, theta0, keys),
        problem.grad_fn(scale),
        check=check,
    )


@pytest.mark.parametrize("problem", ELEMENTWISE_PROBLEMS, ids=str)
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("rule", list(EPS_RULES))
def test_elementwise_rules_match_torch(rule, regime, problem):
    _run(rule, regime, problem, EPS_RULES[rule])


# --- mutation tests: the comparisons above can fail -------------------------------------
# Each wrong rule is a plausible student mistake about epsilon; under eps = 1e-3 it must
# miss torch by far more than the tolerance, in the same lockstep harness.


def _mutant(name, state_names, init, step):
    return Optimizer(name, init, step, state_names, {})


def _adagrad_eps_in_sqrt(eps):
    def step(theta, g, state, t):
        accum = state[0] + g * g
        return theta - LR * g / np.sqrt(accum + eps), (accum,)

    return _mutant("adagrad/eps-in-sqrt", ("accum",), lambda th: (np.zeros_like(th),), step)


def _rmsprop_eps_in_sqrt(centered):
    def build(eps):
        def step(theta, g, state, t):
            v = 0.9 * state[0] + 0.1 * g * g
            gm = 0.9 * state[1] + 0.1 * g if centered else None
            var = v - gm * gm if centered else v
            return theta - 0.01 * g / np.sqrt(var + eps), (v, gm)

        init = lambda th: (np.zeros_like(th), np.zeros_like(th) if centered else None)
        return _mutant("rmsprop/eps-in-sqrt", ("v", "g_mean"), init, step)

    return build


def _adam_mutant(rule, eps):
    b1, b2 = BETAS
    wd = WD if rule in ("adam_l2", "adamw") else 0.0

    def step(theta, g, state, t):
        if rule == "adam_l2":
            g = g + wd * theta
        m = b1 * state[0] + (1 - b1) * g
        v = b2 * state[1] + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        if rule == "amsgrad":
            # eps added before the bias correction of the maximum (the paper's "efficient" form)
            vmax = np.maximum(state[2], v)
            upd = m_hat / ((np.sqrt(vmax) + eps) / math.sqrt(1 - b2**t))
            return theta - LR * upd, (m, v, vmax)
        upd = m_hat / np.sqrt(v / (1 - b2**t) + eps)  # eps inside the square root
        theta = theta * (1 - LR * wd) if rule == "adamw" else theta
        return theta - LR * upd, (m, v)

    n = 3 if rule == "amsgrad" else 2
    names = ("m", "v", "vmax")[:n]
    return _mutant(
        f"{rule}/mutant", names, lambda th: tuple(np.zeros_like(th) for _ in range(n)), step
    )


MUTANTS = {
    "adagrad": _adagrad_eps_in_sqrt,
    "rmsprop": _rmsprop_eps_in_sqrt(False),
    "rmsprop_centered": _rmsprop_eps_in_sqrt(True),
    "adam": lambda eps: _adam_mutant("adam", eps),
    "amsgrad": lambda eps: _adam_mutant("amsgrad", eps),
    "adam_l2": lambda eps: _adam_mutant("adam_l2", eps),
    "adamw": lambda eps: _adam_mutant("adamw", eps),
}


@pytest.mark.parametrize("rule", list(MUTANTS))
def test_eps_mutation_is_detected(rule):
    problem = ELEMENTWISE_PROBLEMS[1]
    eps = REGIMES["large_eps"]["eps"]
    worst = _run(
        rule, "large_eps", problem, EPS_RULES[rule], check=False, oracle=MUTANTS[rule](eps)
    )
    assert_mutation_detected(f"{rule} mutant [large_eps, {problem}] vs torch.optim", worst)


# --- SGD with momentum ---------------------------------------------------------------------


@pytest.mark.parametrize("problem", ELEMENTWISE_PROBLEMS, ids=str)
@pytest.mark.parametrize("scale", list(SCALES))
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
def test_momentum_matches_torch_sgd(nesterov, weight_decay, scale, problem):
    hp = {"lr": 0.02, "momentum": 0.9, "weight_decay": weight_decay}
    theta0 = problem.theta0()
    lockstep(
        f"momentum(nesterov={nesterov}, wd={weight_decay}) [{scale}, {problem}]",
        "torch.optim.SGD",
        OracleRun(make_optimizer("nesterov" if nesterov else "momentum", **hp), theta0),
        TorchPeer(
            lambda ps: torch.optim.SGD(ps, dampening=0.0, nesterov=nesterov, foreach=False, **hp),
            theta0,
            {"buf": "momentum_buffer"},
        ),
        problem.grad_fn(SCALES[scale]),
    )


# --- Adafactor -----------------------------------------------------------------------------

ADAFACTOR_PROBLEMS = [
    *MATRIX_PROBLEMS,
    Problem("wide-zero-init", (4, 6), "random", seed=8, init="zeros"),
]


def _adafactor(eps):
    # torch.optim.Adafactor's eps=(eps1, eps2); eps1=None would mean finfo.eps, so pass it.
    eps1 = 1e-30 if eps is None else eps
    # lr=0.3 exercises both branches of min(lr, 1/sqrt(t)); d=1 clips some steps.
    hp = {"lr": 0.3, "beta2_decay": -0.8, "d": 1.0}
    return (
        make_optimizer("adafactor", eps1=eps1, eps2=1e-3, **hp),
        lambda ps: torch.optim.Adafactor(
            ps, eps=(eps1, 1e-3), weight_decay=0.0, foreach=False, **hp
        ),
        {"R": "row_var", "C": "col_var"},
    )


@pytest.mark.parametrize("problem", ADAFACTOR_PROBLEMS, ids=str)
@pytest.mark.parametrize("regime", list(REGIMES))
def test_adafactor_matches_torch(regime, problem):
    _run("adafactor", regime, problem, _adafactor)


def test_adafactor_eps1_mutation_is_detected():
    """eps1 placed outside the square root (Adam's habit) instead of as a floor on V_hat."""
    eps1, eps2 = 1e-3, 1e-3

    def step(X, G, state, t):
        w = t**-0.8
        R = (1 - w) * state[0] + w * np.mean(G * G, axis=1)
        C = (1 - w) * state[1] + w * np.mean(G * G, axis=0)
        V = np.outer(R, C) / max(R.mean(), eps1)
        U = G / (np.sqrt(V) + eps1)
        alpha = max(eps2, math.sqrt(np.mean(X * X))) * min(0.3, 1 / math.sqrt(t))
        return X - alpha * U / max(1.0, math.sqrt(np.mean(U * U))), (R, C)

    init = lambda X: (np.zeros(X.shape[0]), np.zeros(X.shape[1]))
    problem = MATRIX_PROBLEMS[0]
    worst = _run(
        "adafactor",
        "large_eps",
        problem,
        _adafactor,
        check=False,
        oracle=_mutant("adafactor/eps1-outside-sqrt", ("R", "C"), init, step),
    )
    assert_mutation_detected(f"adafactor mutant [large_eps, {problem}] vs torch.optim", worst)


# --- Muon ----------------------------------------------------------------------------------


class _KeepDtype(torch.Tensor):
    """A tensor whose ``.bfloat16()`` keeps its dtype: torch's own Newton-Schulz code then
    runs unchanged, but in float64."""

    def bfloat16(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor).clone()


@pytest.fixture
def torch_ns_float64(monkeypatch):
    """Make torch.optim.Muon orthogonalize in float64 (for this test only).

    ``torch.optim._muon._zeropower_via_newtonschulz`` casts its input to bfloat16;
    the patch hands it a ``_KeepDtype`` tensor instead, so the very same iteration
    (addmm with beta=b, alpha=c, then beta=a) runs in float64. Returns the list of
    dtypes it was called with, to prove the patched path ran.
    """
    original = torch_muon._zeropower_via_newtonschulz
    calls = []

    def zeropower_float64(grad, ns_coefficients, ns_steps, eps):
        out = original(grad.as_subclass(_KeepDtype), ns_coefficients, ns_steps, eps)
        out = out.as_subclass(torch.Tensor)
        calls.append(out.dtype)
        return out

    monkeypatch.setattr(torch_muon, "_zeropower_via_newtonschulz", zeropower_float64)
    return calls, original


def _muon(nesterov, weight_decay):
    hp = {"lr": 0.02, "momentum": 0.95, "nesterov": nesterov, "weight_decay": weight_decay}
    ours = make_optimizer("muon", steps=5, **hp)

    def make(ps):
        return torch.optim.Muon(ps, ns_steps=5, ns_coefficients=NS_COEFFICIENTS, eps=1e-7, **hp)

    return ours, make


@pytest.mark.parametrize("problem", MATRIX_PROBLEMS, ids=str)
@pytest.mark.parametrize("scale", list(SCALES))
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("nesterov", [True, False], ids=["nesterov", "plain"])
def test_muon_matches_torch_in_float64(nesterov, weight_decay, scale, problem, torch_ns_float64):
    calls, _ = torch_ns_float64
    ours, make = _muon(nesterov, weight_decay)
    theta0 = problem.theta0()
    lockstep(
        f"muon(nesterov={nesterov}, wd={weight_decay}) [{scale}, {problem}]",
        "torch.optim.Muon (Newton-Schulz in float64)",
        OracleRun(ours, theta0),
        TorchPeer(make, theta0, {"buf": "momentum_buffer"}),
        problem.grad_fn(SCALES[scale]),
    )
    assert calls and set(calls) == {torch.float64}, f"patched Newton-Schulz ran with {set(calls)}"


# One bfloat16 step: torch's unpatched Muon against the float64 oracle. bfloat16 keeps 8
# significant bits (unit roundoff 2**-9 ~ 2e-3 per rounding), and the quintic's slope at 0
# is a = 3.4445, so rounding errors along small singular directions grow up to a**5 ~ 480x
# over five iterations before they saturate. Measured on 400 random matrices (shapes up to
# 11 x 11, entries spread over two decades): max |difference| up to 0.095 of the update
# unit lr * sqrt(max(1, n/m)) (median 0.014); on the fixed inputs below 0.009 to 0.032.
# The momentum buffer is computed before the cast and must still agree to ATOL.
BF16_REL_TOL = 0.1


@pytest.mark.parametrize("problem", MATRIX_PROBLEMS, ids=str)
@pytest.mark.parametrize("nesterov", [True, False], ids=["nesterov", "plain"])
def test_muon_one_bfloat16_step_matches_torch(nesterov, problem):
    ours, make = _muon(nesterov, 0.1)
    theta0 = problem.theta0()
    g = problem.grad_fn()(1, theta0)
    out = OracleRun(ours, theta0).step(1, g)
    theirs = TorchPeer(make, theta0, {"buf": "momentum_buffer"})(1, g)
    assert_close("muon [bfloat16 torch]", 1, "buf", out["buf"], theirs["buf"], "torch.optim.Muon")
    rows, cols = problem.shape
    unit = 0.02 * math.sqrt(max(1.0, rows / cols))
    d = max_abs_diff(out["param"], theirs["param"]) / unit
    assert d <= BF16_REL_TOL, (
        f"muon [bfloat16 torch, {problem}]: step 1, array 'param': max |oracle - torch| / "
        f"(lr * sqrt(max(1, n/m))) = {d:.3e} > {BF16_REL_TOL}"
    )
    # ...and it is a bf16 difference, not zero: torch really did round.
    assert d > 1e3 * ATOL, f"muon [bfloat16 torch]: difference {d:.2e} suspiciously small"


NS_SHAPES = [(4, 6), (6, 4), (5, 5), (1, 7), (8, 3)]


@pytest.mark.parametrize("steps", [0, 1, 5, 12])
@pytest.mark.parametrize("shape", NS_SHAPES, ids=str)
def test_newton_schulz_matches_torch_internal_in_float64(shape, steps, torch_ns_float64):
    _, original = torch_ns_float64
    rng = np.random.default_rng([11, steps, *shape])
    for trial, G in enumerate(
        [rng.standard_normal(shape), 1e-6 * rng.standard_normal(shape), np.zeros(shape)]
    ):
        ours = newton_schulz(G, steps=steps, eps=1e-7)
        theirs = original(
            torch.tensor(G).as_subclass(_KeepDtype), NS_COEFFICIENTS, steps, 1e-7
        ).as_subclass(torch.Tensor)
        assert theirs.dtype == torch.float64
        assert_close(
            f"newton_schulz(steps={steps}) {shape} input #{trial}",
            "-",
            "X",
            ours,
            theirs.numpy(),
            "torch _zeropower_via_newtonschulz (float64)",
        )
