"""Layer-wise trust ratios: LARS (SGD with momentum) and LAMB (Adam).

Each function acts on *one* layer: the norms in the trust ratio are the norms
of that layer's weight and update. :func:`adaptive_lr.optim.apply_to_layers`
runs either over a list of layers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from . import _fast
from .adam import AdamState, _check_adam, _moments
from .spec import LAYERWISE, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "init_lamb",
    "init_lars",
    "lamb_update",
    "lars_update",
    "trust_ratio",
]


def init_lars(w):
    """LARS state for one layer: the velocity, zeros."""
    xp = check.namespace(w=w)
    return xp.zeros_like(w)


def init_lamb(w):
    """LAMB state for one layer: ``(m, v)``, zeros."""
    xp = check.namespace(w=w)
    return AdamState(xp.zeros_like(w), xp.zeros_like(w))


def _norm(xp, a) -> float:
    return float(xp.linalg.vector_norm(a))


def trust_ratio(w, u):
    r"""The trust ratio :math:`\|w\| / \|u\|` of a layer, or ``1.0`` when either norm is zero.

    .. math::

        \phi(w, u) = \begin{cases} \|w\|_F / \|u\|_F & \|w\|_F > 0 \text{ and } \|u\|_F > 0 \\
        1 & \text{otherwise} \end{cases}

    Multiplying the update :math:`u` by :math:`\phi` makes the step's norm equal
    to the weight's norm, so :math:`\eta` becomes the *relative* change
    :math:`\|\Delta w\| / \|w\|` of the layer. The fallback to 1 (as in
    ``optax.scale_by_trust_ratio``) lets zero-initialized layers and zero
    updates pass through unscaled instead of dividing by zero.

    Reference: You et al., "Large Batch Optimization for Deep Learning:
    Training BERT in 76 minutes", ICLR 2020 (LAMB).
    """
    xp = check.namespace(w=w, u=u)
    check.same_shape(w=w, u=u)
    w_norm, u_norm = _norm(xp, w), _norm(xp, u)
    if w_norm == 0.0 or u_norm == 0.0:
        return 1.0
    return w_norm / u_norm


def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
    r"""One LARS step on one layer. Returns ``(w, velocity)``.

    .. math::

        u_t &= g_t + \lambda\, w_{t-1} \\
        \rho_t &= \begin{cases} \tau\, \|w_{t-1}\| / \|u_t\| & \text{both norms} > 0 \\
                                1 & \text{otherwise} \end{cases} \\
        b_t &= \mu\, b_{t-1} + \eta\, \rho_t\, u_t \\
        w_t &= w_{t-1} - b_t

    :math:`\tau` is the trust coefficient. The step's size is set by
    :math:`\eta\tau\|w\|`, whatever the scale of the gradient: that is what
    lets large-batch training use one learning rate for layers whose gradients
    differ by orders of magnitude. This is ``optax.lars`` with ``eps=0`` and
    ``nesterov=False`` (optax keeps :math:`-b_t` as its trace). The paper's
    Algorithm 1 divides by :math:`\|g_t\| + \lambda\|w_{t-1}\|` instead of
    :math:`\|u_t\| = \|g_t + \lambda w_{t-1}\|`; the two agree when
    :math:`\lambda = 0` or :math:`g_t` is a non-negative multiple of :math:`w_{t-1}`, and otherwise
    the paper's ratio is the smaller one (triangle inequality).

    Reference: You, Gitman and Ginsburg, "Large Batch Training of
    Convolutional Networks", arXiv:1708.03888, 2017.
    """
    xp = check.update_arrays(w=w, grad=grad, velocity=velocity)
    lr = check.nonneg("lr", lr)
    momentum = check.unit_interval("momentum", momentum)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    trust_coefficient = check.nonneg("trust_coefficient", trust_coefficient)
    u = grad + weight_decay * w
    w_norm, u_norm = _norm(xp, w), _norm(xp, u)
    ratio = trust_coefficient * w_norm / u_norm if w_norm > 0.0 and u_norm > 0.0 else 1.0
    velocity = momentum * velocity + (lr * ratio) * u
    return w - velocity, velocity


def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0, *,
                fast=False):
    r"""One LAMB step on one layer. Returns ``(w, m, v)``.

    .. math::

        m_t, v_t, \hat m_t, \hat v_t &\ \text{as in Adam} \\
        r_t &= \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} \\
        u_t &= r_t + \lambda\, w_{t-1} \\
        w_t &= w_{t-1} - \eta\, \phi(w_{t-1}, u_t)\, u_t

    with :math:`\phi` the :func:`trust_ratio`. :math:`\epsilon` is outside the
    square root, after bias correction. When both norms are positive,
    :math:`\|w_t - w_{t-1}\| = \eta\,\|w_{t-1}\|`: the learning rate *is* the
    relative step of every layer. This is ``optax.lamb``.

    Reference: You et al., "Large Batch Optimization for Deep Learning:
    Training BERT in 76 minutes", ICLR 2020, Algorithm 2.
    """
    xp, (t, lr, beta1, beta2, eps) = _check_adam({"w": w}, grad, m, v, t, lr, beta1, beta2, eps)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    if fast:  # the NumPy fast path, same up to rounding in the norms (see _fast)
        _fast.require("lamb_update", w=w, grad=grad, m=m, v=v)
        return _fast.lamb(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)
    m, v = _moments(grad, m, v, beta1, beta2)
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    u = m_hat / (xp.sqrt(v_hat) + eps) + weight_decay * w
    w = w - (lr * trust_ratio(w, u)) * u
    return w, m, v


class LarsState(NamedTuple):
    velocity: Any
    """:math:`b_t`, the momentum of the trust-ratio-scaled steps (it already includes :math:`\\eta`)."""


def _init_lars_state(w):
    return LarsState(init_lars(w))


_LAYERWISE = LAYERWISE
SPECS = (
    RuleSpec("lamb", lamb_update, init_lamb, AdamState, _LAYERWISE, tour_lr=0.05),
    RuleSpec("lars", lars_update, _init_lars_state, LarsState, _LAYERWISE, tour_lr=20.0),
)
