"""Adadelta against torch.optim.Adadelta (float64, 50 steps, every array after every step)."""

import math

import numpy as np
import pytest
import torch

from adaptive_lr.optim import Optimizer, adadelta_update, init_adadelta, make_optimizer

from ._peers import NEW_RULE_PROBLEMS, REGIMES, against_torch, assert_mutation_detected

KEYS = {"square_avg": "square_avg", "acc_delta": "acc_delta"}


def _pair(eps, lr=1.0, rho=0.9):
    ours = make_optimizer("adadelta", lr=lr, rho=rho, eps=eps)

    def make(ps):
        return torch.optim.Adadelta(ps, lr=lr, rho=rho, eps=eps, foreach=False)

    return ours, make


@pytest.mark.conformance
@pytest.mark.parametrize("problem", NEW_RULE_PROBLEMS, ids=str)
@pytest.mark.parametrize("lr, rho", [(1.0, 0.9), (0.5, 0.95)])
@pytest.mark.parametrize("regime", list(REGIMES))
def test_adadelta_matches_torch(regime, lr, rho, problem):
    eps = REGIMES[regime]["eps"] or 1e-6
    ours, make = _pair(eps, lr, rho)
    label = f"adadelta(lr={lr}, rho={rho}) {regime}"
    against_torch(label, ours, make, KEYS, problem, REGIMES[regime]["scale"])


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
    _, make = _pair(eps)
    worst = against_torch("adadelta mutant", mutant, make, KEYS, NEW_RULE_PROBLEMS[0], check=False)
    assert_mutation_detected("adadelta mutant [large_eps] vs torch.optim", worst)
