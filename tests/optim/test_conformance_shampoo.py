"""Conformance of the oracle's Shampoo with pytorch_optimizer.Shampoo, step by step, in float64.

``pytorch_optimizer.Shampoo`` (v4) configured as paper Shampoo (Gupta et al. 2018,
Algorithm 1): ``momentum=0`` (no buffer is blended in), ``weight_decay=0``,
``preconditioning_compute_steps=1`` (roots recomputed every step), no grafting
(that class has none; its ScalableShampoo sibling grafts). Its statistics start at
``matrix_eps * I`` exactly like ``init_shampoo(W, eps)``; per step it adds
``G G^T`` and ``G^T G`` (``addmm_``), takes inverse 4th roots (``2 * order`` for a
matrix) with ``compute_power_svd`` -- an SVD in float64, singular values raised to
-1/4 -- and subtracts ``lr * L^-1/4 G R^-1/4``. So the two sides differ only in the
factorization used for the root (SVD there, ``eigh`` in the oracle), which for a
symmetric positive definite matrix is the same function: W, L and R agree to
rounding under the plain tolerance of ``_peers``. Only the inverse roots themselves,
compared as an extra, need a conditioning-aware tolerance (see ``ROOT_C``).

Independent checks: the first step in closed form from the SVD of ``G``, and
``matrix_inverse_root`` against ``scipy.linalg.fractional_matrix_power``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from pytorch_optimizer import Shampoo

from adaptive_lr.optim import Optimizer, make_optimizer, matrix_inverse_root

from ._peers import (
    ATOL,
    REGIMES,
    OracleRun,
    Problem,
    assert_close,
    assert_mutation_detected,
    lockstep,
    max_abs_diff,
)

pytestmark = pytest.mark.conformance

LR = 0.05
DEFAULT_EPS = 1e-4  # init_shampoo's default; the "large" regimes use 1e-3

# Shampoo's step does not depend on W, so zero-initialized W makes the parameter
# comparison relative to the size of the steps (which are ~lr * 1e-4 under tiny gradients).
PROBLEMS = [
    Problem("wide", (4, 6), "random", seed=31),
    Problem("tall-quadratic", (6, 3), "quadratic", seed=32),
    Problem("square-zero-init", (5, 5), "random", seed=33, init="zeros"),
    Problem("wide-zero-init", (3, 8), "random", seed=34, init="zeros"),
]


# The inverse roots each side applies are compared on the *same* matrix (the peer's own
# statistic), SVD there against eigh in the oracle. Both factorizations are backward
# stable: each returns the exact root of A + dA with ||dA|| <= c * u * ||A||_2 (u the unit
# roundoff, c a modest multiple of n). The map A -> A^-1/4 has Frechet derivative bounded
# by |f'(lambda_min)| = lambda_min^-5/4 / 4, so the two roots may honestly differ by
#     c * u * ||A||_2 * lambda_min^-5/4 / 4,
# which is up to ~1e-9 here: at step 1 the statistics have eigenvalues eps = 1e-4 (the
# null space of G) next to ~1e2, and the entries of the root reach eps^-1/4 = 10. This is
# conditioning, not a disagreement about the rule, and it does not reach W: G has no
# component in the ill-conditioned eigenspace. Observed: at most ~120 times the c=1 bound;
# the test allows c = 1000. The parameters and L, R themselves keep the plain 1e-10.
ROOT_C = 1e3


def _root_tolerance(A, p=4):
    """ATOL plus the first-order effect of a backward error ROOT_C * u * ||A|| on A^(-1/p)."""
    lam = np.linalg.eigvalsh(A)
    return ATOL + ROOT_C * np.finfo(np.float64).eps * lam[-1] * lam[0] ** (-1.0 / p - 1.0) / p


class ShampooPeer:
    """pytorch_optimizer.Shampoo on one float64 matrix, as paper Shampoo."""

    def __init__(self, W0, eps, label=""):
        self.p = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
        self.opt = Shampoo(
            [self.p],
            lr=LR,
            momentum=0.0,
            weight_decay=0.0,
            preconditioning_compute_steps=1,
            matrix_eps=eps,
        )
        self.label = label

    def __call__(self, t, grad):
        self.p.grad = torch.tensor(grad, dtype=torch.float64)
        self.opt.step()
        st = self.opt.state[self.p]
        out = {
            "param": self.p.detach().numpy().copy(),
            "L": st["pre_cond_0"].numpy().copy(),
            "R": st["pre_cond_1"].numpy().copy(),
        }
        for name, key in (("L", "inv_pre_cond_0"), ("R", "inv_pre_cond_1")):
            ours, theirs = matrix_inverse_root(out[name], 4), st[key].numpy()
            d, tol = max_abs_diff(ours, theirs), _root_tolerance(out[name])
            assert d <= tol, (
                f"{self.label}: step {t}, array '{name}^-1/4': max |matrix_inverse_root - "
                f"pytorch_optimizer compute_power_svd| = {d:.3e} exceeds {tol:.1e}"
            )
        return out


def _run(regime, problem, oracle=None, check=True):
    eps = REGIMES[regime]["eps"] or DEFAULT_EPS
    W0 = problem.theta0()
    label = f"shampoo(eps={eps}) [{regime}, {problem}]"
    return lockstep(
        label,
        "pytorch_optimizer.Shampoo",
        OracleRun(oracle or make_optimizer("shampoo", lr=LR, eps=eps), W0),
        ShampooPeer(W0, eps, label),
        problem.grad_fn(REGIMES[regime]["scale"]),
        check=check,
    )


@pytest.mark.parametrize("problem", PROBLEMS, ids=str)
@pytest.mark.parametrize("regime", list(REGIMES))
def test_shampoo_matches_pytorch_optimizer(regime, problem):
    _run(regime, problem)


def test_shampoo_eps_mutation_is_detected():
    """eps * I added to the statistics at every step (instead of once, at init)."""
    eps = REGIMES["large_eps"]["eps"]

    def step(W, G, state, t):
        L = state[0] + G @ G.T + eps * np.eye(G.shape[0])
        R = state[1] + G.T @ G + eps * np.eye(G.shape[1])
        return W - LR * matrix_inverse_root(L, 4) @ G @ matrix_inverse_root(R, 4), (L, R)

    mutant = Optimizer(
        "shampoo/eps-every-step",
        lambda W: (np.zeros((W.shape[0],) * 2), np.zeros((W.shape[1],) * 2)),
        step,
        ("L", "R"),
        {},
    )
    worst = _run("large_eps", PROBLEMS[0], oracle=mutant, check=False)
    assert_mutation_detected("shampoo mutant [large_eps] vs pytorch_optimizer.Shampoo", worst)


@pytest.mark.parametrize("eps", [DEFAULT_EPS, 1e-3, 1.0])
@pytest.mark.parametrize("problem", PROBLEMS, ids=str)
def test_first_shampoo_step_closed_form(problem, eps):
    """One step from L = eps I, R = eps I, in closed form from the thin SVD G = U S V^T:

    L^-1/4 G R^-1/4 = U diag(s / sqrt(s**2 + eps)) V^T

    (on the span of U, L = U diag(s**2 + eps) U^T; G has no component outside it).
    """
    W0 = problem.theta0()
    G = problem.grad_fn()(1, W0)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    expected = W0 - LR * (U * (s / np.sqrt(s * s + eps))) @ Vt
    ours = OracleRun(make_optimizer("shampoo", lr=LR, eps=eps), W0).step(1, G)["param"]
    theirs = ShampooPeer(W0, eps)(1, G)["param"]
    assert_close(f"shampoo(eps={eps}) [{problem}]", 1, "param", ours, expected, "closed form")
    assert_close(
        f"pytorch_optimizer.Shampoo(eps={eps}) [{problem}]",
        1,
        "param",
        theirs,
        expected,
        "closed form",
    )


@pytest.mark.parametrize("p", [2, 4, 6])
@pytest.mark.parametrize("problem", PROBLEMS, ids=str)
def test_matrix_inverse_root_matches_scipy(problem, p):
    """On Shampoo's own statistics after 20 steps (condition numbers up to ~6e5).

    scipy's Schur-Pade algorithm is another backward-stable method, so the tolerance is
    the same conditioning bound as for pytorch_optimizer's SVD (``_root_tolerance``).
    """
    oracle = OracleRun(make_optimizer("shampoo", lr=LR, eps=DEFAULT_EPS), problem.theta0())
    grad_fn = problem.grad_fn()
    for t in range(1, 21):
        oracle.step(t, grad_fn(t, oracle.params))
    for name, A in zip(("L", "R"), oracle.state):
        expected = np.real_if_close(scipy.linalg.fractional_matrix_power(A, -1.0 / p))
        ours = matrix_inverse_root(A, p)
        d, tol = max_abs_diff(ours, expected), _root_tolerance(A, p)
        assert d <= tol, (
            f"matrix_inverse_root({name}, {p}) [{problem}, cond {np.linalg.cond(A):.1e}]: after "
            f"step 20, max |oracle - scipy fractional_matrix_power| = {d:.3e} exceeds {tol:.1e}"
        )
