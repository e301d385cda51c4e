"""Adadelta: a step whose units are those of the parameters, from two moving averages."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from .spec import PER_COORDINATE, RuleSpec, zeros_init

# What adaptive_lr.optim exports from this module.
__all__ = [
    "AdadeltaState",
    "adadelta_update",
    "init_adadelta",
]


class AdadeltaState(NamedTuple):
    square_avg: Any
    """:math:`E[g^2]_t`, the moving average of squared gradients."""
    acc_delta: Any
    """:math:`E[\\Delta\\theta^2]_t`, the moving average of squared (unscaled) steps."""


init_adadelta = zeros_init(AdadeltaState, "Adadelta")


def adadelta_update(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    r"""One Adadelta step. Returns ``(theta, square_avg, acc_delta)``.

    .. math::

        E[g^2]_t &= \beta_2\, E[g^2]_{t-1} + (1-\beta_2)\, g_t^2 \\
        \Delta_t &= \frac{\sqrt{E[\Delta\theta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\; g_t \\
        E[\Delta\theta^2]_t &= \beta_2\, E[\Delta\theta^2]_{t-1} + (1-\beta_2)\, \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \Delta_t

    with :math:`\beta_2` the argument ``rho`` (Zeiler's and torch's :math:`\rho`;
    the course keeps :math:`\rho_t` for LARS's local rate).

    The ratio of two root mean squares gives the step the units of
    :math:`\theta` (Zeiler's "correct units" argument), so the paper has no
    learning rate (:math:`\eta = 1`, torch's default). Epsilon sits *inside*
    both square roots; in the numerator it is what starts the iteration, since
    :math:`E[\Delta\theta^2]_0 = 0`: the first steps have size about
    :math:`\sqrt{\epsilon / (1-\beta_2)}` (:math:`3.2\times10^{-3}` for the defaults)
    whatever the gradient's scale, as long as :math:`(1-\beta_2) g^2 \gg \epsilon`
    (:math:`|g| \gg 3.2\times10^{-3}`); a smaller gradient steps by about :math:`|g|`
    (:math:`9.5\times10^{-4}` for :math:`|g| = 10^{-3}`). This is
    ``torch.optim.Adadelta`` (no weight decay); ``acc_delta`` averages
    :math:`\Delta_t` before the learning rate scales it.

    Reference: Zeiler, "ADADELTA: An Adaptive Learning Rate Method",
    arXiv:1212.5701, 2012, Algorithm 1.
    """
    xp = check.update_arrays(theta=theta, grad=grad, square_avg=square_avg, acc_delta=acc_delta)
    lr = check.nonneg("lr", lr)
    rho = check.unit_interval("rho", rho)
    eps = check.nonneg("eps", eps)
    square_avg = rho * square_avg + (1.0 - rho) * (grad * grad)
    delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
    acc_delta = rho * acc_delta + (1.0 - rho) * (delta * delta)
    return theta - lr * delta, square_avg, acc_delta


SPECS = (
    RuleSpec("adadelta", adadelta_update, init_adadelta, AdadeltaState, PER_COORDINATE, tour_lr=30.0),
)
