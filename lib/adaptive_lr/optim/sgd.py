"""The non-adaptive baselines: SGD, heavy-ball and Nesterov momentum, and RMSProp."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from .spec import PER_COORDINATE, SGD_FAMILY, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "init_momentum",
    "init_rmsprop",
    "momentum_update",
    "rmsprop_update",
    "sgd_update",
]


class SgdState(NamedTuple):
    """Plain SGD keeps no state."""


class MomentumState(NamedTuple):
    buf: Any
    """The momentum buffer :math:`b_t` (a sum of past gradients, not an average)."""


class RMSpropState(NamedTuple):
    v: Any
    """:math:`v_t`, the moving average of squared gradients."""
    g_mean: Any
    r""":math:`\bar g_t`, the moving average of gradients (centered RMSProp only, else ``None``)."""


def sgd_update(theta, grad, lr=1e-2):
    r"""One plain gradient step: :math:`\theta_t = \theta_{t-1} - \eta\, g_t`. Returns ``theta``.

    Reference: Robbins and Monro, "A Stochastic Approximation Method", 1951.
    """
    check.update_arrays(theta=theta, grad=grad)
    lr = check.nonneg("lr", lr)
    return theta - lr * grad


def init_momentum(theta):
    """Momentum state for ``theta``: the buffer, zeros."""
    xp = check.namespace(theta=theta)
    return xp.zeros_like(theta)


def momentum_update(theta, grad, buf, lr=1e-2, momentum=0.9, nesterov=False, weight_decay=0.0):
    r"""One step of SGD with heavy-ball or Nesterov momentum. Returns ``(theta, buf)``.

    .. math::

        \tilde g_t &= g_t + \lambda \theta_{t-1} \\
        b_t &= \mu\, b_{t-1} + \tilde g_t \\
        \theta_t &= \theta_{t-1} - \eta \begin{cases} \tilde g_t + \mu\, b_t & \text{Nesterov} \\
                                                   b_t & \text{heavy ball} \end{cases}

    ``torch.optim.SGD`` with ``dampening=0`` (its first step sets
    :math:`b_1 = \tilde g_1`, which is the rule above from :math:`b_0 = 0`).
    Weight decay here is coupled L2, as in torch's SGD.

    References: Polyak, "Some methods of speeding up the convergence of iteration
    methods", 1964; Sutskever et al., "On the importance of initialization and
    momentum in deep learning", ICML 2013.
    """
    check.update_arrays(theta=theta, grad=grad, buf=buf)
    lr = check.nonneg("lr", lr)
    momentum = check.unit_interval("momentum", momentum)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    g = grad + weight_decay * theta if weight_decay else grad
    buf = momentum * buf + g
    step = g + momentum * buf if nesterov else buf
    return theta - lr * step, buf


def init_rmsprop(theta, centered=False):
    """RMSProp state for ``theta``: ``(v, g_mean)``; ``g_mean`` is ``None`` unless centered."""
    xp = check.namespace(theta=theta)
    return RMSpropState(xp.zeros_like(theta), (xp.zeros_like(theta) if centered else None))


def rmsprop_update(theta, grad, v, lr=1e-2, beta2=0.99, eps=1e-8, centered=False, g_mean=None):
    r"""One RMSProp step. Returns ``(theta, v, g_mean)``.

    .. math::

        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t \odot g_t \\
        \bar g_t &= \beta_2 \bar g_{t-1} + (1-\beta_2)\, g_t \quad\text{(centered only)} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t - \bar g_t^2} + \epsilon}
        \quad\text{(} \bar g_t \equiv 0 \text{ when not centered)}

    No bias correction: :math:`v_t` starts at 0, so early steps are *larger*
    than :math:`\eta` (compare Adam). :math:`\epsilon` is outside the square
    root. ``torch.optim.RMSprop`` with ``alpha=beta2`` and ``momentum=0``.
    Centered RMSProp divides by an estimate of the gradient's standard
    deviation instead of its root mean square.

    Reference: Tieleman and Hinton, "Lecture 6.5 - RMSProp", COURSERA: Neural
    Networks for Machine Learning, 2012; Graves, "Generating Sequences With
    Recurrent Neural Networks", arXiv:1308.0850, 2013 (centered).
    """
    arrays = {"theta": theta, "grad": grad, "v": v}
    if centered:
        if g_mean is None:
            raise ValueError("centered=True needs g_mean (the running mean of the gradient)")
        arrays["g_mean"] = g_mean
    xp = check.update_arrays(**arrays)
    lr = check.nonneg("lr", lr)
    beta2 = check.unit_interval("beta2", beta2)
    eps = check.nonneg("eps", eps)
    v = beta2 * v + (1.0 - beta2) * (grad * grad)
    if centered:
        g_mean = beta2 * g_mean + (1.0 - beta2) * grad
        # v - g_mean**2 is a variance (>= 0) in exact arithmetic; clip rounding noise.
        denom = xp.sqrt(xp.clip(v - g_mean * g_mean, min=0.0)) + eps
    else:
        denom = xp.sqrt(v) + eps
    return theta - lr * grad / denom, v, g_mean


def _init_sgd(theta):
    check.namespace(theta=theta)
    return SgdState()


def _init_momentum_state(theta):
    return MomentumState(init_momentum(theta))


_SGD = SGD_FAMILY
SPECS = (
    RuleSpec("sgd", sgd_update, _init_sgd, SgdState, _SGD, tour_lr=0.15),
    RuleSpec(
        "momentum", momentum_update, _init_momentum_state, MomentumState, _SGD, tour_lr=0.05,
        bound={"nesterov": False},
    ),
    RuleSpec(
        "nesterov", momentum_update, _init_momentum_state, MomentumState, _SGD, tour_lr=0.05,
        bound={"nesterov": True},
    ),
    RuleSpec(
        "rmsprop", rmsprop_update, init_rmsprop, RMSpropState, PER_COORDINATE,
        tour_lr=0.05, init_hyperparams=("centered",),
    ),
)
