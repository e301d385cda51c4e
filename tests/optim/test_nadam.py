"""NAdam against torch.optim.NAdam (float64, 50 steps, every array after every step)."""

import numpy as np
import pytest
import torch

from adaptive_lr.optim import Optimizer, init_nadam, nadam_update

from ._peers import NEW_RULE_PROBLEMS, REGIMES, TorchRule, on_every_problem_and_regime

NADAM = TorchRule("nadam", "NAdam", {"m": "exp_avg", "v": "exp_avg_sq", "mu_product": "mu_product"})
HP = {"lr": 0.02, "beta1": 0.9, "beta2": 0.99}


@pytest.fixture(autouse=True)
def torch_scalars_in_float64():
    """torch keeps NAdam's mu_product in the default dtype: float64 here, as on our side."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@on_every_problem_and_regime
@pytest.mark.parametrize("momentum_decay", [4e-3, 0.5])
def test_nadam_matches_torch(regime, momentum_decay, problem):
    NADAM.conforms(regime, problem, **HP, momentum_decay=momentum_decay)


def test_mu_product_is_the_product_of_the_schedule():
    theta, g = np.zeros(2), np.ones(2)
    m, v, prod = init_nadam(theta)
    assert prod == 1.0
    expected = 1.0
    for t in range(1, 6):
        theta, m, v, prod = nadam_update(theta, g, m, v, prod, t)
        expected *= 0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3))
    assert prod == pytest.approx(expected, rel=1e-15)
    with pytest.raises(ValueError, match=r"mu_product must be in \[0, 1\]"):
        nadam_update(theta, g, m, v, 1.5, 6)


def test_eps_inside_the_square_root_is_detected():
    eps = REGIMES["large_eps"]["eps"]

    def step(theta, g, state, t):
        m, v, prod = state
        mu = 0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3))
        mu_next = 0.9 * (1 - 0.5 * 0.96 ** ((t + 1) * 4e-3))
        prod = prod * mu
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        denom = np.sqrt(v / (1 - 0.99**t) + eps)  # eps inside
        theta = theta - 0.02 * (1 - mu) / (1 - prod) * g / denom
        theta = theta - 0.02 * mu_next / (1 - prod * mu_next) * m / denom
        return theta, (m, v, prod)

    mutant = Optimizer("nadam/eps-in-sqrt", init_nadam, step, ("m", "v", "mu_product"), {})
    NADAM.tells_apart(mutant, "large_eps", NEW_RULE_PROBLEMS[0], **HP, momentum_decay=4e-3)
