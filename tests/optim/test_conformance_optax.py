"""Conformance of the oracle with optax, step by step, in float64.

LARS and LAMB are layer-wise: both sides see a *list* of layers of very different
scales (one zero-initialized, one with a zero gradient), the oracle through
``apply_to_layers(make_optimizer(...))`` and optax through its pytree. Adam and
AdamW are compared on single arrays. See ``_peers`` for the tolerance.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)  # before any array is created

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from adaptive_lr.optim import Optimizer, make_optimizer, trust_ratio

from ._peers import (
    REGIMES,
    SCALES,
    OracleRun,
    Problem,
    assert_mutation_detected,
    layer_problem,
    lockstep,
)

pytestmark = pytest.mark.conformance

# A small "network": weight matrices and biases whose parameters span five decades and
# whose gradients span seven; one layer starts at zero (trust ratio falls back to 1 on
# its first step) and one never receives a gradient (update norm 0 without decay).
LAYER_SHAPES = [(8, 5), (5,), (5, 3), (3,), (2, 3, 2)]
PARAM_SCALES = [1.0, 1e-3, 100.0, 0.0, 0.5]
GRAD_SCALES = [1.0, 1e3, 1e-4, 1.0, 0.0]

PROBLEMS = [
    Problem("vector", (7,), "random", seed=21),
    Problem("matrix", (4, 6), "random", seed=22),
    Problem("tall-quadratic", (6, 3), "quadratic", seed=23),
    Problem("tensor3", (2, 3, 4), "random", seed=24),
]


def _find(state, cls):
    """The first ``cls`` node of an optax chain state."""
    if isinstance(state, cls):
        return state
    if isinstance(state, tuple):
        for sub in state:
            found = _find(sub, cls)
            if found is not None:
                return found
    return None


class OptaxPeer:
    """An optax transformation on one array or a list of layers, in float64."""

    def __init__(self, tx, params0, extract, layers=False):
        self.layers = layers
        self.params = jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.float64), params0)
        self.tx, self.state, self.extract = tx, tx.init(self.params), extract

    def __call__(self, t, grads):
        grads = jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.float64), grads)
        updates, self.state = self.tx.update(grads, self.state, self.params)
        self.params = optax.apply_updates(self.params, updates)
        arrays = {"param": self.params, **self.extract(self.state)}
        if not self.layers:
            return {k: np.asarray(v) for k, v in arrays.items()}
        return {f"{k}[{i}]": np.asarray(a) for k, v in arrays.items() for i, a in enumerate(v)}


def _trace(state):
    # optax keeps trace = -(our velocity): its updates are already multiplied by -lr.
    return {"velocity": jax.tree.map(lambda a: -a, _find(state, optax.TraceState).trace)}


def _moments(state):
    adam = _find(state, optax.ScaleByAdamState)
    return {"m": adam.mu, "v": adam.nu}


def _layers(seed=0):
    return layer_problem(LAYER_SHAPES, PARAM_SCALES, GRAD_SCALES, seed=seed)


def _layer_grads(grad_fn, scale):
    return lambda t, params: grad_fn(t, params, scale)


# --- LARS ----------------------------------------------------------------------------------

LARS_CONFIGS = {
    "momentum": {"momentum": 0.9, "weight_decay": 0.0},
    "momentum+wd": {"momentum": 0.9, "weight_decay": 1e-2},
    "no-momentum+wd": {"momentum": 0.0, "weight_decay": 1e-3},
}


@pytest.mark.parametrize("scale", list(SCALES))
@pytest.mark.parametrize("config", list(LARS_CONFIGS))
def test_lars_per_layer_matches_optax(config, scale):
    hp = {"lr": 2.0, "trust_coefficient": 1e-2, **LARS_CONFIGS[config]}
    params, grad_fn = _layers(seed=1)
    tx = optax.lars(
        learning_rate=hp["lr"],
        weight_decay=hp["weight_decay"],
        trust_coefficient=hp["trust_coefficient"],
        eps=0.0,
        momentum=hp["momentum"],
        nesterov=False,
    )
    lockstep(
        f"lars({config}) [{scale}, layers {LAYER_SHAPES}]",
        "optax.lars",
        OracleRun(make_optimizer("lars", **hp), params, layers=True),
        OptaxPeer(tx, params, _trace, layers=True),
        _layer_grads(grad_fn, SCALES[scale]),
    )


# --- LAMB ----------------------------------------------------------------------------------


def _lamb(eps, weight_decay):
    eps = 1e-6 if eps is None else eps
    hp = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.99, "eps": eps, "weight_decay": weight_decay}
    tx = optax.lamb(
        learning_rate=hp["lr"], b1=0.9, b2=0.99, eps=eps, eps_root=0.0, weight_decay=weight_decay
    )
    return make_optimizer("lamb", **hp), tx


def _run_lamb(regime, weight_decay, oracle=None, check=True):
    ours, tx = _lamb(REGIMES[regime]["eps"], weight_decay)
    params, grad_fn = _layers(seed=2)
    return lockstep(
        f"lamb(wd={weight_decay}) [{regime}, layers {LAYER_SHAPES}]",
        "optax.lamb",
        OracleRun(oracle or ours, params, layers=True),
        OptaxPeer(tx, params, _moments, layers=True),
        _layer_grads(grad_fn, REGIMES[regime]["scale"]),
        check=check,
    )


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
@pytest.mark.parametrize("regime", list(REGIMES))
def test_lamb_per_layer_matches_optax(regime, weight_decay):
    _run_lamb(regime, weight_decay)


def test_lamb_eps_mutation_is_detected():
    """LAMB with eps inside the square root misses optax.lamb by far more than the tolerance."""
    b1, b2, eps, wd, lr = 0.9, 0.99, 1e-3, 1e-2, 1e-2

    def step(w, g, state, t):
        m = b1 * state[0] + (1 - b1) * g
        v = b2 * state[1] + (1 - b2) * g * g
        u = (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps) + wd * w
        return w - lr * trust_ratio(w, u) * u, (m, v)

    mutant = Optimizer("lamb/eps-in-sqrt", lambda w: (np.zeros_like(w),) * 2, step, ("m", "v"), {})
    worst = _run_lamb("large_eps", wd, oracle=mutant, check=False)
    assert_mutation_detected("lamb mutant [large_eps] vs optax.lamb", worst)


# --- Adam and AdamW ------------------------------------------------------------------------

BETAS, LR, WD = (0.9, 0.99), 0.05, 0.1


def _adam_pair(rule, eps, eps_root=0.0):
    """(oracle, optax transformation); ``eps_root`` moves optax's epsilon inside the sqrt."""
    hp = {"lr": LR, "beta1": BETAS[0], "beta2": BETAS[1], "eps": eps}
    if rule == "adam":
        tx = optax.adam(
            LR, b1=BETAS[0], b2=BETAS[1], eps=eps if not eps_root else 0.0, eps_root=eps_root
        )
        return make_optimizer("adam", **hp), tx
    tx = optax.adamw(
        LR,
        b1=BETAS[0],
        b2=BETAS[1],
        eps=eps if not eps_root else 0.0,
        eps_root=eps_root,
        weight_decay=WD,
    )
    return make_optimizer("adamw", weight_decay=WD, **hp), tx


def _run_adam(rule, regime, problem, eps_root=0.0, check=True):
    eps = REGIMES[regime]["eps"] or 1e-8
    ours, tx = _adam_pair(rule, eps, eps_root * eps)
    theta0 = problem.theta0()
    return lockstep(
        f"{rule} [{regime}, {problem}]",
        f"optax.{rule}",
        OracleRun(ours, theta0),
        OptaxPeer(tx, theta0, _moments),
        problem.grad_fn(REGIMES[regime]["scale"]),
        check=check,
    )


@pytest.mark.parametrize("problem", PROBLEMS, ids=str)
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("rule", ["adam", "adamw"])
def test_adam_family_matches_optax(rule, regime, problem):
    _run_adam(rule, regime, problem)


@pytest.mark.parametrize("rule", ["adam", "adamw"])
def test_eps_inside_sqrt_is_detected(rule):
    """optax itself with eps moved inside the root (eps=0, eps_root=eps) must disagree
    with the oracle by far more than the tolerance: the comparison sees where eps is."""
    worst = _run_adam(rule, "large_eps", PROBLEMS[1], eps_root=1.0, check=False)
    assert_mutation_detected(f"{rule} [large_eps] vs optax.{rule}(eps=0, eps_root=1e-3)", worst)
