"""Claims of the papers the course teaches, checked end to end with the library's
optimizers, objectives and runner.

* Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond", ICLR 2018:
  on their online problem Adam converges to the worst point, AMSGrad to the best.
* Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019:
  for SGD, L2 regularization and weight decay coincide (with lambda scaled by
  the learning rate); for Adam they do not.
"""

import numpy as np
import pytest

from adaptive_lr import optim
from adaptive_lr.objectives import LogisticRegression, ReddiOnline
from adaptive_lr.optim import Optimizer, make_optimizer
from adaptive_lr.run import run

# -- Reddi et al. (2018), Theorem 1 --------------------------------------------------------

REDDI_LR = 0.1
REDDI_STEPS = 900  # 300 periods; from x0 = -1 Adam needs about 30 periods to reach +1


@pytest.mark.parametrize("C", [3.0, 5.0])
@pytest.mark.parametrize("x0", [0.0, -1.0])
def test_adam_converges_to_the_worst_point_and_amsgrad_to_the_optimum(C, x0):
    """With beta1 = 0 and beta2 = 1/(1+C^2), Adam's iterate ends near +1 and AMSGrad's near -1.

    Per period of three steps Adam moves by about lr * (-C/C + 1 + 1) = +lr (the
    large gradient is normalized by its own sqrt(v) ~ C, each -1 by sqrt(v) ~ 1),
    and AMSGrad by about lr * (-1 + 2/C) < 0 (every gradient is normalized by
    max sqrt(v) ~ C). Both are then held at an end of [-1, 1] by the projection,
    oscillating by about lr. Starting at the optimum (x0 = -1) does not save Adam.
    """
    problem = ReddiOnline(C=C, x0=x0)
    betas = problem.paper_betas
    adam = run(make_optimizer("adam", lr=REDDI_LR, **betas), problem, REDDI_STEPS)
    amsgrad = run(make_optimizer("amsgrad", lr=REDDI_LR, **betas), problem, REDDI_STEPS)
    tail_adam, tail_ams = adam.params[-30:, 0], amsgrad.params[-30:, 0]
    assert tail_adam.min() > 1.0 - 1.5 * REDDI_LR, (
        f"Adam should settle near +1 (the worst point) on Reddi's problem with C={C}; its last "
        f"iterates lie in [{tail_adam.min():.3f}, {tail_adam.max():.3f}]"
    )
    assert tail_ams.max() < -1.0 + 1.5 * REDDI_LR, (
        f"AMSGrad should settle near the optimum -1 with C={C}; its last iterates lie in "
        f"[{tail_ams.min():.3f}, {tail_ams.max():.3f}]"
    )
    # The paper's criterion is the average regret R_T / T, measured here over the second half of
    # the run (past the transient from x0). Adam's grows by O(1) per step. With a constant lr,
    # AMSGrad still oscillates by O(lr) around -1, so its regret grows by O(lr) per step (the
    # paper's decaying lr / sqrt(t) would make it sublinear): an order of magnitude less.
    half = REDDI_STEPS // 2
    rate_adam, rate_ams = (
        (problem.regret(traj.params[:-1, 0])[-1] - problem.regret(traj.params[:-1, 0])[half - 1])
        / half
        for traj in (adam, amsgrad)
    )
    assert rate_adam > 0.5, (
        f"Adam's regret should grow by > 0.5 per step at the end, grew by {rate_adam:.3f}"
    )
    assert rate_ams < REDDI_LR and rate_adam > 5 * rate_ams, (
        f"AMSGrad's regret should grow by O(lr) per step, far less than Adam's: {rate_ams:.3f} vs {rate_adam:.3f}"
    )


def test_the_failure_needs_adams_short_memory():
    """With a long memory (beta2 = 0.999) Adam's v remembers C^2 and it, too, heads for -1."""
    problem = ReddiOnline(C=3.0)
    traj = run("adam", problem, REDDI_STEPS, lr=REDDI_LR, beta1=0.0, beta2=0.999)
    assert traj.params[-30:, 0].max() < -0.5, (
        f"with beta2=0.999 Adam should move towards -1, ended in [{traj.params[-30:, 0].min():.3f}, "
        f"{traj.params[-30:, 0].max():.3f}]"
    )


# -- Loshchilov and Hutter (2019) -------------------------------------------------------------

WEIGHT_DECAY = 0.1


@pytest.fixture(scope="module")
def logistic():
    """A small, non-separable logistic regression, without a penalty and with lambda/2 ||theta||^2."""
    plain = LogisticRegression.synthetic(n_samples=200, n_features=5, seed=0)
    penalized = LogisticRegression.synthetic(n_samples=200, n_features=5, seed=0, l2=WEIGHT_DECAY)
    return plain, penalized


def test_adamw_and_adam_with_l2_reach_different_solutions(logistic):
    """Same lr, same lambda, both converged: Adam + L2 finds the L2-regularized minimizer, AdamW does not.

    Why they differ: Adam + L2 feeds lambda * theta through the preconditioner, so
    its fixed point is where the whole gradient grad L + lambda * theta vanishes,
    the minimizer of L + lambda/2 ||theta||^2, whatever lr and the betas. AdamW
    subtracts lr * lambda * theta outside the preconditioner; at its fixed point
    the *normalized* step m_hat / (sqrt(v_hat) + eps) balances lambda * theta.
    A normalized step of size ~lambda*|theta| needs only a tiny raw gradient,
    because sqrt(v_hat) shrinks with the gradient. So AdamW acts like an L2
    penalty of per-coordinate strength lambda * sqrt(v_hat_i) (Loshchilov and
    Hutter, Prop. 3), which fades near the optimum: AdamW ends close to the
    *unregularized* minimizer, with a larger norm.
    """
    plain, penalized = logistic
    lr, steps = 0.01, 3000
    coupled = run("adam_l2", plain, steps, lr=lr, weight_decay=WEIGHT_DECAY)
    decoupled = run("adamw", plain, steps, lr=lr, weight_decay=WEIGHT_DECAY)
    theta_l2 = penalized.minimizer  # Newton's method on the penalized loss

    gap_coupled = np.linalg.norm(coupled.final_params - theta_l2)
    assert gap_coupled < 1e-6, (
        f"Adam + L2 should converge to the L2-regularized minimizer; off by {gap_coupled:.2e}"
    )
    drift = np.linalg.norm(decoupled.params[-1] - decoupled.params[-500])
    assert drift < 0.02, f"AdamW has not converged: it moved {drift:.3f} in its last 500 steps"
    grad_plain = np.linalg.norm(plain.full_grad(decoupled.final_params))
    assert grad_plain < 0.01, (
        f"AdamW should end near a stationary point of the unpenalized loss, |grad| = {grad_plain:.3g}"
    )

    gap = np.linalg.norm(decoupled.final_params - coupled.final_params)
    assert gap > 0.5, (
        f"AdamW and Adam + L2 should reach clearly different solutions; they differ by {gap:.3f}"
    )
    assert np.linalg.norm(decoupled.final_params) > 1.5 * np.linalg.norm(coupled.final_params), (
        "AdamW's weight decay should regularize less than Adam's coupled L2 here (larger final norm)"
    )


def test_adam_with_l2_equals_adam_on_the_penalized_loss(logistic):
    """adam_l2 with weight_decay=lambda is plain Adam on L + lambda/2 ||theta||^2 (the penalty is coupled)."""
    plain, penalized = logistic
    a = run("adam_l2", plain, 200, lr=0.01, weight_decay=WEIGHT_DECAY)
    b = run("adam", penalized, 200, lr=0.01)
    assert np.allclose(a.params, b.params, rtol=1e-12, atol=1e-14), (
        "adam_l2 should add exactly lambda * theta to the gradient, as the penalized objective does"
    )


def _sgd_with_decoupled_decay(lr, weight_decay):
    r"""SGDW: :math:`\theta_t = \theta_{t-1} - \eta g_t - \eta\lambda\theta_{t-1}` (decay outside the gradient)."""

    def step(theta, grad, state, t):
        return optim.sgd_update(theta, grad, lr=lr) - (lr * weight_decay) * theta, ()

    return Optimizer("sgdw", lambda theta: (), step, (), {"lr": lr, "weight_decay": weight_decay})


def test_for_sgd_coupled_l2_and_decoupled_decay_coincide(logistic):
    """SGD on L + lambda/2 ||theta||^2, SGDW with decay lr*lambda, and momentum_update's weight_decay agree.

    theta - lr * (g + lambda * theta) = theta * (1 - lr * lambda) - lr * g: for plain SGD, L2
    regularization *is* weight decay with rate lr * lambda (Loshchilov and Hutter, Prop. 1).
    """
    plain, penalized = logistic
    lr, steps = 0.5, 300
    params0 = np.linspace(-1.0, 1.0, 6)
    coupled = run(make_optimizer("sgd", lr=lr), penalized, steps, params0=params0)
    decoupled = run(_sgd_with_decoupled_decay(lr, WEIGHT_DECAY), plain, steps, params0=params0)
    torch_style = run(
        "momentum", plain, steps, params0=params0, lr=lr, momentum=0.0, weight_decay=WEIGHT_DECAY
    )
    assert np.allclose(coupled.params, decoupled.params, rtol=1e-12, atol=1e-13), (
        "for SGD, L2 in the loss and decoupled decay lr*lambda should give the same iterates"
    )
    assert np.allclose(coupled.params, torch_style.params, rtol=1e-12, atol=1e-13), (
        "momentum_update(momentum=0, weight_decay=lambda) should match SGD on the penalized loss"
    )
    theta_l2 = penalized.minimizer
    gap = np.linalg.norm(coupled.final_params - theta_l2)
    assert gap < 1e-6, f"SGD on the penalized loss should reach its minimizer; off by {gap:.2e}"
