"""Rosenbrock's banana valley: curvature that changes along the path."""

from __future__ import annotations

import numpy as np

from .base import Objective, as_float_array, check_positive, check_real


class Rosenbrock(Objective):
    r"""The 2-D Rosenbrock function :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`.

    .. math::

        \nabla f(x, y) = \begin{pmatrix} -2(a - x) - 4 b x (y - x^2) \\ 2 b (y - x^2) \end{pmatrix}

    The minimizer is :math:`(a, a^2)` (``(1, 1)`` for the default
    :math:`a = 1, b = 100`), at the end of a curved valley whose floor is
    nearly flat while its walls are steep: a fixed step size that is stable on
    the walls crawls along the floor. The start is the classic ``(-1.2, 1)``.
    """

    def __init__(self, a=1.0, b=100.0, theta0=(-1.2, 1.0), name="rosenbrock"):
        self.a = check_real("a", a)
        self.b = check_positive("b", b)
        self.name = str(name)
        self._shapes = ((2,),)
        self._theta0 = as_float_array("theta0", theta0, shape=(2,))
        self._minimizer = np.array([self.a, self.a**2])
        self.plot_bounds = ((self.a - 3.0, self.a + 1.0), (self.a**2 - 2.0, self.a**2 + 2.0))

    def _value(self, theta):
        x, y = theta
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def _grad(self, theta, t):
        x, y = theta
        r = y - x * x
        return np.array([-2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r])

    def _values(self, points):
        x, y = points[:, 0], points[:, 1]
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2
