"""Adam and the rules built on its two moments: AMSGrad, Adam with coupled L2, AdamW."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from . import _fast
from .spec import ADAM_FAMILY, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "AdamState",
    "AmsgradState",
    "adam_l2_update",
    "adam_update",
    "adamw_update",
    "amsgrad_update",
    "init_adam",
    "init_amsgrad",
]


class AdamState(NamedTuple):
    """Adam's state (also Adam + L2's, AdamW's and LAMB's)."""

    m: Any
    """:math:`m_t`, the moving average of gradients (first moment, not bias-corrected)."""
    v: Any
    """:math:`v_t`, the moving average of squared gradients (second moment, not bias-corrected)."""


class AmsgradState(NamedTuple):
    m: Any
    """:math:`m_t`, as in Adam."""
    v: Any
    """:math:`v_t`, as in Adam."""
    vmax: Any
    """:math:`v^{\\max}_t`, the running maximum of the uncorrected :math:`v_t`."""


def init_adam(theta):
    """Adam state for ``theta``: ``(m, v)``, both zeros."""
    xp = check.namespace(theta=theta)
    return AdamState(xp.zeros_like(theta), xp.zeros_like(theta))


def init_amsgrad(theta):
    """AMSGrad state for ``theta``: ``(m, v, vmax)``, all zeros."""
    xp = check.namespace(theta=theta)
    return AmsgradState(xp.zeros_like(theta), xp.zeros_like(theta), xp.zeros_like(theta))


def _check_adam(param: dict, grad, m, v, t, lr, beta1, beta2, eps, **extra_arrays):
    """Check the arguments every Adam-family rule shares; ``param`` maps the parameter's name to it."""
    arrays = {**param, "grad": grad, "m": m, "v": v, **extra_arrays}
    xp = check.update_arrays(**arrays)
    hyper = (
        check.step_index(t),
        check.nonneg("lr", lr),
        check.unit_interval("beta1", beta1),
        check.unit_interval("beta2", beta2),
        check.nonneg("eps", eps),
    )
    return xp, hyper


def _moments(grad, m, v, beta1, beta2):
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * (grad * grad)
    return m, v


def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, *, fast=False):
    r"""One Adam step. Returns ``(theta, m, v)``.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t \odot g_t \\
        \hat m_t &= \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    :math:`\epsilon` is added *outside* the square root and *after* bias
    correction of :math:`v`, as in ``torch.optim.Adam``. ``t`` is the 1-based
    index of this step: the first call uses ``t=1``, where
    :math:`\hat m_1 = g_1` and the step is :math:`\approx -\eta\,\mathrm{sign}(g_1)`.

    ``fast=True`` runs the NumPy fast path (:mod:`._fast`: the same operations
    in the same order, bit for bit, in less time and memory) and needs plain
    C-contiguous float NumPy arrays; the default is this readable form, the
    definition the exercises are graded against.

    Reference: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1.
    """
    xp, (t, lr, beta1, beta2, eps) = _check_adam({"theta": theta}, grad, m, v, t, lr, beta1, beta2, eps)
    if fast:
        _fast.require("adam_update", theta=theta, grad=grad, m=m, v=v)
        return _fast.adam(theta, grad, m, v, t, lr, beta1, beta2, eps)
    m, v = _moments(grad, m, v, beta1, beta2)
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    theta = theta - lr * m_hat / (xp.sqrt(v_hat) + eps)
    return theta, m, v


def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    r"""One AMSGrad step. Returns ``(theta, m, v, vmax)``.

    .. math::

        m_t, v_t &\ \text{as in Adam} \\
        v^{\max}_t &= \max\left(v^{\max}_{t-1},\, v_t\right) \quad \text{(on the uncorrected } v_t\text{)} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t / (1-\beta_1^t)}{\sqrt{v^{\max}_t / (1-\beta_2^t)} + \epsilon}

    The running maximum is taken over the *uncorrected* second moment and then
    bias-corrected, as ``torch.optim.Adam(amsgrad=True)`` does; epsilon is
    added outside the square root, as in Adam. Because
    :math:`v^{\max}` never decreases, the uncorrected effective rate
    :math:`\eta/\sqrt{v^{\max}}` never grows (the bias-corrected one can
    still grow while :math:`1/(1-\beta_2^t)` fades, by at most
    :math:`1/\sqrt{1-\beta_2^{t_0}}` after the step :math:`t_0` that set the
    maximum), which repairs Adam's non-convergence on Reddi et al.'s online problem.

    Reference: Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
    """
    xp, (t, lr, beta1, beta2, eps) = _check_adam(
        {"theta": theta}, grad, m, v, t, lr, beta1, beta2, eps, vmax=vmax
    )
    m, v = _moments(grad, m, v, beta1, beta2)
    vmax = xp.maximum(vmax, v)
    m_hat = m / (1.0 - beta1**t)
    vmax_hat = vmax / (1.0 - beta2**t)
    theta = theta - lr * m_hat / (xp.sqrt(vmax_hat) + eps)
    return theta, m, v, vmax


def adam_l2_update(
    theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2
):
    r"""One step of Adam with *coupled* L2 regularization. Returns ``(theta, m, v)``.

    The penalty :math:`\tfrac{\lambda}{2}\|\theta\|^2` is added to the loss, so its
    gradient enters the moments and is rescaled by the preconditioner:

    .. math::

        \tilde g_t = g_t + \lambda\, \theta_{t-1}, \qquad
        (\theta_t, m_t, v_t) = \mathrm{Adam}(\theta_{t-1}, \tilde g_t, m_{t-1}, v_{t-1}, t)

    Coordinates with large :math:`v` are decayed *less*: the decay is not the
    uniform shrinkage that weight decay means for SGD. Epsilon sits outside the
    square root, as in Adam. This is ``torch.optim.Adam(weight_decay=λ)``.

    Reference: Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """
    check.namespace(theta=theta, grad=grad)
    check.same_shape(theta=theta, grad=grad)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    return adam_update(theta, grad + weight_decay * theta, m, v, t, lr, beta1, beta2, eps)


def adamw_update(
    theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, *, fast=False
):
    r"""One AdamW step (*decoupled* weight decay). Returns ``(theta, m, v)``.

    .. math::

        m_t, v_t, \hat m_t, \hat v_t &\ \text{as in Adam, from } g_t \text{ alone} \\
        \theta_t &= \theta_{t-1}\,(1 - \eta\lambda) - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    The decay multiplies the parameters directly and never enters the moments,
    so every coordinate shrinks by the same factor :math:`1-\eta\lambda`
    whatever its gradient history. Epsilon sits outside the square root, as in
    Adam. Note that :math:`\lambda` is scaled by the learning rate, as in ``torch.optim.AdamW`` and ``optax.adamw``.

    Reference: Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, Algorithm 2.
    """
    xp, (t, lr, beta1, beta2, eps) = _check_adam({"theta": theta}, grad, m, v, t, lr, beta1, beta2, eps)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    if fast:  # the NumPy fast path, bit for bit (see adam_update)
        _fast.require("adamw_update", theta=theta, grad=grad, m=m, v=v)
        return _fast.adam(theta, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)
    m, v = _moments(grad, m, v, beta1, beta2)
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    theta = theta * (1.0 - lr * weight_decay) - lr * m_hat / (xp.sqrt(v_hat) + eps)
    return theta, m, v


_ADAM = ADAM_FAMILY
SPECS = (
    RuleSpec("adam", adam_update, init_adam, AdamState, _ADAM, tour_lr=0.3),
    RuleSpec("amsgrad", amsgrad_update, init_amsgrad, AmsgradState, _ADAM, tour_lr=0.3),
    RuleSpec("adam_l2", adam_l2_update, init_adam, AdamState, _ADAM, tour_lr=0.3),
    RuleSpec("adamw", adamw_update, init_adam, AdamState, _ADAM, tour_lr=0.3),
)
