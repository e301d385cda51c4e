"""Exponential moving averages: Adam's first moment and the weights it puts on past gradients."""

from __future__ import annotations

import numpy as np

from .. import validation as check


def ema_update(m, grad, beta):
    r"""One step of an exponential moving average. Returns the new ``m``.

    .. math:: m_t = \beta\, m_{t-1} + (1 - \beta)\, g_t

    Started at :math:`m_0 = 0`, the average is biased towards zero by the
    factor :math:`1 - \beta^t` (see :func:`ema_weights`).

    Reference: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1.
    """
    check.namespace(m=m, grad=grad)
    check.same_shape(m=m, grad=grad)
    beta = check.unit_interval("beta", beta)
    return beta * m + (1.0 - beta) * grad


def ema_weights(beta, t):
    r"""The weight of each past gradient in :math:`m_t`, when :math:`m_0 = 0`.

    Unrolling :math:`m_t = \beta m_{t-1} + (1-\beta) g_t` gives

    .. math::

        m_t = \sum_{i=1}^{t} (1-\beta)\,\beta^{t-i}\, g_i, \qquad
        \sum_{i=1}^{t} (1-\beta)\,\beta^{t-i} = 1 - \beta^t .

    Returns a float64 NumPy array ``w`` of shape ``(t,)`` with
    ``w[i-1] = (1-beta) * beta**(t-i)``: oldest gradient first, newest last.
    Dividing by their sum :math:`1-\beta^t` is Adam's bias correction.

    Reference: Kingma and Ba, ICLR 2015, Section 3.
    """
    beta = check.unit_interval("beta", beta)
    t = check.step_index(t)
    exponents = np.arange(t - 1, -1, -1, dtype=np.float64)  # t-i for i = 1..t
    return (1.0 - beta) * beta**exponents
