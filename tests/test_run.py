"""run() and Trajectory: every recorded series against a hand-written loop, layered and
single-array objectives, projection, divergence handling, argument checks, speed."""

import time
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_lr import optim
from adaptive_lr.objectives import (
    LogisticRegression,
    Objective,
    Quadratic,
    ReddiOnline,
    Rosenbrock,
    SoftmaxRegression,
    TwoLayerNet,
)
from adaptive_lr.optim import Optimizer, make_optimizer
from adaptive_lr.run import DivergenceError, DivergenceWarning, Trajectory, learning_rate, run

STEP_FIELDS = (
    "grad_norm",
    "update_norm",
    "update_ratio",
    "effective_lr_min",
    "effective_lr_median",
    "effective_lr_max",
    "second_moment_min",
    "second_moment_median",
    "second_moment_max",
)
SNAPSHOT_FIELDS = ("loss", "param_norm", "dist_to_minimizer")


def _check_lengths(traj, n, n_layers):
    for name in STEP_FIELDS:
        assert getattr(traj, name).shape == (n,), (
            f"{name} has shape {getattr(traj, name).shape}, expected ({n},)"
        )
    for name in SNAPSHOT_FIELDS:
        assert getattr(traj, name).shape == (n + 1,), (
            f"{name} has shape {getattr(traj, name).shape}, expected ({n + 1},)"
        )
    for name in ("layer_grad_norm", "layer_update_norm", "trust_ratio"):
        assert getattr(traj, name).shape == (n, n_layers), (
            f"{name} has shape {getattr(traj, name).shape}"
        )
    assert traj.layer_param_norm.shape == (n + 1, n_layers), (
        f"layer_param_norm shape {traj.layer_param_norm.shape}"
    )
    assert traj.n_steps == n, f"n_steps is {traj.n_steps}, expected {n}"


def test_trajectory_matches_a_hand_written_loop():
    """Adam on a 2-D quadratic: iterates, loss and every norm equal a loop over the library's adam_update."""
    q = Quadratic.two_d(condition_number=20, angle=0.5)
    traj = run("adam", q, 50, lr=0.2)
    _check_lengths(traj, 50, 1)
    theta, m, v = q.init_params(), np.zeros(2), np.zeros(2)
    thetas, grads = [theta], []
    for t in range(1, 51):
        g = q.grad(theta, t)
        theta, m, v = optim.adam_update(theta, g, m, v, t, lr=0.2)
        thetas.append(theta)
        grads.append(g)
    thetas, grads = np.array(thetas), np.array(grads)
    assert np.array_equal(traj.params, thetas), (
        "recorded iterates differ from the hand-written loop"
    )
    assert np.allclose(traj.loss, [q.value(p) for p in thetas], rtol=1e-14), (
        "loss[k] is not value(params[k])"
    )
    assert np.allclose(traj.grad_norm, np.linalg.norm(grads, axis=1)), "grad_norm is not ||g_t||"
    steps = np.diff(thetas, axis=0)
    assert np.allclose(traj.update_norm, np.linalg.norm(steps, axis=1)), (
        "update_norm is not ||theta_t - theta_{t-1}||"
    )
    assert np.allclose(traj.param_norm, np.linalg.norm(thetas, axis=1)), (
        "param_norm is not ||theta_k||"
    )
    assert np.allclose(traj.update_ratio, traj.update_norm / traj.param_norm[:-1]), (
        "update_ratio is not relative"
    )
    assert np.allclose(traj.dist_to_minimizer, np.linalg.norm(thetas - q.minimizer, axis=1)), (
        "dist_to_minimizer wrong"
    )
    assert np.allclose(traj.second_moment_max[-1], v.max()) and np.allclose(
        traj.second_moment_min[-1], v.min()
    ), "second-moment statistics do not come from Adam's v"
    assert np.array_equal(traj.final_params, thetas[-1]), "final_params is not the last iterate"
    assert traj.state_names == ("m", "v") and np.array_equal(traj.final_state[1], v), (
        "final_state is not (m, v)"
    )
    assert traj.optimizer == "adam" and traj.hyperparams == {"lr": 0.2}, (
        f"metadata {traj.optimizer}, {traj.hyperparams}"
    )
    assert traj.objective == q.name and not traj.diverged and traj.status == "completed", (
        "metadata or status wrong"
    )


def test_effective_lr_of_sgd_and_adagrad():
    """SGD's effective lr is lr everywhere; AdaGrad's median is the median of lr / (sqrt(G) + eps)."""
    q = Quadratic.random(5, condition_number=50, seed=1)
    sgd = run("sgd", q, 20, lr=0.3)
    for name in ("effective_lr_min", "effective_lr_median", "effective_lr_max"):
        assert np.allclose(getattr(sgd, name), 0.3, rtol=1e-12), f"SGD's {name} is not lr"
    ada = run("adagrad", q, 20, lr=0.5, record_grads=True)
    accum = np.cumsum(ada.grads**2, axis=0)
    expected = optim.adagrad_effective_lr(accum, lr=0.5)
    assert np.allclose(ada.effective_lr_median, np.median(expected, axis=1), rtol=1e-9), (
        "AdaGrad median eff. lr"
    )
    assert np.allclose(ada.effective_lr_max, expected.max(axis=1), rtol=1e-9), "AdaGrad max eff. lr"
    per_coord = ada.effective_lr_per_coordinate()
    assert per_coord.shape == (20, 5) and np.allclose(per_coord, expected, rtol=1e-9), (
        "effective_lr_per_coordinate differs from adagrad_effective_lr"
    )
    assert np.allclose(ada.second_moment_max, accum.max(axis=1)), (
        "AdaGrad's second moment is its accumulator"
    )


def test_effective_lr_skips_zero_gradient_coordinates():
    """A coordinate with zero gradient (already at its optimum) does not enter the statistics."""
    # The second coordinate starts at its optimum, so its gradient stays exactly zero.
    q = Quadratic.diagonal([1.0, 4.0], theta0=[2.0, 0.0])
    traj = run("sgd", q, 5, lr=0.1, record_grads=True)
    assert np.allclose(traj.effective_lr_max, 0.1), (
        "the zero-gradient coordinate leaked into the statistics"
    )
    assert np.all(np.isnan(traj.effective_lr_per_coordinate()[:, 1])), (
        "eff. lr where g = 0 should be NaN"
    )
    with pytest.raises(ValueError, match="record_grads"):
        run("sgd", q, 3, lr=0.1).effective_lr_per_coordinate()


def test_second_moment_is_nan_without_one_and_reconstructed_for_adafactor():
    """SGD keeps no second moment (NaN); Adafactor's is R C^T / mean(R) on the matrix objective."""
    sm = SoftmaxRegression.synthetic(n_samples=40, n_features=3, n_classes=3)
    sgd = run("sgd", sm, 5, lr=0.1)
    assert np.all(np.isnan(sgd.second_moment_median)), "SGD has no second moment, expected NaN"
    af = run("adafactor", sm, 5, lr=0.1)
    R, C = af.final_state
    V = np.outer(R, C) / R.mean()
    assert np.isclose(af.second_moment_max[-1], V.max()) and np.isclose(
        af.second_moment_min[-1], V.min()
    ), "Adafactor's second-moment statistics are not those of R C^T / mean(R)"


def test_layered_objective_records_per_layer_series():
    """TwoLayerNet: params and grads are lists per layer; global norms combine the layer norms."""
    net = TwoLayerNet.synthetic(n_samples=30, hidden=5, layer_scale=10.0)
    traj = run("adam", net, 15, lr=0.01, record_grads=True)
    _check_lengths(traj, 15, 4)
    assert isinstance(traj.params, list) and len(traj.params) == 4, (
        "params should be a list of 4 layer histories"
    )
    assert traj.params[2].shape == (16, 5, 1), (
        f"W2 history has shape {traj.params[2].shape}, expected (16, 5, 1)"
    )
    assert isinstance(traj.final_params, list) and np.array_equal(
        traj.final_params[0], traj.params[0][-1]
    ), "final_params should be the last iterate's list of layers"
    assert isinstance(traj.final_state, list) and len(traj.final_state) == 4, (
        "final_state is one tuple per layer"
    )
    assert traj.layer_names == ("W1", "b1", "W2", "b2"), f"layer_names {traj.layer_names}"
    assert np.allclose(traj.grad_norm, np.sqrt((traj.layer_grad_norm**2).sum(axis=1))), (
        "grad_norm != layer combo"
    )
    expected_w2 = np.linalg.norm(traj.grads[2].reshape(15, -1), axis=1)
    assert np.allclose(traj.layer_grad_norm[:, 2], expected_w2), (
        "layer_grad_norm of W2 is not ||grad W2||"
    )
    assert traj.effective_lr_per_coordinate().shape == (15, 4 * 5 + 5 + 5 + 1), (
        "per-coordinate eff. lr shape"
    )
    assert np.all(np.isnan(traj.dist_to_minimizer)), "no minimizer is known, expected NaN distances"


def test_trust_ratio_per_layer():
    """SGD: trust ratio is ||w|| / ||g|| (LARS's); LAMB: 1, because its step is lr * ||w||."""
    net = TwoLayerNet.synthetic(n_samples=30, hidden=5, layer_scale=10.0)
    sgd = run("sgd", net, 10, lr=0.01)
    w, g = sgd.layer_param_norm[:-1], sgd.layer_grad_norm
    expected = np.where((w > 0) & (g > 0), w / np.where(g > 0, g, 1.0), 1.0)
    assert np.allclose(sgd.trust_ratio, expected, rtol=1e-9), (
        "SGD's trust ratio is not ||w|| / ||g||"
    )
    assert sgd.trust_ratio[0, 0] < sgd.trust_ratio[0, 2] / 10, (
        "with layer_scale=10, W2's trust ratio should dwarf W1's"
    )
    lamb = run("lamb", net, 10, lr=0.01)
    assert np.allclose(lamb.trust_ratio, 1.0, rtol=1e-9), (
        f"LAMB's recorded trust ratio should be 1, got {lamb.trust_ratio[0]}"
    )
    custom = Optimizer("half", lambda th: (), lambda th, g, s, t: (th - 0.5 * g, ()), (), {})
    assert np.all(np.isnan(run(custom, net, 3).trust_ratio)), (
        "without a known lr the trust ratio is NaN"
    )


def test_learning_rate_lookup():
    """learning_rate: the bound lr, else the update rule's default, else NaN."""
    assert learning_rate(make_optimizer("adam", lr=0.3)) == 0.3, "the bound lr should win"
    assert learning_rate(make_optimizer("adam")) == 1e-3, "adam's default lr is 1e-3"
    assert learning_rate(make_optimizer("adagrad")) == 1e-2, "adagrad's default lr is 1e-2"
    custom = Optimizer("mine", lambda th: (), lambda th, g, s, t: (th, ()), (), {})
    assert np.isnan(learning_rate(custom)), "an unknown rule without lr should give NaN"


def test_projection_keeps_reddi_iterates_feasible():
    """The runner projects after every step, and params0 before the first."""
    r = ReddiOnline(C=3.0)
    traj = run("sgd", r, 30, lr=0.7, params0=np.array([5.0]))
    assert traj.params[0, 0] == 1.0, (
        f"params0 = 5 should have been projected to 1, got {traj.params[0, 0]}"
    )
    assert np.all(np.abs(traj.params) <= 1.0), "an iterate left the feasible set [-1, 1]"


def test_runs_are_reproducible_and_inputs_untouched():
    """A stochastic objective gives the same trajectory twice; params0 is not modified."""
    obj = LogisticRegression.synthetic(n_samples=60, batch_size=8, seed=3)
    params0 = np.full(6, 0.1)
    a = run("adam", obj, 30, params0=params0, lr=0.05)
    b = run("adam", obj, 30, params0=params0, lr=0.05)
    assert np.array_equal(a.params, b.params) and np.array_equal(a.loss, b.loss), (
        "runs are not reproducible"
    )
    assert np.array_equal(params0, np.full(6, 0.1)), "run modified params0"
    c = run("adam", Quadratic.random(3), 5, seed=1, lr=0.1)
    assert np.array_equal(c.params[0], Quadratic.random(3).init_params(1)), (
        "seed should seed init_params"
    )


def test_record_params_off_and_zero_steps():
    """record_params=False drops the iterates only; steps=0 records the start alone."""
    q = Quadratic.two_d()
    on, off = run("adam", q, 10, lr=0.1), run("adam", q, 10, lr=0.1, record_params=False)
    assert off.params is None and off.grads is None, "params should not be recorded"
    assert np.array_equal(on.loss, off.loss) and np.array_equal(
        on.final_params, off.final_params
    ), "turning off the record changed the run"
    zero = run("adam", q, 0, lr=0.1)
    _check_lengths(zero, 0, 1)
    assert zero.loss[0] == q.value(q.init_params()), "steps=0 should record the initial loss"


def test_name_plus_hyperparams_equals_a_bound_optimizer():
    """run("adam", ..., lr=...) is run(make_optimizer("adam", lr=...), ...)."""
    q = Rosenbrock()
    a = run("adam", q, 40, lr=0.01, beta1=0.8)
    b = run(make_optimizer("adam", lr=0.01, beta1=0.8), q, 40)
    assert np.array_equal(a.params, b.params), (
        "name + hyperparams and a bound optimizer gave different runs"
    )


class _NanAt(Objective):
    """The 2-D quadratic, but NaN from step ``bad_t`` on, or once theta[1] < ``bad_below`` (value too)."""

    def __init__(self, bad_t=10**9, nan_grad=False, bad_below=-np.inf):
        # SGD with lr 0.1 takes theta[1] through 3, 2.7, 2.43, 2.19, 1.97, 1.77.
        self.q = Quadratic.two_d()
        self.bad_t, self.nan_grad, self.bad_below = bad_t, nan_grad, bad_below
        self.name, self._shapes = "nan_at", ((2,),)
        self._theta0 = self.q.init_params()

    def _value(self, theta):
        return np.nan if theta[1] < self.bad_below else self.q._value(theta)

    def _value_and_grad(self, theta, t):
        v, g = self._value(theta), self.q._full_grad(theta)
        if t >= self.bad_t:
            return (v, g * np.nan) if self.nan_grad else (np.nan, g)
        return v, g


@pytest.mark.parametrize("nan_grad", [False, True])
def test_divergence_truncates_at_the_last_finite_iterate(nan_grad):
    """A non-finite loss (or gradient) at theta_4 gives diverged_at=4 and a record up to theta_3."""
    traj = run("sgd", _NanAt(bad_t=5, nan_grad=nan_grad), 10, lr=0.1)
    assert traj.diverged_at == 4 and traj.diverged, f"diverged_at is {traj.diverged_at}, expected 4"
    _check_lengths(traj, 3, 1)
    assert traj.params.shape == (4, 2) and np.array_equal(traj.final_params, traj.params[-1]), (
        "truncation wrong"
    )
    assert np.all(np.isfinite(traj.loss)) and "diverged at step 4" in traj.status, (
        f"status {traj.status!r}"
    )
    assert "diverged" in repr(traj), "repr should report the divergence"


def test_divergence_of_a_too_large_learning_rate():
    """SGD with lr far above 2 / L overflows; the run stops cleanly with finite records and no warning."""
    q = Quadratic.two_d(condition_number=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = run("sgd", q, 1000, lr=50.0)
    assert traj.diverged and traj.diverged_at < 1000, (
        "lr=50 on a curvature-1 quadratic must diverge"
    )
    assert np.all(np.isfinite(traj.loss)) and np.all(np.isfinite(traj.params)), (
        "records must be finite"
    )
    assert traj.loss[-1] > 1e100, (
        f"the loss before divergence should be huge, got {traj.loss[-1]:.3g}"
    )
    with pytest.warns(DivergenceWarning, match="diverged at step"):
        run("sgd", q, 1000, lr=50.0, on_divergence="warn")
    with pytest.raises(DivergenceError, match="diverged at step"):
        run("sgd", q, 1000, lr=50.0, on_divergence="raise")


def test_divergence_at_the_last_step_and_at_the_start():
    """A NaN loss at the final iterate truncates one step; a NaN at params0 is the caller's error."""
    traj = run("sgd", _NanAt(bad_below=1.8), 5, lr=0.1)  # only the final iterate's loss is NaN
    assert traj.diverged_at == 5 and traj.n_steps == 4, (
        f"diverged_at {traj.diverged_at}, n_steps {traj.n_steps}"
    )
    with pytest.raises(ValueError, match="params0 is not finite"):
        run("sgd", _NanAt(bad_t=1), 5, lr=0.1)
    with pytest.raises(ValueError, match="params0 is not finite"):
        run("sgd", Quadratic.two_d(), 5, params0=np.array([np.nan, 0.0]), lr=0.1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"optimizer": 3}, TypeError, "optimizer must be"),
        ({"optimizer": "adamx"}, ValueError, "unknown optimizer"),
        ({"optimizer": make_optimizer("adam"), "lr": 0.1}, TypeError, "already has them bound"),
        ({"steps": -1}, ValueError, "steps must be"),
        ({"steps": 2.5}, TypeError, "steps must be an integer >= 0, got 2.5 of type float"),
        ({"seed": -2}, ValueError, "seed must be"),
        ({"on_divergence": "ignore"}, ValueError, "on_divergence"),
        ({"objective": object()}, TypeError, "objective must provide"),
        ({"optimizer": "adafactor"}, ValueError, "adafactor cannot be applied to quadratic"),
        ({"params0": np.array(["a", "b"])}, TypeError, "params0"),
    ],
)
def test_run_argument_checks(kwargs, error, match):
    """Bad arguments to run raise a specific error naming the argument."""
    args = {"optimizer": "adam", "objective": Quadratic.two_d(), "steps": 3}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        run(args.pop("optimizer"), args.pop("objective"), args.pop("steps"), **args)


@given(st.floats(0.01, 1.5), st.floats(1.0, 50.0), st.integers(1, 30))
def test_sgd_trajectory_is_the_gradient_descent_recursion(lr, kappa, steps):
    """For any stable lr, SGD's record is theta_t = theta_{t-1} - lr * A (theta_{t-1} - theta*)."""
    q = Quadratic.two_d(condition_number=kappa, angle=0.7)
    traj = run("sgd", q, steps, lr=lr)
    expected = traj.params[:-1] - lr * (traj.params[:-1] - q.theta_star) @ q.A.T
    assert np.allclose(traj.params[1:], expected, rtol=1e-12, atol=1e-12), (
        "SGD record breaks the recursion"
    )
    assert isinstance(traj, Trajectory), f"run returned {type(traj).__name__}"


def test_a_thousand_steps_on_a_2d_quadratic_are_fast():
    """run's per-step overhead stays a small multiple of the bare update loop it wraps.

    Both are timed in CPU time of this process and compared with each other, so a
    busy or slow machine scales both alike: a wall-clock bound fails on a shared CI
    runner whatever the code does. The recorded diagnostics cost about 3 bare loops.
    """
    q = Quadratic.two_d()
    run("adam", q, 10, lr=0.1)  # warm up imports and caches

    def bare_loop():
        theta = q.init_params(0)
        m, v = optim.init_adam(theta)
        for t in range(1, 1001):
            theta, m, v = optim.adam_update(theta, q.grad(theta, t), m, v, t, lr=0.1)

    best = min(_cpu_time(lambda: run("adam", q, 1000, lr=0.1)) for _ in range(3))
    bare = min(_cpu_time(bare_loop) for _ in range(3))
    assert best < 8.0 * bare, (
        f"1000 steps of run took {best * 1e3:.0f} ms of CPU, {best / bare:.1f} times the bare "
        f"loop of adam_update ({bare * 1e3:.0f} ms); the per-step overhead has grown"
    )


def _cpu_time(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start
