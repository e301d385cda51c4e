"""The online problem on which Adam fails to converge (Reddi, Kale and Kumar, 2018)."""

from __future__ import annotations

import numpy as np

from .base import Objective, as_float_array, check_real, check_step


class ReddiOnline(Objective):
    r"""Reddi et al.'s 1-D online convex problem on the feasible set :math:`[-1, 1]`.

    .. math::

        f_t(x) = \begin{cases} C\,x & t \bmod 3 = 1 \\ -x & \text{otherwise} \end{cases},
        \qquad C > 2

    Over one period of three steps the losses sum to :math:`(C-2)x`, so the
    best fixed point is :math:`x^* = -1`. Adam with :math:`\beta_1 = 0` and
    :math:`\beta_2 = 1/(1+C^2)` (``paper_betas``) forgets the rare large
    gradient :math:`C` within a step: it is divided by
    :math:`\sqrt{\hat v} \approx C` while each :math:`-1` is divided by
    :math:`\sqrt{\hat v} \approx 1`, so the two small steps towards :math:`+1`
    outweigh the large one and the iterate settles at :math:`+1`, the *worst*
    point. AMSGrad keeps :math:`\max \hat v \approx C^2`, every step is divided
    by about :math:`C`, the large gradient wins, and it reaches :math:`-1`.

    Interface: ``grad(x, t)`` is :math:`f_t'(x)` (``[C]`` or ``[-1]``), the
    online gradient at step ``t``; ``value(x)`` is the average loss over a
    period, :math:`F(x) = \frac{C-2}{3}x`, which the online losses estimate and
    whose minimizer on :math:`[-1, 1]` is ``minimizer = [-1]``;
    :meth:`online_value` is :math:`f_t(x)` itself. ``project`` clips onto
    :math:`[-1, 1]`; the runner applies it after every step. Parameters are
    arrays of shape ``(1,)``; the start ``x0`` defaults to 0.

    Reference: Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond",
    ICLR 2018, Section 3 (Theorem 1).
    """

    stochastic = True

    def __init__(self, C=3.0, x0=0.0, name=None):
        C = check_real("C", C)
        if not C > 2.0:
            raise ValueError(f"C must be > 2 (for C <= 2 the optimum is not -1), got {C}")
        self.C = C
        x0 = check_real("x0", x0)
        if not -1.0 <= x0 <= 1.0:
            raise ValueError(f"x0 must lie in the feasible set [-1, 1], got {x0}")
        self.name = f"reddi(C={C:g})" if name is None else str(name)
        self._shapes = ((1,),)
        self._theta0 = np.array([x0])
        self._minimizer = np.array([-1.0])

    @property
    def paper_betas(self) -> dict:
        r"""The paper's Adam hyperparameters: ``{"beta1": 0.0, "beta2": 1/(1+C^2)}``."""
        return {"beta1": 0.0, "beta2": 1.0 / (1.0 + self.C**2)}

    def _slope(self, t):
        return self.C if t % 3 == 1 else -1.0

    def _value(self, x):
        return (self.C - 2.0) / 3.0 * x[0]

    def _grad(self, x, t):
        return np.array([self._slope(t)])

    def _full_grad(self, x):
        return np.array([(self.C - 2.0) / 3.0])

    def online_value(self, x, t: int) -> float:
        r"""The online loss :math:`f_t(x)` of step ``t``."""
        x = self._check_params(x)
        return float(self._slope(check_step(t)) * x[0])

    def project(self, params):
        """Clip onto the feasible set :math:`[-1, 1]`."""
        return np.clip(params, -1.0, 1.0)

    def regret(self, xs) -> np.ndarray:
        r"""The cumulative regret :math:`R_T = \sum_{t=1}^T f_t(x_t) - \min_{x \in [-1,1]} \sum_{t=1}^T f_t(x)`.

        ``xs[t-1]`` is the point played at step ``t`` (for a trajectory,
        ``traj.params[:-1, 0]``). Returns :math:`R_1, \dots, R_T`. An algorithm
        converges in the paper's sense when :math:`R_T / T \to 0`; for Adam on
        this problem :math:`R_T / T` stays bounded away from 0.
        """
        xs = as_float_array("xs", xs).reshape(-1)
        slopes = np.where(np.arange(1, xs.size + 1) % 3 == 1, self.C, -1.0)
        cum_slope = np.cumsum(slopes)
        best = -np.abs(cum_slope)  # a linear function is minimized at an end of [-1, 1]
        return np.cumsum(slopes * xs) - best
