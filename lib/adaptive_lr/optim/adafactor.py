"""Adafactor: a factored second moment whose memory grows as n + m, not n * m."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .. import validation as check
from . import _fast
from .spec import MATRIX_RULES, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "adafactor_state_size",
    "adafactor_update",
    "init_adafactor",
]


class AdafactorState(NamedTuple):
    R: Any
    """:math:`R_t`, the moving average of the row means of :math:`G^2` (shape ``(n,)``)."""
    C: Any
    """:math:`C_t`, the moving average of the column means of :math:`G^2` (shape ``(m,)``)."""


def init_adafactor(X):
    """Adafactor state for an ``(n, m)`` matrix: ``(R, C)``, zeros of shapes ``(n,)`` and ``(m,)``."""
    xp = check.namespace(X=X)
    check.ndim_is("X", X, 2, "Adafactor factors the second moment of a matrix")
    n, m = X.shape
    return AdafactorState(xp.zeros((n,), dtype=X.dtype), xp.zeros((m,), dtype=X.dtype))


def _rms(xp, a) -> float:
    return math.sqrt(float(xp.mean(a * a)))


def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0, *, fast=False):
    r"""One Adafactor step on a matrix (no momentum, relative step). Returns ``(X, R, C)``.

    .. math::

        \hat\beta_{2,t} &= 1 - t^{c}, \quad c = \texttt{beta2\_decay} \\
        R_t &= \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t})\, \mathrm{mean}_j (G_t^2)_{ij} \\
        C_t &= \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t})\, \mathrm{mean}_i (G_t^2)_{ij} \\
        \hat V_t &= \frac{R_t C_t^\top}{\max(\mathrm{mean}(R_t),\, \epsilon_1)} \\
        U_t &= \frac{G_t}{\sqrt{\max(\hat V_t,\, V_{\text{floor}})}}, \quad
            V_{\text{floor}} = \max(\epsilon_1^2,\ \text{smallest normal of the dtype}) \\
        \alpha_t &= \max(\epsilon_2, \mathrm{RMS}(X_{t-1}))\, \min(\eta, 1/\sqrt{t}) \\
        X_t &= X_{t-1} - \alpha_t\, \frac{U_t}{\max(1, \mathrm{RMS}(U_t)/d)}

    with :math:`\mathrm{RMS}(A) = \sqrt{\mathrm{mean}(A^2)}`. The two divisions
    have two different floors: :math:`\epsilon_1` floors :math:`\mathrm{mean}(R_t)`
    in :math:`\hat V_t`'s denominator, and :math:`\hat V_t` itself is floored,
    elementwise and *inside* the square root, at :math:`V_{\text{floor}}`, which is
    :math:`\epsilon_1^2` unless that underflows in the array's dtype (see
    below); :math:`\epsilon_2` is a floor on the parameter scale so
    that zero-initialized weights still move. The division by
    :math:`\max(1, \mathrm{RMS}(U)/d)` is update clipping. At ``t=1``,
    :math:`1-\hat\beta_{2,1} = 1` so the state is the first gradient's row and
    column means. :math:`\hat V_t` is the rank-1 matrix closest, in the sense of
    Shazeer and Stern, to the moving average :math:`V_t` of :math:`G_s^2` (with the
    same decays) whose row and column means :math:`R_t, C_t` are; it is exact when
    :math:`V_t` has rank one. At ``t=1`` that is when :math:`G_1^2` has rank one;
    later a rank-one :math:`G_s^2` at every step is not enough (two rank-one
    terms :math:`a b^\top` and :math:`a' b'^\top` with :math:`a \nparallel a'` and
    :math:`b \nparallel b'` add up to rank two).

    Conventions of ``torch.optim.Adafactor`` (``eps=(eps1, eps2)``,
    ``weight_decay=0``); the default :math:`\epsilon_1 = 10^{-30}` is the
    paper's (torch's ``eps1=None`` means the dtype's machine epsilon instead).
    When :math:`\epsilon_1^2` underflows in the array's
    dtype (float32 with :math:`\epsilon_1 = 10^{-30}`: :math:`10^{-60}` is below
    float32's smallest normal :math:`1.18\times10^{-38}`), :math:`V_{\text{floor}}` is that
    smallest normal number, so that a zero row of :math:`G` gives
    a zero update instead of 0/0 (``torch.optim.Adafactor`` with
    ``eps=(1e-30, 1e-3)`` in float32 returns NaN for that row).

    Reference: Shazeer and Stern, "Adafactor: Adaptive Learning Rates with
    Sublinear Memory Cost", ICML 2018, Algorithms 4 and 5.
    """
    xp = check.namespace(X=X, G=G, R=R, C=C)
    check.ndim_is("X", X, 2, "Adafactor factors the second moment of a matrix")
    check.same_shape(X=X, G=G)
    n, m = X.shape
    check.shape_is("R", R, (n,))
    check.shape_is("C", C, (m,))
    t = check.step_index(t)
    lr = check.nonneg("lr", lr)
    if isinstance(beta2_decay, bool) or not -1.0 <= float(beta2_decay) <= 0.0:
        raise ValueError(f"beta2_decay must be in [-1, 0], got {beta2_decay}")
    eps1, eps2 = check.nonneg("eps1", eps1), check.nonneg("eps2", eps2)
    d = check.positive("d", d)
    check.finite("G", G, xp)
    if fast:  # the NumPy fast path, same up to rounding in the RMS sums (see _fast)
        _fast.require("adafactor_update", X=X, G=G, R=R, C=C)
        return _fast.adafactor(X, G, R, C, t, lr, float(beta2_decay), eps1, eps2, d)

    w = float(t) ** float(beta2_decay)  # 1 - beta2_hat_t
    G2 = G * G
    R = (1.0 - w) * R + w * xp.mean(G2, axis=1)
    C = (1.0 - w) * C + w * xp.mean(G2, axis=0)
    V_hat = xp.reshape(R, (n, 1)) * xp.reshape(C, (1, m)) / max(float(xp.mean(R)), eps1)
    floor = max(eps1 * eps1, xp.finfo(X.dtype).smallest_normal)
    U = G / xp.sqrt(xp.clip(V_hat, min=floor))
    alpha = max(eps2, _rms(xp, X)) * min(lr, 1.0 / math.sqrt(t))
    X = X - (alpha / max(1.0, _rms(xp, U) / d)) * U
    return X, R, C


def adafactor_state_size(n: int, m: int) -> dict:
    """Number of optimizer-state entries for an ``(n, m)`` weight matrix.

    Adafactor keeps a row and a column statistic (``n + m``); Adam keeps two
    full moments (``2 n m``). For a 4096 x 11008 MLP matrix that is 15,104
    against 90,177,536 numbers.
    """
    n, m = check.positive_int("n", n), check.positive_int("m", m)
    return {"adafactor": n + m, "adam": 2 * n * m}


SPECS = (
    RuleSpec(
        "adafactor", adafactor_update, init_adafactor, AdafactorState, MATRIX_RULES,
        tour_lr=0.3, matrix_only=True,
    ),
)
