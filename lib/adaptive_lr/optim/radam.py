"""RAdam: Adam whose adaptive step is switched on, and rectified, only once the variance of v is tractable."""

from __future__ import annotations

import math

from .. import validation as check
from .adam import AdamState, _check_adam, _moments, init_adam
from .spec import ADAM_VARIANTS, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "radam_update",
]


def radam_update(
    theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0
):
    r"""One RAdam step (coupled weight decay). Returns ``(theta, m, v)``.

    .. math::

        \tilde g_t &= g_t + \lambda\, \theta_{t-1} \\
        m_t, v_t &\ \text{as in Adam, from } \tilde g_t, \qquad \hat m_t = \frac{m_t}{1-\beta_1^t} \\
        N_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
        N_t = N_\infty - \frac{2 t\, \beta_2^t}{1-\beta_2^t} \\
        \theta_t &= \begin{cases}
            \theta_{t-1} - \eta\, \mathrm{rect}_t\, \hat m_t\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}
                & N_t > 5 \\[1ex]
            \theta_{t-1} - \eta\, \hat m_t & \text{otherwise (SGD with momentum)}
        \end{cases} \\
        \mathrm{rect}_t &= \sqrt{\frac{(N_t-4)(N_t-2)\,N_\infty}{(N_\infty-4)(N_\infty-2)\,N_t}}

    :math:`N_t` is the length of the simple moving average that the
    bias-corrected average :math:`\hat v_t` approximates. While it is short
    (:math:`N_t \le 5`, the first 5 steps at :math:`\beta_2 = 0.999`) the
    variance of :math:`1/\sqrt{\hat v_t}` is infinite (:math:`N_t \le 2`) or outside
    the approximation the rectifier is derived from (it needs :math:`N_t > 4`), and
    RAdam takes plain momentum steps; afterwards :math:`\mathrm{rect}_t \to 1` rescales the adaptive step so that its
    variance matches the one reached at :math:`t \to \infty`. That is a
    built-in learning-rate warm-up. The threshold 5 is ``torch.optim.RAdam``'s;
    the paper's Algorithm 2 switches at :math:`N_t > 4`, and the two differ
    at one step for :math:`\beta_2 = 0.999` (:math:`N_5 = 4.996`: adaptive in
    the paper, plain momentum here). Epsilon is added *outside* the square root
    and *before* the bias correction of :math:`v` (to :math:`\sqrt{v_t}`, not to
    :math:`\sqrt{\hat v_t}`), as ``torch.optim.RAdam`` does; the weight decay is
    coupled L2 (``decoupled_weight_decay=False``).

    Reference: Liu et al., "On the Variance of the Adaptive Learning Rate and
    Beyond", ICLR 2020, Algorithm 2.
    """
    xp, (t, lr, beta1, beta2, eps) = _check_adam({"theta": theta}, grad, m, v, t, lr, beta1, beta2, eps)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    g = grad + weight_decay * theta if weight_decay else grad
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat = m / (1.0 - beta1**t)
    bc2 = 1.0 - beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / bc2
    if rho_t > 5.0:
        r = math.sqrt(
            (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
        )
        theta = theta - m_hat * lr * (math.sqrt(bc2) / (xp.sqrt(v) + eps)) * r
    else:
        theta = theta - m_hat * lr
    return theta, m, v


SPECS = (RuleSpec("radam", radam_update, init_adam, AdamState, ADAM_VARIANTS, tour_lr=0.3),)
