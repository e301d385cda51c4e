"""Lion against optax.lion (float64, 50 steps, every array after every step)."""

import jax

jax.config.update("jax_enable_x64", True)  # before any array is created

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_lr.optim import Optimizer, init_lion, lion_update, make_optimizer

from ._peers import NEW_RULE_PROBLEMS, SCALES, OracleRun, assert_mutation_detected, lockstep


class OptaxLion:
    def __init__(self, theta0, **hp):
        self.tx = optax.lion(**hp)
        self.params = jnp.asarray(theta0, dtype=jnp.float64)
        self.state = self.tx.init(self.params)

    def __call__(self, t, grad):
        updates, self.state = self.tx.update(jnp.asarray(grad), self.state, self.params)
        self.params = optax.apply_updates(self.params, updates)
        return {"param": np.asarray(self.params), "m": np.asarray(self.state[0].mu)}


def _run(oracle, problem, scale, weight_decay, check=True):
    theta0 = problem.theta0()
    peer = OptaxLion(theta0, learning_rate=0.01, b1=0.9, b2=0.99, weight_decay=weight_decay)
    label = f"lion(wd={weight_decay}) [scale {scale:g}, {problem}]"
    return lockstep(label, "optax.lion", OracleRun(oracle, theta0), peer, problem.grad_fn(scale), check=check)


@pytest.mark.conformance
@pytest.mark.parametrize("problem", NEW_RULE_PROBLEMS, ids=str)
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("scale", list(SCALES))
def test_lion_matches_optax(scale, weight_decay, problem):
    ours = make_optimizer("lion", lr=0.01, beta1=0.9, beta2=0.99, weight_decay=weight_decay)
    _run(ours, problem, SCALES[scale], weight_decay)


def test_state_tracked_with_beta1_is_detected():
    """Tracking m with beta1 (the interpolation rate) instead of beta2 drifts away from optax."""

    def step(theta, g, state, t):
        c = 0.9 * state[0] + 0.1 * g
        return theta - 0.01 * np.sign(c), (c,)

    mutant = Optimizer("lion/m-with-beta1", init_lion, step, ("m",), {})
    worst = _run(mutant, NEW_RULE_PROBLEMS[0], 1.0, 0.0, check=False)
    assert_mutation_detected("lion mutant vs optax.lion", worst)


@given(
    g=st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=6),
    lr=st.floats(1e-5, 1.0),
)
def test_every_coordinate_moves_by_lr_whatever_the_gradient_scale(g, lr):
    grad = np.array(g)
    theta = np.zeros_like(grad)
    new, m = lion_update(theta, grad, *init_lion(theta), lr=lr)
    np.testing.assert_array_equal(new, -lr * np.sign(grad))
    np.testing.assert_array_equal(m, (1.0 - 0.99) * grad)  # m_1 = (1 - beta2) g, from m_0 = 0
