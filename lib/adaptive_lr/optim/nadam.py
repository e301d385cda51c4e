"""NAdam: Adam with a Nesterov look-ahead on the first moment, and a momentum schedule."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from .adam import _check_adam, _moments
from .spec import ADAM_VARIANTS, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "NAdamState",
    "init_nadam",
    "nadam_update",
]


class NAdamState(NamedTuple):
    m: Any
    """:math:`m_t`, the moving average of gradients."""
    v: Any
    """:math:`v_t`, the moving average of squared gradients."""
    mu_product: float
    """:math:`\\prod_{s \\le t} \\mu_s`, the product of the momentum schedule so far (1.0 before step 1)."""


def init_nadam(theta):
    """NAdam state for ``theta``: ``(m, v, mu_product) = (0, 0, 1.0)``."""
    xp = check.namespace(theta=theta)
    return NAdamState(xp.zeros_like(theta), xp.zeros_like(theta), 1.0)


def nadam_update(
    theta, grad, m, v, mu_product, t, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
    momentum_decay=4e-3,
):
    r"""One NAdam step. Returns ``(theta, m, v, mu_product)``.

    .. math::

        \mu_t &= \beta_1 \left(1 - \tfrac12\, 0.96^{\,t\, d_\mu}\right), \qquad
        \Pi_t = \Pi_{t-1}\, \mu_t \quad (\Pi_0 = 1) \\
        m_t, v_t &\ \text{as in Adam}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t} \\
        \theta_t &= \theta_{t-1}
            - \eta\, \frac{1-\mu_t}{1-\Pi_t}\, \frac{g_t}{\sqrt{\hat v_t} + \epsilon}
            - \eta\, \frac{\mu_{t+1}}{1-\Pi_t\, \mu_{t+1}}\, \frac{m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`d_\mu` the ``momentum_decay``. This is Nesterov momentum applied
    to Adam's first moment: the step uses the momentum of the *next* step,
    :math:`\mu_{t+1}`, on :math:`m_t` plus the current gradient's share
    :math:`1-\mu_t`, each bias-corrected by the product of the schedule
    (``mu_product``, a Python float carried in the state). Epsilon is added
    *outside* the square root, after bias correction, as in ``torch.optim.NAdam``
    (no weight decay).

    Reference: Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016
    workshop; the schedule :math:`\mu_t` is that of ``torch.optim.NAdam``.
    """
    xp, (t, lr, beta1, beta2, eps) = _check_adam({"theta": theta}, grad, m, v, t, lr, beta1, beta2, eps)
    mu_product = check.closed_unit_interval(
        "mu_product", mu_product, "a product of momenta, 1.0 before step 1"
    )
    momentum_decay = check.nonneg("momentum_decay", momentum_decay)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = mu_product * mu
    m, v = _moments(grad, m, v, beta1, beta2)
    denom = xp.sqrt(v / (1.0 - beta2**t)) + eps
    theta = theta - (lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
    theta = theta - (lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
    return theta, m, v, mu_product


SPECS = (RuleSpec("nadam", nadam_update, init_nadam, NAdamState, ADAM_VARIANTS, tour_lr=0.3),)
