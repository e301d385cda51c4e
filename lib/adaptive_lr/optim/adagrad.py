"""AdaGrad: a per-coordinate step size from the sum of squared gradients."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from . import _fast
from .spec import PER_COORDINATE, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "adagrad_effective_lr",
    "adagrad_update",
    "init_adagrad",
]


def init_adagrad(theta):
    """AdaGrad state for ``theta``: the accumulator, all zeros (torch's ``initial_accumulator_value=0``)."""
    xp = check.namespace(theta=theta)
    return xp.zeros_like(theta)


def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10, *, fast=False):
    r"""One AdaGrad step. Returns ``(theta, accum)``.

    .. math::

        G_t = G_{t-1} + g_t \odot g_t, \qquad
        \theta_t = \theta_{t-1} - \frac{\eta\, g_t}{\sqrt{G_t} + \epsilon}

    :math:`\epsilon` is added *outside* the square root, after the new
    squared gradient has entered the accumulator (as in ``torch.optim.Adagrad``
    with ``initial_accumulator_value=0``, ``lr_decay=0``).

    Reference: Duchi, Hazan and Singer, "Adaptive Subgradient Methods for
    Online Learning and Stochastic Optimization", JMLR 2011.

    Parameters
    ----------
    theta, grad, accum : arrays of one shape and dtype
        Parameters :math:`\theta_{t-1}`, gradient :math:`g_t`, accumulator :math:`G_{t-1}`.
    lr : float >= 0
        :math:`\eta`.
    eps : float >= 0
        :math:`\epsilon`.
    """
    xp = check.update_arrays(theta=theta, grad=grad, accum=accum)
    lr, eps = check.nonneg("lr", lr), check.nonneg("eps", eps)
    if fast:  # the NumPy fast path, bit for bit (see adaptive_lr.optim._fast)
        _fast.require("adagrad_update", theta=theta, grad=grad, accum=accum)
        return _fast.adagrad(theta, grad, accum, lr, eps)
    accum = accum + grad * grad
    theta = theta - lr * grad / (xp.sqrt(accum) + eps)
    return theta, accum


def adagrad_effective_lr(accum, lr=1e-2, eps=1e-10):
    r"""AdaGrad's per-coordinate effective learning rate :math:`\eta / (\sqrt{G} + \epsilon)`.

    With it, the AdaGrad step is ``theta - adagrad_effective_lr(accum') * grad``
    where ``accum'`` already holds the current squared gradient. For a constant
    gradient :math:`g`, :math:`G_t = t g^2` and the effective rate decays as
    :math:`\eta / (|g| \sqrt{t})`.

    Reference: Duchi, Hazan and Singer, JMLR 2011.
    """
    xp = check.namespace(accum=accum)
    lr, eps = check.nonneg("lr", lr), check.nonneg("eps", eps)
    if bool(xp.any(accum < 0)):
        raise ValueError("accum must be >= 0 everywhere (it is a sum of squares)")
    return lr / (xp.sqrt(accum) + eps)


class AdagradState(NamedTuple):
    accum: Any
    """:math:`G_t`, the running sum of squared gradients."""


def _init_state(theta):
    return AdagradState(init_adagrad(theta))


SPECS = (
    RuleSpec(
        "adagrad", adagrad_update, _init_state, AdagradState, PER_COORDINATE,
        tour_lr=1.0,
    ),
)
