"""Muon: momentum, then an approximately orthogonalized update by a Newton-Schulz iteration."""

from __future__ import annotations

import math

from typing import Any, NamedTuple

from .. import validation as check
from .spec import MATRIX_RULES, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "NS_COEFFICIENTS",
    "init_muon",
    "muon_update",
    "newton_schulz",
]

# Coefficients of the quintic p(x) = a x + b x^3 + c x^5 (torch.optim.Muon, Jordan et al.).
# They maximize the slope at zero, so small singular values grow fast; the price is
# that after five steps singular values land in about [0.68, 1.13] for sigma / ||G||_F of at
# least 1e-2 (between about 2e-3 and 1e-2 they reach up to 1.20; below about 1.5e-3 they stay
# under 0.68), not at 1: the iteration oscillates, p(1) = 0.70.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def newton_schulz(G, steps=5, eps=1e-7):
    r"""Approximate the orthogonal polar factor :math:`U V^\top` of :math:`G = U \Sigma V^\top`.

    .. math::

        X_0 &= G / \max(\|G\|_F, \epsilon) \\
        A_k &= X_k X_k^\top, \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \qquad k = 0, \dots, \texttt{steps}-1

    with :math:`(a, b, c) = (3.4445, -4.7750, 2.0315)`. Each step maps every
    singular value :math:`\sigma` to :math:`a\sigma + b\sigma^3 + c\sigma^5` and
    leaves the singular vectors alone. Dividing by the Frobenius norm first puts
    every :math:`\sigma \le 1`; five steps bring each :math:`\sigma \ge 1.5\times10^{-3}\|G\|_F`
    into about :math:`[0.68, 1.2]` (it does not converge to 1, and smaller ones stay below 0.68);
    :math:`\epsilon` only guards a zero matrix. When :math:`G` has more rows than
    columns the iteration runs on :math:`G^\top` (so that :math:`A` is the
    smaller Gram matrix) and the result is transposed back. Computed in the
    input's precision (``torch.optim.Muon`` casts to bfloat16).

    Reference: Jordan et al., "Muon: An optimizer for hidden layers in neural
    networks", 2024; Bernstein and Newhouse, "Old Optimizer, New Norm", 2024.
    """
    xp = check.namespace(G=G)
    check.ndim_is("G", G, 2, "Newton-Schulz orthogonalizes a matrix")
    steps = check.integer("steps", steps, 0)
    eps = check.nonneg("eps", eps)
    check.finite("G", G, xp)
    a, b, c = NS_COEFFICIENTS
    transpose = G.shape[0] > G.shape[1]
    X = G.T if transpose else G
    X = X / max(float(xp.linalg.vector_norm(X)), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.T if transpose else X


def init_muon(W):
    """Muon state for a matrix: the momentum buffer, zeros."""
    xp = check.namespace(W=W)
    check.ndim_is("W", W, 2, "Muon updates weight matrices")
    return xp.zeros_like(W)


def muon_update(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
    r"""One Muon step on a weight matrix. Returns ``(W, buf)``.

    .. math::

        B_t &= \mu B_{t-1} + (1-\mu) G_t \\
        \tilde B_t &= \begin{cases} (1-\mu) G_t + \mu B_t & \text{Nesterov} \\ B_t & \text{otherwise} \end{cases} \\
        W_t &= W_{t-1}(1 - \eta\lambda) - \eta \sqrt{\max(1, n/m)}\;
               \mathrm{NS}_{\texttt{steps}}(\tilde B_t)

    for an :math:`n \times m` matrix, where NS is :func:`newton_schulz` (the
    code calls :math:`\tilde B_t` ``U``). The factor :math:`\sqrt{\max(1, n/m)}`
    is ``torch.optim.Muon``'s default ("original") learning-rate adjustment for
    tall matrices; weight decay is decoupled as in AdamW, with the unadjusted
    :math:`\eta`, as in torch. The default ``weight_decay=0.0`` differs from
    ``torch.optim.Muon``, whose default is ``weight_decay=0.1``: pass
    ``weight_decay=0.1`` to reproduce torch's defaults (the other defaults,
    ``lr=1e-3``, ``momentum=0.95``, Nesterov and 5 steps, are torch's).

    Reference: Jordan et al., "Muon: An optimizer for hidden layers in neural networks", 2024.
    """
    xp = check.namespace(W=W, G=G, buf=buf)
    check.ndim_is("W", W, 2, "Muon updates weight matrices")
    check.same_shape(W=W, G=G, buf=buf)
    lr = check.nonneg("lr", lr)
    momentum = check.unit_interval("momentum", momentum)
    weight_decay = check.nonneg("weight_decay", weight_decay)
    check.finite("G", G, xp)
    buf = momentum * buf + (1.0 - momentum) * G
    U = (1.0 - momentum) * G + momentum * buf if nesterov else buf
    rows, cols = W.shape
    scale = lr * math.sqrt(max(1.0, rows / cols))
    W = W * (1.0 - lr * weight_decay) - scale * newton_schulz(U, steps)
    return W, buf


class MuonState(NamedTuple):
    buf: Any
    """:math:`B_t`, the moving average of gradients (momentum buffer)."""


def _init_state(W):
    return MuonState(init_muon(W))


SPECS = (
    RuleSpec("muon", muon_update, _init_state, MuonState, MATRIX_RULES, tour_lr=0.2, matrix_only=True),
)
