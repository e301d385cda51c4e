"""AdaMax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from .spec import ADAM_VARIANTS, RuleSpec, zeros_init

# What adaptive_lr.optim exports from this module.
__all__ = [
    "AdamaxState",
    "adamax_update",
    "init_adamax",
]


class AdamaxState(NamedTuple):
    m: Any
    """:math:`m_t`, the moving average of gradients."""
    u: Any
    """:math:`u^\\infty_t`, the exponentially weighted infinity norm of past gradients (plus epsilon)."""


init_adamax = zeros_init(AdamaxState, "AdaMax")


def adamax_update(theta, grad, m, u, t, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    r"""One AdaMax step. Returns ``(theta, m, u)``.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        u^\infty_t &= \max\left(\beta_2\, u^\infty_{t-1},\ |g_t| + \epsilon\right) \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u^\infty_t}

    :math:`u^\infty_t` (Kingma and Ba's :math:`u_t`; the code's ``u``) is the limit :math:`p \to \infty` of Adam's
    :math:`(v_t)^{1/p}` with :math:`v_t` an average of :math:`|g|^p`: it needs no
    bias correction (a maximum is not pulled towards its zero start). Epsilon
    sits *inside* the maximum, added to :math:`|g_t|` (it is not added to the
    denominator afterwards), as in ``torch.optim.Adamax``; Kingma and Ba's
    Algorithm 2 has no epsilon (:math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)`), which
    is ``eps=0`` here: a coordinate whose gradients have all been 0 then divides 0 by 0.

    Reference: Kingma and Ba, "Adam: A Method for Stochastic Optimization",
    ICLR 2015, Section 7.1 (Algorithm 2).
    """
    xp = check.update_arrays(theta=theta, grad=grad, m=m, u=u)
    t = check.step_index(t)
    lr = check.nonneg("lr", lr)
    beta1 = check.unit_interval("beta1", beta1)
    beta2 = check.unit_interval("beta2", beta2)
    eps = check.nonneg("eps", eps)
    m = beta1 * m + (1.0 - beta1) * grad
    u = xp.maximum(beta2 * u, xp.abs(grad) + eps)
    theta = theta - (lr / (1.0 - beta1**t)) * (m / u)
    return theta, m, u


SPECS = (RuleSpec("adamax", adamax_update, init_adamax, AdamaxState, ADAM_VARIANTS, tour_lr=0.3),)
