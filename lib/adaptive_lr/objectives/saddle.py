"""A saddle point between two minima: where a tiny gradient hides the way down."""

from __future__ import annotations

import numpy as np

from .base import Objective, as_float_array, check_positive


class Saddle(Objective):
    r"""The double well :math:`f(x, y) = \tfrac{h}{2} x^2 - \tfrac12 y^2 + \tfrac14 y^4`.

    .. math::

        \nabla f(x, y) = \begin{pmatrix} h\, x \\ y^3 - y \end{pmatrix}, \qquad
        \nabla^2 f(0, 0) = \mathrm{diag}(h, -1)

    The origin is a saddle point (:math:`f = 0`); the two minima are
    :math:`(0, \pm 1)` with :math:`f^\star = -\tfrac14`. The start, by default
    :math:`(-2.5, 10^{-3})`, lies almost on the ridge :math:`y = 0`: the
    gradient pulls :math:`x` to 0 at the rate :math:`h` while the escape
    direction's gradient :math:`y^3 - y \approx -y` is about :math:`10^{-3}`.
    Gradient descent escapes only as :math:`(1 + \eta)^t y_0` grows; a method
    that divides by a running gradient scale (RMSProp, Adam) takes steps of
    about :math:`\eta` in :math:`y` from the first step. ``minimizer`` is the
    minimum on the start's side of the ridge, :math:`(0, \mathrm{sign}\, y_0)`.
    """

    def __init__(self, curvature=1.0, theta0=(-2.5, 1e-3), name="saddle"):
        self.curvature = check_positive("curvature", curvature)
        self.name = str(name)
        self._shapes = ((2,),)
        self._theta0 = as_float_array("theta0", theta0, shape=(2,))
        side = 1.0 if self._theta0[1] >= 0 else -1.0
        self._minimizer = np.array([0.0, side])
        self.plot_bounds = ((-3.0, 3.0), (-1.6, 1.6))

    def _value(self, theta):
        x, y = theta
        return 0.5 * self.curvature * x * x - 0.5 * y * y + 0.25 * y**4

    def _grad(self, theta, t):
        x, y = theta
        return np.array([self.curvature * x, y**3 - y])

    def _values(self, points):
        x, y = points[:, 0], points[:, 1]
        return 0.5 * self.curvature * x * x - 0.5 * y * y + 0.25 * y**4
