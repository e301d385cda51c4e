"""AdaMax against torch.optim.Adamax (float64, 50 steps, every array after every step)."""

import numpy as np
import pytest

from adaptive_lr.optim import Optimizer, adamax_update, init_adamax

from ._peers import NEW_RULE_PROBLEMS, REGIMES, TorchRule, on_every_problem_and_regime

ADAMAX = TorchRule("adamax", "Adamax", {"m": "exp_avg", "u": "exp_inf"})
HP = {"lr": 0.02, "beta1": 0.9, "beta2": 0.99}


@on_every_problem_and_regime
def test_adamax_matches_torch(regime, problem):
    ADAMAX.conforms(regime, problem, **HP)


def test_u_is_a_decaying_maximum_without_bias_correction():
    theta = np.zeros(2)
    m, u = init_adamax(theta)
    _, m, u = adamax_update(theta, np.array([3.0, -1.0]), m, u, 1, eps=0.0)
    np.testing.assert_array_equal(u, [3.0, 1.0])
    _, m, u = adamax_update(theta, np.array([0.5, -2.0]), m, u, 2, beta2=0.5, eps=0.0)
    np.testing.assert_array_equal(u, [1.5, 2.0])  # max(0.5 * 3, 0.5), max(0.5 * 1, 2)


def test_eps_added_after_the_maximum_is_detected():
    eps = REGIMES["large_eps"]["eps"]

    def step(theta, g, state, t):
        m = 0.9 * state[0] + 0.1 * g
        u = np.maximum(0.99 * state[1], np.abs(g))
        return theta - 0.02 / (1 - 0.9**t) * m / (u + eps), (m, u)

    mutant = Optimizer("adamax/eps-outside-max", init_adamax, step, ("m", "u"), {})
    # Small gradients: there eps is not negligible beside |g|.
    ADAMAX.tells_apart(mutant, "large_eps", NEW_RULE_PROBLEMS[0], scale=1e-3, **HP)
