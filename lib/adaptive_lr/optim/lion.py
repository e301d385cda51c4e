"""Lion: the sign of an interpolated momentum, with one state array instead of Adam's two."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from .spec import RuleSpec, zeros_init

# What adaptive_lr.optim exports from this module.
__all__ = [
    "LionState",
    "init_lion",
    "lion_update",
]

SIGN_FAMILY = "Sign methods: Lion"


class LionState(NamedTuple):
    m: Any
    """:math:`m_t`, the moving average of gradients at rate :math:`\\beta_2`."""


init_lion = zeros_init(LionState, "Lion")


def lion_update(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    r"""One Lion step. Returns ``(theta, m)``.

    .. math::

        \tilde m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        \theta_t &= \theta_{t-1} - \eta \left( \mathrm{sign}(\tilde m_t) + \lambda\, \theta_{t-1} \right) \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2)\, g_t

    Every coordinate moves by exactly :math:`\eta` (plus the decay): the update
    has the largest possible norm for its learning rate, so Lion wants an
    :math:`\eta` 3 to 10 times smaller than AdamW's and a :math:`\lambda` as
    much larger. The direction interpolates with :math:`\beta_1` but the state
    is tracked with the slower :math:`\beta_2`, and the state is one array per
    parameter (Adam keeps two). No epsilon and no bias correction: the sign
    does not care about scale. :math:`\mathrm{sign}(0) = 0`. Weight decay is
    decoupled and scaled by the learning rate, as in ``optax.lion``
    (``add_decayed_weights`` before ``scale_by_learning_rate``).

    Reference: Chen et al., "Symbolic Discovery of Optimization Algorithms",
    NeurIPS 2023, Program 1.
    """
    xp = check.update_arrays(theta=theta, grad=grad, m=m)
    lr = check.nonneg("lr", lr)
    beta1 = check.unit_interval("beta1", beta1)
    beta2 = check.unit_interval("beta2", beta2)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    c = beta1 * m + (1.0 - beta1) * grad
    theta = theta - lr * (xp.sign(c) + weight_decay * theta)
    m = beta2 * m + (1.0 - beta2) * grad
    return theta, m


SPECS = (RuleSpec("lion", lion_update, init_lion, LionState, SIGN_FAMILY, tour_lr=0.08),)
