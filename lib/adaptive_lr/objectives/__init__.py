"""Objectives: problems with a value and a gradient, for the optimizers to minimize.

Every objective has the same interface, so that :func:`adaptive_lr.run.run`
and the notebooks can drive any of them:

=====================================  ==================================================
``obj.init_params(seed=0)``            the start: an array, or a list of arrays
                                       (``TwoLayerNet``); a fixed classic start where
                                       the problem has one (2-D quadratic, Rosenbrock,
                                       Reddi), else a draw from ``seed``
``obj.value(params, t=1) -> float``    the loss being minimized: full batch, noise free
``obj.grad(params, t=1)``              the gradient the optimizer sees at step ``t``,
                                       in the structure of ``params``
``obj.value_and_grad(params, t=1)``    ``(value, grad)``, sharing work
``obj.full_grad(params)``              the exact gradient of ``value``
``obj.minimizer``                      a minimizer (a copy), or ``None`` when unknown
``obj.project(params)``                onto the feasible set; the identity except
                                       for ``ReddiOnline`` (clips to [-1, 1])
``obj.name``                           a short label for legends and tables
``obj.stochastic``                     True when ``grad`` is noisy, a minibatch
                                       estimate or an online gradient
``obj.loss_grid(xlim, ylim, num)``     ``(X, Y, Z)`` for contour plots (2-D only)
=====================================  ==================================================

``t`` is the 1-based step. Deterministic objectives ignore it; stochastic ones
draw their noise or minibatch at step ``t`` from a generator seeded by
``(seed, t)`` (``seed`` given to the constructor), so that runs are
reproducible and every optimizer sees the same sequence of gradients. For
noisy and minibatch objectives ``grad`` is an unbiased estimate of
``full_grad``; for ``ReddiOnline`` it is the online loss :math:`f_t`'s gradient
and ``value`` the average loss. Parameters are float64 NumPy arrays; the
objectives never modify their arguments.

================================  ===============================================
``Quadratic``                     :math:`\\tfrac12(\\theta-\\theta^*)^\\top A(\\theta-\\theta^*)`;
                                  ``Quadratic.two_d``, ``.random``, ``.diagonal``
``LogisticRegression``            binary log-loss; ``.synthetic``, ``.breast_cancer``
``SoftmaxRegression``             cross-entropy, matrix parameter; ``.synthetic``, ``.digits``
``Rosenbrock``                    the banana valley, minimizer (1, 1)
``ReddiOnline``                   where Adam converges to the worst point
``Saddle``                        a saddle between two minima, start on the ridge
``TwoLayerNet``                   tanh MLP, params ``[W1, b1, W2, b2]``; ``.synthetic``
================================  ===============================================

Helpers: :func:`finite_difference_grad` (check a gradient), :func:`loss_grid`,
and :mod:`~adaptive_lr.objectives.datasets` (seeded synthetic data, the
breast-cancer and digits sets that ship with scikit-learn).
"""

from . import datasets
from .base import Objective, finite_difference_grad, loss_grid
from .logistic import LogisticRegression, SoftmaxRegression, sigmoid
from .quadratic import Quadratic, random_rotation, rotation_2d
from .reddi import ReddiOnline
from .rosenbrock import Rosenbrock
from .saddle import Saddle
from .two_layer import TwoLayerNet

__all__ = [
    "LogisticRegression",
    "Objective",
    "Quadratic",
    "ReddiOnline",
    "Rosenbrock",
    "Saddle",
    "SoftmaxRegression",
    "TwoLayerNet",
    "datasets",
    "finite_difference_grad",
    "loss_grid",
    "random_rotation",
    "rotation_2d",
    "sigmoid",
]
