"""Shampoo: a Kronecker-factored full-matrix preconditioner for one weight matrix."""

from __future__ import annotations

import math
import numbers

from typing import Any, NamedTuple

from .. import validation as check
from .spec import MATRIX_RULES, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "init_shampoo",
    "matrix_inverse_root",
    "shampoo_update",
]


class ShampooState(NamedTuple):
    L: Any
    """:math:`L_t = \\epsilon I + \\sum_s G_s G_s^\\top`, the left statistic (``(n, n)``)."""
    R: Any
    """:math:`R_t = \\epsilon I + \\sum_s G_s^\\top G_s`, the right statistic (``(m, m)``)."""


def _square_symmetric(name, A, xp):
    check.ndim_is(name, A, 2)
    n, m = A.shape
    if n != m:
        raise ValueError(f"{name} must be square, got shape {(n, m)}")
    scale = max(1.0, float(xp.max(xp.abs(A)))) if n else 1.0
    asym = float(xp.max(xp.abs(A - A.T))) if n else 0.0
    tol = math.sqrt(float(xp.finfo(A.dtype).eps)) * scale
    if asym > tol:
        raise ValueError(
            f"{name} must be symmetric, but max |{name} - {name}.T| = {asym:.3g} "
            f"(tolerance {tol:.3g})"
        )


def matrix_inverse_root(A, p):
    r"""The inverse :math:`p`-th root :math:`A^{-1/p}` of a symmetric positive definite matrix.

    .. math::

        A = \sum_k a_k\, q_k q_k^\top \quad\Longrightarrow\quad
        A^{-1/p} = \sum_k a_k^{-1/p}\, q_k q_k^\top

    computed from the eigendecomposition (``eigh``: eigenvalues :math:`a_k`,
    orthonormal eigenvectors :math:`q_k`). Raises ``ValueError`` when
    ``A`` is not square, not symmetric (to a tolerance of
    :math:`\sqrt{\varepsilon_{\text{mach}}}` relative to its largest entry), or
    has an eigenvalue :math:`\le 0`: Shampoo avoids the last case by starting its
    statistics at :math:`\epsilon I`.

    Reference: Gupta, Koren and Singer, "Shampoo: Preconditioned Stochastic
    Tensor Optimization", ICML 2018.
    """
    xp = check.namespace(A=A)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p > 0:
        raise ValueError(f"p must be a number > 0 (Shampoo uses p=4), got {p!r}")
    _square_symmetric("A", A, xp)
    check.finite("A", A, xp)
    lam, Q = xp.linalg.eigh(A)
    lam_min = float(xp.min(lam))
    if lam_min <= 0.0:
        raise ValueError(
            f"A must be positive definite, but its smallest eigenvalue is {lam_min:.3g}; "
            "add eps * I to it (Shampoo starts L and R at eps * I)"
        )
    return (Q * lam ** (-1.0 / float(p))) @ Q.T


def init_shampoo(W, eps=1e-4):
    r"""Shampoo state for an ``(n, m)`` matrix: ``(L, R) = (eps * I_n, eps * I_m)``."""
    xp = check.namespace(W=W)
    check.ndim_is("W", W, 2, "Shampoo preconditions weight matrices")
    eps = check.positive("eps", eps)
    n, m = W.shape
    return ShampooState(eps * xp.eye(n, dtype=W.dtype), eps * xp.eye(m, dtype=W.dtype))


def shampoo_update(W, G, L, R, lr):
    r"""One step of Shampoo for a matrix (Gupta et al. 2018, Algorithm 1). Returns ``(W, L, R)``.

    .. math::

        L_t &= L_{t-1} + G_t G_t^\top, \qquad R_t = R_{t-1} + G_t^\top G_t \\
        W_t &= W_{t-1} - \eta\, L_t^{-1/4}\, G_t\, R_t^{-1/4}

    The caller starts with :math:`L_0 = \epsilon I_n`, :math:`R_0 = \epsilon I_m`
    (:func:`init_shampoo`); :math:`\epsilon` is the only damping. The pair
    :math:`L^{1/2} \otimes R^{1/2}` approximates full-matrix AdaGrad's statistic
    :math:`\sum_t \mathrm{vec}(G_t)\mathrm{vec}(G_t)^\top` itself (times the
    gradients' largest rank it bounds the statistic from above; for one rank-1
    gradient and :math:`\epsilon \to 0` the two are equal), so
    :math:`L^{1/4} \otimes R^{1/4}` stands for that statistic's
    square root, whose inverse is full-matrix AdaGrad's preconditioner, and the
    step :math:`L^{-1/4} G R^{-1/4}` applies that inverse. The pair is held in
    :math:`n^2 + m^2` numbers instead of :math:`(nm)^2`.

    Reference: Gupta, Koren and Singer, "Shampoo: Preconditioned Stochastic
    Tensor Optimization", ICML 2018, Algorithm 1.
    """
    xp = check.namespace(W=W, G=G, L=L, R=R)
    check.ndim_is("W", W, 2, "Shampoo preconditions weight matrices")
    check.same_shape(W=W, G=G)
    n, m = W.shape
    check.shape_is("L", L, (n, n))
    check.shape_is("R", R, (m, m))
    lr = check.nonneg("lr", lr)
    check.finite("G", G, xp)
    L = L + G @ G.T
    R = R + G.T @ G
    W = W - lr * (matrix_inverse_root(L, 4) @ G @ matrix_inverse_root(R, 4))
    return W, L, R


SPECS = (
    RuleSpec(
        "shampoo", shampoo_update, init_shampoo, ShampooState, MATRIX_RULES, tour_lr=0.5,
        matrix_only=True, init_hyperparams=("eps",),
    ),
)
