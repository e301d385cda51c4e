"""Adadelta against torch.optim.Adadelta (float64, 50 steps, every array after every step)."""

import math

import numpy as np
import pytest

from adaptive_lr.optim import Optimizer, adadelta_update, init_adadelta

from ._peers import NEW_RULE_PROBLEMS, REGIMES, TorchRule, on_every_problem_and_regime

ADADELTA = TorchRule("adadelta", "Adadelta", {"square_avg": "square_avg", "acc_delta": "acc_delta"})


@on_every_problem_and_regime
@pytest.mark.parametrize("lr, rho", [(1.0, 0.9), (0.5, 0.95)])
def test_adadelta_matches_torch(regime, lr, rho, problem):
    ADADELTA.conforms(regime, problem, lr=lr, rho=rho)


def test_first_step_size_is_set_by_eps_not_by_the_gradient():
    """E[dtheta^2]_0 = 0: the first step is sqrt(eps) g / sqrt((1-rho) g^2 + eps) ~ sqrt(eps/(1-rho))."""
    theta = np.zeros(3)
    g = np.array([1e2, 1.0, 1e-2])
    new, _, _ = adadelta_update(theta, g, *init_adadelta(theta), rho=0.9, eps=1e-6)
    np.testing.assert_allclose(new, -math.sqrt(1e-6) * g / np.sqrt(0.1 * g * g + 1e-6), rtol=1e-14)
    assert np.abs(new[0]) == pytest.approx(math.sqrt(1e-6 / 0.1), rel=1e-6)


def test_eps_outside_the_square_roots_is_detected():
    eps = REGIMES["large_eps"]["eps"]

    def step(theta, g, state, t):
        sq = 0.9 * state[0] + 0.1 * g * g
        delta = (np.sqrt(state[1]) + eps) / (np.sqrt(sq) + eps) * g
        acc = 0.9 * state[1] + 0.1 * delta * delta
        return theta - delta, (sq, acc)

    mutant = Optimizer("adadelta/eps-outside", init_adadelta, step, ("square_avg", "acc_delta"), {})
    ADADELTA.tells_apart(mutant, "large_eps", NEW_RULE_PROBLEMS[0], lr=1.0, rho=0.9)
