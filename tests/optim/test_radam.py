"""RAdam against torch.optim.RAdam (float64, 50 steps, every array after every step)."""

import math

import numpy as np
import pytest

from adaptive_lr.optim import Optimizer, init_adam, radam_update

from ._peers import NEW_RULE_PROBLEMS, REGIMES, TorchRule, on_every_problem_and_regime

RADAM = TorchRule("radam", "RAdam", {"m": "exp_avg", "v": "exp_avg_sq"})


@on_every_problem_and_regime
@pytest.mark.parametrize("beta2, weight_decay", [(0.99, 0.1), (0.999, 0.0)])
def test_radam_matches_torch(regime, beta2, weight_decay, problem):
    RADAM.conforms(regime, problem, lr=0.02, beta1=0.9, beta2=beta2, weight_decay=weight_decay)


def test_radam_warm_up_is_momentum_then_rectified():
    """rho_t <= 5 for the first steps at beta2 = 0.999: the step is lr * m_hat, not adaptive."""
    theta, g = np.zeros(3), np.array([1e-3, 1.0, 1e3])
    m, v = init_adam(theta)
    new, m, v = radam_update(theta, g, m, v, 1, lr=0.1)
    np.testing.assert_allclose(new, -0.1 * g, rtol=1e-15)  # m_hat_1 = g, whatever its scale
    for t in range(2, 8):
        theta, m, v = radam_update(theta, g, m, v, t, lr=0.1)
    # Past the warm-up the step is adaptive: about lr * r_t * sign(g), far from lr * g.
    step = radam_update(theta, g, m, v, 8, lr=0.1)[0] - theta
    assert np.all(np.abs(step) < 0.1) and np.ptp(np.abs(step)) < 1e-6


def test_eps_on_the_corrected_v_is_detected():
    """eps added to sqrt(v_hat) (Adam's place) instead of sqrt(v): torch tells them apart."""
    eps = REGIMES["large_eps"]["eps"]

    def step(theta, g, state, t):
        m = 0.9 * state[0] + 0.1 * g
        v = 0.99 * state[1] + 0.01 * g * g
        rho_inf = 2 / 0.01 - 1
        rho = rho_inf - 2 * t * 0.99**t / (1 - 0.99**t)
        m_hat = m / (1 - 0.9**t)
        if rho <= 5:
            return theta - 0.02 * m_hat, (m, v)
        r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return theta - 0.02 * r * m_hat / (np.sqrt(v / (1 - 0.99**t)) + eps), (m, v)

    mutant = Optimizer("radam/eps-after-correction", lambda th: init_adam(th), step, ("m", "v"), {})
    RADAM.tells_apart(mutant, "large_eps", NEW_RULE_PROBLEMS[0], lr=0.02, beta1=0.9, beta2=0.99)
