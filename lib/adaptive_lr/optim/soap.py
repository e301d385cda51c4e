"""SOAP preview: Adam run in the eigenbasis of Shampoo's two preconditioners."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import validation as check
from .spec import MATRIX_RULES, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "SoapState",
    "init_soap",
    "soap_update",
]


class SoapState(NamedTuple):
    """SOAP's state for one ``(n, m)`` matrix.

    ``m`` is Adam's first moment in the parameter basis; ``v`` is the second
    moment in the rotated basis; ``L``, ``R`` are the exponential averages of
    :math:`G G^\\top` and :math:`G^\\top G`; ``QL``, ``QR`` their eigenvectors.
    """

    m: Any
    v: Any
    L: Any
    R: Any
    QL: Any
    QR: Any


def init_soap(W):
    """SOAP state for a matrix: zero moments and statistics, identity eigenbases."""
    xp = check.namespace(W=W)
    check.ndim_is("W", W, 2, "SOAP preconditions weight matrices")
    n, m = W.shape
    z = xp.zeros_like(W)
    return SoapState(
        m=z,
        v=xp.zeros_like(W),
        L=xp.zeros((n, n), dtype=W.dtype),
        R=xp.zeros((m, m), dtype=W.dtype),
        QL=xp.eye(n, dtype=W.dtype),
        QR=xp.eye(m, dtype=W.dtype),
    )


def soap_update(
    W,
    G,
    state: SoapState,
    t,
    lr=3e-3,
    beta1=0.95,
    beta2=0.95,
    eps=1e-8,
    shampoo_beta=0.95,
    precondition_frequency=10,
):
    r"""One SOAP step on a matrix. Returns ``(W, state)``.

    .. math::

        L_t &= \beta_s L_{t-1} + (1-\beta_s)\, G_t G_t^\top, \qquad
        R_t = \beta_s R_{t-1} + (1-\beta_s)\, G_t^\top G_t \\
        Q_L, Q_R &\leftarrow \text{eigenvectors of } L_t, R_t
            \quad\text{when } t = 1 \text{ or } (t-1) \bmod f = 0 \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, G_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, (Q_L^\top G_t Q_R)^{\odot 2} \\
        Z_t &= \frac{Q_L^\top m_t Q_R / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon} \\
        W_t &= W_{t-1} - \eta\, Q_L Z_t Q_R^\top

    Epsilon is added outside the square root, after bias correction, in the
    rotated basis, as in Adam. Shampoo's Kronecker factors define a rotation in
    which the gradient's coordinates are roughly uncorrelated; Adam's diagonal
    preconditioner is then a good fit there. When the eigenbases are the
    identity (or a signed permutation), SOAP *is* Adam.

    **Order of the updates.** This preview adds :math:`G_t` to :math:`L, R`
    and refreshes :math:`Q_L, Q_R` *before* the step, so step :math:`t` is
    taken in a rotation that has already seen :math:`G_t`. At ``t=1``, when the
    non-zero singular values of :math:`G_1 = U\Sigma V^\top` are distinct, that
    rotation diagonalizes :math:`G_1`, so the first step is
    :math:`-\eta\, U V^\top` (up to :math:`\epsilon`, for any rank): the step
    that Muon approximates. A repeated non-zero singular value leaves ``eigh`` free to
    pick unrelated bases of the two eigenspaces, and then the step is in general
    not :math:`-\eta\, U V^\top`: for an orthogonal :math:`G_1`, :math:`L_1` and
    :math:`R_1` are multiples of :math:`I`, any bases diagonalize them, and the
    step depends on the ones ``eigh`` returns (with the identity it is Adam's
    :math:`-\eta\,\mathrm{sign}(G_1)`, which is :math:`-\eta\, G_1` only when
    :math:`G_1` is a signed permutation). Vyas et al.'s
    Algorithm 3 updates :math:`L, R` (and the eigenbases) *after* the step, so
    the rotation of step :math:`t` is built from :math:`G_1, \dots, G_{t-1}`
    only, and their code spends the first gradient on initializing
    :math:`L, R, Q_L, Q_R` and skips that step (its bias-correction counter
    therefore starts at the second gradient). The two rules differ from the
    first step on.

    **Epsilon in the paper's code.** It adds :math:`\epsilon` to
    :math:`\sqrt{v_t}` before bias correction and multiplies the step by
    :math:`\sqrt{1-\beta_2^t}/(1-\beta_1^t)`, which is this rule with
    :math:`\epsilon/\sqrt{1-\beta_2^t}` in place of :math:`\epsilon`
    (Kingma and Ba's efficient form, notes 4.2).

    This preview recomputes the eigenbases with ``eigh`` every ``f`` steps and
    keeps :math:`m` in the parameter basis (as Algorithm 3 does) and :math:`v`
    in the current basis without re-projecting it; the paper's code uses one
    QR power iteration and re-orders :math:`v` by the estimated eigenvalues.

    Reference: Vyas et al., "SOAP: Improving and Stabilizing Shampoo using
    Adam", arXiv:2409.11321, 2024, Algorithm 3; code at
    https://github.com/nikhilvyas/SOAP.
    """
    xp = check.namespace(W=W, G=G, m=state.m, v=state.v)
    check.ndim_is("W", W, 2, "SOAP preconditions weight matrices")
    check.same_shape(W=W, G=G, m=state.m, v=state.v)
    n, m_cols = W.shape
    check.shape_is("L", state.L, (n, n))
    check.shape_is("R", state.R, (m_cols, m_cols))
    t = check.step_index(t)
    lr = check.nonneg("lr", lr)
    beta1 = check.unit_interval("beta1", beta1)
    beta2 = check.unit_interval("beta2", beta2)
    shampoo_beta = check.unit_interval("shampoo_beta", shampoo_beta)
    eps = check.nonneg("eps", eps)
    f = check.positive_int("precondition_frequency", precondition_frequency)
    check.finite("G", G, xp)

    L = shampoo_beta * state.L + (1.0 - shampoo_beta) * (G @ G.T)
    R = shampoo_beta * state.R + (1.0 - shampoo_beta) * (G.T @ G)
    QL, QR = state.QL, state.QR
    if t == 1 or (t - 1) % f == 0:
        QL = xp.linalg.eigh(L)[1]
        QR = xp.linalg.eigh(R)[1]
    m = beta1 * state.m + (1.0 - beta1) * G
    G_rot = QL.T @ G @ QR
    v = beta2 * state.v + (1.0 - beta2) * (G_rot * G_rot)
    m_hat_rot = (QL.T @ m @ QR) / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    N = m_hat_rot / (xp.sqrt(v_hat) + eps)
    W = W - lr * (QL @ N @ QR.T)
    return W, SoapState(m=m, v=v, L=L, R=R, QL=QL, QR=QR)


SPECS = (
    RuleSpec(
        "soap", soap_update, init_soap, SoapState, MATRIX_RULES, tour_lr=0.3, matrix_only=True
    ),
)
