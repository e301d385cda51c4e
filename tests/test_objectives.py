"""The objectives: gradients against finite differences, minimizers, noise and minibatches
reproducible per step, the common interface, and argument checks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from adaptive_lr.objectives import (
    LogisticRegression,
    Objective,
    Quadratic,
    ReddiOnline,
    Rosenbrock,
    Saddle,
    SoftmaxRegression,
    TwoLayerNet,
    datasets,
    finite_difference_grad,
    loss_grid,
    random_rotation,
    sigmoid,
)

# One factory per kind of objective, small enough for full finite differences.
FACTORIES = {
    "quadratic2d": lambda: Quadratic.two_d(condition_number=10, angle=0.3),
    "quadratic_nd": lambda: Quadratic.random(6, condition_number=100, seed=3),
    "quadratic_noisy": lambda: Quadratic.random(4, noise_std=0.5, seed=1),
    "rosenbrock": lambda: Rosenbrock(),
    "saddle": lambda: Saddle(),
    "reddi": lambda: ReddiOnline(C=3.0),
    "logistic": lambda: LogisticRegression.synthetic(
        n_samples=60, n_features=4, l2=0.05, init_scale=0.3
    ),
    "logistic_minibatch": lambda: LogisticRegression.synthetic(
        n_samples=60, n_features=4, batch_size=8, init_scale=0.3
    ),
    "softmax": lambda: SoftmaxRegression.synthetic(
        n_samples=60, n_features=3, n_classes=4, l2=0.01, init_scale=0.3
    ),
    "softmax_minibatch": lambda: SoftmaxRegression.synthetic(
        n_samples=60, n_features=3, batch_size=10, init_scale=0.3
    ),
    "two_layer": lambda: TwoLayerNet.synthetic(
        n_samples=40, n_features=3, hidden=5, layer_scale=10.0
    ),
    "two_layer_l2_minibatch": lambda: TwoLayerNet.synthetic(
        n_samples=40, n_features=3, n_outputs=2, hidden=4, l2=0.1, batch_size=7
    ),
}


def _layers(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _max_abs_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(_layers(a), _layers(b)))


def _perturbed(params, rng, scale=0.5):
    return (
        [p + scale * rng.standard_normal(p.shape) for p in params]
        if isinstance(params, list)
        else (params + scale * rng.standard_normal(params.shape))
    )


# Newton's minimizer is exact to this many ulps of the gradient's rounding scale
# (measured: at most 0.35 on synthetic, badly scaled and breast-cancer problems,
# l2 from 1e-6 to 10, under the SkylakeX, Haswell, Nehalem and Prescott kernels).
NEWTON_ULPS = 8.0


def _logistic_grad_rounding_scale(obj, theta):
    r"""The size of the rounding error in ``full_grad(theta)``, per unit of eps.

    Each entry of :math:`\frac1n X^\top(\sigma(X\theta) - y) + \lambda\theta` is a
    sum of terms :math:`x_{ij}(p_i - y_i)/n`; a relative error eps in :math:`\theta`
    (what rounding the minimizer itself costs) moves :math:`z_i` by up to
    :math:`\epsilon\sum_j |x_{ij}\theta_j|` and :math:`p_i` by :math:`p_i(1-p_i)` times
    that. Summed in absolute value this bounds, to first order and up to the
    summation's growth factor, what any floating-point gradient at a rounded
    minimizer can be, whatever the BLAS kernel: a gradient is zero to machine
    precision when it is a small multiple of eps times this scale.
    """
    aX = np.abs(obj.X)
    p = sigmoid(obj.X @ theta)
    terms = np.abs(p - obj.y) + p * (1.0 - p) * (aX @ np.abs(theta))
    return float(np.max(aX.T @ terms / obj.n_samples + obj.l2 * np.abs(theta)))


def _assert_logistic_stationary(obj, theta):
    g = np.abs(obj.full_grad(theta)).max()
    bound = NEWTON_ULPS * np.finfo(np.float64).eps * _logistic_grad_rounding_scale(obj, theta)
    assert g <= bound, (
        f"{obj.name}, l2={obj.l2}: |full_grad(minimizer)| = {g:.3g} > {bound:.3g} "
        f"({NEWTON_ULPS:g} eps times the gradient's rounding scale): Newton stopped short"
    )


@pytest.fixture(params=sorted(FACTORIES))
def objective(request):
    return FACTORIES[request.param]()


def test_full_grad_matches_finite_differences(objective, rng):
    """full_grad is the gradient of value, at the start and at a perturbed point."""
    for params in (objective.init_params(0), _perturbed(objective.init_params(0), rng)):
        expected = finite_difference_grad(objective.value, params)
        got = objective.full_grad(params)
        scale = max(1.0, max(float(np.max(np.abs(g))) for g in _layers(expected)))
        err = _max_abs_diff(got, expected)
        assert err < 1e-6 * scale, (
            f"{objective.name}: full_grad differs from finite differences by {err:.3g}"
        )


def test_grad_has_the_structure_of_params(objective):
    """grad returns float64 arrays with the shapes of params (a list for the two-layer net)."""
    params = objective.init_params(0)
    g = objective.grad(params, t=2)
    assert isinstance(g, list) == isinstance(params, list), (
        f"{objective.name}: grad and params differ in structure"
    )
    for gi, pi in zip(_layers(g), _layers(params)):
        assert gi.shape == pi.shape, (
            f"{objective.name}: grad shape {gi.shape} != params shape {pi.shape}"
        )
        assert gi.dtype == np.float64, f"{objective.name}: grad dtype {gi.dtype}, expected float64"


def test_value_and_grad_agrees_with_value_and_grad(objective):
    """value_and_grad(p, t) returns exactly (value(p, t), grad(p, t)) at every t."""
    params = objective.init_params(0)
    for t in (1, 2, 3, 17):
        v, g = objective.value_and_grad(params, t)
        assert isinstance(v, float), (
            f"{objective.name}: value_and_grad's value is {type(v).__name__}, not float"
        )
        assert np.isclose(v, objective.value(params, t), rtol=1e-13, atol=1e-15), (
            f"{objective.name}: values differ at t={t}"
        )
        assert _max_abs_diff(g, objective.grad(params, t)) < 1e-13, (
            f"{objective.name}: gradients differ at t={t}"
        )


def test_deterministic_grad_equals_full_grad_and_stochastic_grad_does_not(objective):
    """grad(p, t) == full_grad(p) for deterministic objectives; stochastic ones differ but repeat per t."""
    params = objective.init_params(0)
    full = objective.full_grad(params)
    if not objective.stochastic:
        for t in (1, 5):
            assert _max_abs_diff(objective.grad(params, t), full) < 1e-13, (
                f"{objective.name}: grad(t={t}) != full_grad"
            )
    else:
        g3 = objective.grad(params, 3)
        assert _max_abs_diff(g3, objective.grad(params, 3)) == 0.0, (
            f"{objective.name}: grad at t=3 is not reproducible"
        )
        differs = [_max_abs_diff(objective.grad(params, t), full) > 1e-8 for t in (1, 2, 3)]
        assert any(differs), (
            f"{objective.name} is marked stochastic but grad never differs from full_grad"
        )


def test_inputs_are_not_modified(objective):
    """value, grad and project leave params untouched."""
    params = objective.init_params(0)
    copy = [p.copy() for p in _layers(params)]
    objective.value_and_grad(params, 4)
    objective.full_grad(params)
    objective.project(params)
    assert _max_abs_diff(params, copy) == 0.0, f"{objective.name} modified its params argument"


def test_init_params_is_reproducible(objective):
    """init_params(seed) returns the same start for the same seed, and a fresh copy each time."""
    a, b = objective.init_params(7), objective.init_params(7)
    assert _max_abs_diff(a, b) == 0.0, f"{objective.name}: init_params(7) is not reproducible"
    _layers(a)[0][...] = 123.0
    assert _max_abs_diff(objective.init_params(7), b) == 0.0, (
        f"{objective.name}: init_params returned shared storage"
    )


def test_minimizer_is_stationary_when_known(objective):
    """Where a minimizer is known, full_grad vanishes there (Reddi: it is the best point of [-1, 1])."""
    theta_star = objective.minimizer
    if theta_star is None:
        documented = isinstance(objective, (SoftmaxRegression, TwoLayerNet)) or (
            isinstance(objective, LogisticRegression) and objective.l2 == 0.0
        )
        assert documented, f"{objective.name} should know its minimizer"
        return
    if isinstance(objective, ReddiOnline):
        xs = np.linspace(-1, 1, 41)
        best = xs[np.argmin([objective.value(np.array([x])) for x in xs])]
        assert best == theta_star[0] == -1.0, (
            f"the best point of Reddi's average loss is {best}, expected -1"
        )
        return
    g = objective.full_grad(theta_star)
    if isinstance(objective, LogisticRegression):
        _assert_logistic_stationary(objective, theta_star)
    else:  # closed-form minimizers (quadratic, Rosenbrock): the gradient is exactly zero
        assert not np.any(g), f"{objective.name}: |full_grad(minimizer)| = {np.abs(g).max():.3g}"
    assert objective.value(theta_star) <= objective.value(objective.init_params(0)), (
        f"{objective.name}: the minimizer has a higher loss than the start"
    )


def test_project_is_identity_except_for_reddi(objective):
    """project returns params unchanged for every unconstrained objective."""
    params = _perturbed(objective.init_params(0), np.random.default_rng(0), scale=5.0)
    projected = objective.project(params)
    if isinstance(objective, ReddiOnline):
        assert -1.0 <= projected[0] <= 1.0, (
            f"Reddi's projection left {projected[0]} outside [-1, 1]"
        )
    else:
        assert projected is params, f"{objective.name}: project is not the identity"


def test_interface_is_uniform(objective):
    """Every objective is an Objective with a name, a stochastic flag and a param_shapes."""
    assert isinstance(objective, Objective), (
        f"{type(objective).__name__} does not derive from Objective"
    )
    assert isinstance(objective.name, str) and objective.name, "name must be a non-empty string"
    assert isinstance(objective.stochastic, bool), (
        f"{objective.name}: stochastic is {objective.stochastic!r}"
    )
    shapes = objective.param_shapes
    params = objective.init_params(0)
    if isinstance(params, list):
        assert tuple(p.shape for p in params) == shapes, (
            f"{objective.name}: param_shapes {shapes} != init shapes"
        )
    else:
        assert params.shape == shapes, (
            f"{objective.name}: param_shapes {shapes} != init shape {params.shape}"
        )
    assert objective.name in repr(objective), f"repr does not name the objective: {objective!r}"


def test_stochastic_gradients_are_unbiased():
    """The mean of many noisy or minibatch gradients approaches full_grad (within 5 standard errors)."""
    cases = [
        Quadratic.random(3, noise_std=1.0, seed=4),
        LogisticRegression.synthetic(n_samples=50, n_features=3, batch_size=5, init_scale=1.0),
        TwoLayerNet.synthetic(n_samples=30, n_features=2, hidden=3, batch_size=6),
    ]
    for obj in cases:
        params = obj.init_params(1)
        samples = [
            np.concatenate([g.ravel() for g in _layers(obj.grad(params, t))])
            for t in range(1, 2001)
        ]
        samples = np.array(samples)
        full = np.concatenate([g.ravel() for g in _layers(obj.full_grad(params))])
        stderr = samples.std(axis=0) / np.sqrt(len(samples)) + 1e-12
        z = np.abs(samples.mean(axis=0) - full) / stderr
        assert z.max() < 5.0, (
            f"{obj.name}: mean stochastic gradient is {z.max():.1f} standard errors from full_grad"
        )


def test_minibatch_noise_depends_on_seed_and_step_only():
    """Two objectives with the same seed draw the same minibatch at step t; another seed draws another."""
    a = LogisticRegression.synthetic(n_samples=80, batch_size=4, seed=5)
    b = LogisticRegression.synthetic(n_samples=80, batch_size=4, seed=5)
    c = LogisticRegression(a.X[:, :-1], a.y, batch_size=4, seed=6)
    theta = np.linspace(-1, 1, a.X.shape[1])
    b.grad(theta, 1)  # consuming other steps first must not change step 9
    assert np.array_equal(a.grad(theta, 9), b.grad(theta, 9)), (
        "same seed and t gave different minibatches"
    )
    assert not np.array_equal(a.grad(theta, 9), c.grad(theta, 9)), (
        "a different seed gave the same minibatch"
    )


# -- quadratics --------------------------------------------------------------------------


def test_two_d_quadratic_has_the_requested_curvature():
    """two_d: eigenvalues (1/kappa, 1) * max_eigenvalue; the flat direction is (cos a, sin a)."""
    q = Quadratic.two_d(condition_number=25, angle=0.4, max_eigenvalue=2.0)
    assert np.allclose(q.eigenvalues, [2.0 / 25, 2.0]), (
        f"eigenvalues {q.eigenvalues}, expected [0.08, 2]"
    )
    assert np.isclose(q.condition_number, 25.0), (
        f"condition number {q.condition_number}, expected 25"
    )
    flat = np.array([np.cos(0.4), np.sin(0.4)])
    assert np.allclose(q.A @ flat, (2.0 / 25) * flat), (
        "the flat eigenvector is not (cos 0.4, sin 0.4)"
    )
    assert np.array_equal(q.init_params(0), [-4.0, 3.0]), (
        "two_d should start at the fixed theta0 (-4, 3)"
    )


def test_random_quadratic_condition_number_and_rotation():
    """random(): eigenvalues log-spaced to the requested kappa; rotate=False gives a diagonal A."""
    q = Quadratic.random(8, condition_number=1e3, seed=2)
    assert np.isclose(q.condition_number, 1e3), (
        f"condition number {q.condition_number}, expected 1e3"
    )
    assert np.allclose(np.diff(np.log(q.eigenvalues)), np.log(1e3) / 7), (
        "eigenvalues are not log-spaced"
    )
    off_diag = np.abs(q.A - np.diag(np.diag(q.A))).max()
    assert off_diag > 1e-3, "rotate=True left A (nearly) diagonal"
    d = Quadratic.random(8, condition_number=1e3, rotate=False)
    assert np.array_equal(d.A, np.diag(np.diag(d.A))), "rotate=False must give a diagonal A"
    Q = random_rotation(5, seed=1)
    assert np.allclose(Q.T @ Q, np.eye(5)), "random_rotation is not orthogonal"
    assert np.allclose(random_rotation(5, seed=1), Q), "random_rotation is not reproducible"


def test_quadratic_noise_is_reproducible_and_value_is_noise_free():
    """The gradient noise has the requested std; value ignores it."""
    q = Quadratic.random(3, noise_std=0.7, seed=9)
    theta = q.theta_star.copy()  # the exact gradient is zero here, so grad is pure noise
    noise = np.array([q.grad(theta, t) for t in range(1, 3001)])
    assert abs(noise.std() - 0.7) < 0.03, f"noise std {noise.std():.3f}, expected 0.7"
    assert np.array_equal(q.grad(theta, 11), noise[10]), "the noise at t=11 is not reproducible"
    assert q.value(theta, 5) == 0.0, "value should be the noise-free loss (0 at the minimizer)"


@given(
    arrays(np.float64, 2, elements=st.floats(-100, 100)), st.floats(1, 1e4), st.floats(-3.2, 3.2)
)
def test_quadratic_value_and_grad_identities(theta, kappa, angle):
    """f(theta) = 1/2 g^T A^{-1} g >= 0 and grad is linear: grad(theta) - grad(theta*) = A (theta - theta*)."""
    q = Quadratic.two_d(condition_number=kappa, angle=angle, theta_star=(1.0, -2.0))
    v, g = q.value_and_grad(theta)
    d = theta - q.theta_star
    assert v >= 0.0, f"a convex quadratic gave a negative value {v}"
    assert np.allclose(g, q.A @ d, rtol=1e-10, atol=1e-9), "grad is not A (theta - theta*)"
    assert np.isclose(v, 0.5 * d @ g, rtol=1e-9, atol=1e-9), (
        "value is not 1/2 (theta - theta*)^T grad"
    )


def test_loss_grid_matches_value():
    """loss_grid evaluates value at each grid point, with default bounds around the start."""
    q = Quadratic.two_d(condition_number=5, angle=0.2)
    X, Y, Z = q.loss_grid(num=7)
    assert X.shape == Y.shape == Z.shape == (7, 7), f"grid shapes {X.shape}, {Y.shape}, {Z.shape}"
    assert np.isclose(Z[3, 5], q.value(np.array([X[3, 5], Y[3, 5]]))), (
        "Z differs from value at a grid point"
    )
    assert X.min() <= -4.0 and Y.max() >= 3.0, "the default bounds do not contain the start (-4, 3)"
    X2, Y2, Z2 = loss_grid(Rosenbrock(), xlim=(-2, 2), ylim=(-1, 3), num=5)
    assert np.isclose(Z2[2, 3], Rosenbrock().value(np.array([X2[2, 3], Y2[2, 3]]))), (
        "Rosenbrock grid is wrong"
    )
    with pytest.raises(ValueError, match="two parameters"):
        Quadratic.random(3).loss_grid((-1, 1), (-1, 1))
    with pytest.raises(ValueError, match="xlim"):
        q.loss_grid(xlim=(1, -1))


# -- logistic and softmax ----------------------------------------------------------------


def test_sigmoid_is_stable_and_symmetric():
    """sigmoid saturates without overflow warnings and satisfies sigma(-z) = 1 - sigma(z)."""
    z = np.array([-1000.0, -30.0, 0.0, 2.5, 1000.0])
    s = sigmoid(z)
    assert np.array_equal(s[[0, 2, 4]], [0.0, 0.5, 1.0]), (
        f"sigmoid at -1000, 0, 1000 gave {s[[0, 2, 4]]}"
    )
    assert np.allclose(sigmoid(-z), 1.0 - s), "sigmoid(-z) != 1 - sigmoid(z)"


def test_logistic_loss_at_zero_is_log_two_and_large_weights_do_not_overflow():
    """At theta = 0 every prediction is 1/2 (loss log 2); at huge theta the loss stays finite."""
    obj = LogisticRegression.breast_cancer()
    assert obj.param_shapes == (31,), (
        f"breast cancer params {obj.param_shapes}, expected (31,) with intercept"
    )
    assert np.isclose(obj.value(np.zeros(31)), np.log(2.0)), "loss at zero should be log 2"
    v, g = obj.value_and_grad(np.full(31, 1e4))
    assert np.isfinite(v) and np.all(np.isfinite(g)), "loss or gradient overflowed at large weights"
    assert np.allclose(obj.X[:, :-1].mean(axis=0), 0.0, atol=1e-12), "features are not standardized"


def test_logistic_minimizer_by_newton_and_hessian():
    """With l2 > 0 the minimizer zeroes the gradient; the Hessian matches differences of full_grad."""
    obj = LogisticRegression.synthetic(n_samples=100, n_features=4, l2=0.1)
    theta = obj.minimizer
    _assert_logistic_stationary(obj, theta)
    point = np.linspace(-0.5, 0.5, theta.size)
    H_fd = np.array(
        [
            finite_difference_grad(lambda p, i=i: obj.full_grad(p)[i], point)
            for i in range(theta.size)
        ]
    )
    assert np.allclose(obj.hessian(point), H_fd, atol=1e-7), (
        "hessian differs from finite differences"
    )
    assert LogisticRegression.synthetic(l2=0.0).minimizer is None, (
        "without L2 the minimizer should be None"
    )
    assert 0.6 < obj.accuracy(theta) <= 1.0, (
        f"the fitted model's accuracy is {obj.accuracy(theta):.2f}"
    )


@pytest.mark.parametrize(
    "make",
    [
        # separable data and a tiny l2: the minimizer is far out and plain Newton overshoots
        lambda: LogisticRegression.breast_cancer(l2=1e-6),
        lambda: LogisticRegression.breast_cancer(l2=10.0),
        # features on scales 1e-2 .. 1e2: a Hessian with condition number about 1e8
        lambda: LogisticRegression.synthetic(
            n_samples=200, n_features=6, l2=1e-4, seed=1, feature_scales=np.logspace(-2, 2, 6)
        ),
        lambda: LogisticRegression.synthetic(n_samples=100, n_features=4, l2=1e-6, seed=2),
    ],
    ids=["breast_cancer_tiny_l2", "breast_cancer_large_l2", "badly_scaled", "synthetic_tiny_l2"],
)
def test_logistic_minimizer_is_exact_to_machine_precision(make):
    """Newton's minimizer zeroes the gradient to a few eps of its rounding scale, and no
    other point does visibly better on the loss."""
    obj = make()
    theta = obj.minimizer
    _assert_logistic_stationary(obj, theta)
    rng = np.random.default_rng(0)
    nearby = theta * (1.0 + 1e-5 * rng.standard_normal(theta.shape))
    assert obj.value(theta) <= obj.value(nearby), f"{obj.name}: a nearby point has a lower loss"


@given(
    arrays(np.float64, 4, elements=st.floats(-20, 20)),
    arrays(np.float64, 4, elements=st.floats(-20, 20)),
)
def test_logistic_loss_is_convex_and_nonnegative(a, b):
    """L((a+b)/2) <= (L(a)+L(b))/2, and the log-loss is >= 0."""
    obj = LogisticRegression.synthetic(n_samples=30, n_features=3, seed=2)
    la, lb, lm = obj.value(a), obj.value(b), obj.value(0.5 * (a + b))
    assert lm <= 0.5 * (la + lb) + 1e-9, f"convexity violated: {lm} > ({la} + {lb}) / 2"
    assert min(la, lb, lm) >= 0.0, "the log-loss is negative"


@given(arrays(np.float64, (4, 3), elements=st.floats(-50, 50)))
def test_softmax_gradient_rows_sum_to_zero(W):
    """Adding a constant to every class's logit changes nothing, so each row of the gradient sums to 0."""
    obj = SoftmaxRegression.synthetic(n_samples=30, n_features=3, n_classes=3, seed=1)
    g = obj.grad(W)
    assert np.allclose(g.sum(axis=1), 0.0, atol=1e-10), f"gradient row sums {g.sum(axis=1)}"
    assert np.isclose(obj.value(W), obj.value(W + 3.0)), (
        "the loss changed when every logit was shifted"
    )


def test_softmax_on_digits_starts_at_log_k():
    """The digits objective: 65 x 10 parameters, loss log 10 at zero, accuracy in [0, 1]."""
    obj = SoftmaxRegression.digits()
    W = obj.init_params(0)
    assert W.shape == (65, 10), f"digits params have shape {W.shape}, expected (65, 10)"
    assert np.isclose(obj.value(W), np.log(10.0)), "the loss at W = 0 should be log 10"
    g = obj.grad(W)
    rng = np.random.default_rng(0)
    for _ in range(
        3
    ):  # directional derivatives: full finite differences would take 1300 evaluations
        v = rng.standard_normal(W.shape)
        fd = (obj.value(W + 1e-5 * v) - obj.value(W - 1e-5 * v)) / 2e-5
        assert np.isclose(fd, np.vdot(g, v), rtol=1e-6, atol=1e-8), (
            f"directional derivative {fd} != {np.vdot(g, v)}"
        )
    assert 0.0 <= obj.accuracy(W) <= 1.0, "accuracy outside [0, 1]"


def test_datasets_are_seeded_and_shaped():
    """The synthetic sets repeat per seed; the shipped sets have their documented shapes."""
    X1, y1 = datasets.make_binary_data(50, 3, seed=1)
    X2, y2 = datasets.make_binary_data(50, 3, seed=1)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2), "make_binary_data is not reproducible"
    assert set(np.unique(y1)) <= {0.0, 1.0}, f"binary labels {np.unique(y1)}"
    X, y = datasets.make_multiclass_data(30, 2, n_classes=3)
    assert X.shape == (30, 2) and set(y) == {0, 1, 2}, (
        "multiclass data has the wrong shape or classes"
    )
    Xb, yb = datasets.load_breast_cancer_data()
    assert Xb.shape == (569, 30) and yb.shape == (569,), (
        f"breast cancer shapes {Xb.shape}, {yb.shape}"
    )
    Xd, yd = datasets.load_digits_data(n_classes=3)
    assert Xd.shape[1] == 64 and set(yd) == {0, 1, 2}, (
        "digits subset has the wrong features or classes"
    )
    Z = datasets.standardize(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert np.array_equal(Z, [[-1.0, 0.0], [1.0, 0.0]]), (
        f"standardize gave {Z} (a constant column must become 0)"
    )


# -- Rosenbrock, Reddi, two-layer net ----------------------------------------------------


@given(arrays(np.float64, 2, elements=st.floats(-3, 3)))
def test_rosenbrock_gradient_and_minimum(theta):
    """Rosenbrock is >= 0, zero only at (1, 1), and its gradient matches finite differences."""
    f = Rosenbrock()
    assert f.value(theta) >= 0.0, "Rosenbrock is a sum of squares"
    g, fd = f.grad(theta), finite_difference_grad(f.value, theta, h=1e-6)
    assert np.allclose(g, fd, rtol=1e-5, atol=1e-4), f"gradient {g} vs finite differences {fd}"
    assert f.value(np.array([1.0, 1.0])) == 0.0 and np.array_equal(f.minimizer, [1.0, 1.0]), (
        "minimizer is (1, 1)"
    )


@given(arrays(np.float64, 2, elements=st.floats(-3, 3)))
def test_saddle_gradient_minima_and_saddle_point(theta):
    """The double well is >= -1/4 with minima (0, +-1), a saddle at 0, and the gradient of its value."""
    f = Saddle(curvature=2.0)
    assert f.value(theta) >= -0.25, "f >= -1/4 everywhere"
    g, fd = f.grad(theta), finite_difference_grad(f.value, theta, h=1e-6)
    assert np.allclose(g, fd, rtol=1e-5, atol=1e-4), f"gradient {g} vs finite differences {fd}"
    assert f.value(f.minimizer) == -0.25 and np.array_equal(f.minimizer, [0.0, 1.0]), (
        "the minimum on the start's side is (0, 1)"
    )
    assert np.array_equal(Saddle(theta0=(1.0, -0.1)).minimizer, [0.0, -1.0]), (
        "a start below the ridge has the minimum (0, -1)"
    )
    assert not np.any(f.grad(np.zeros(2))) and f.value(np.zeros(2)) == 0.0, "the origin is stationary"


def test_reddi_gradient_cycle_projection_and_regret():
    """Gradients C, -1, -1, C, ...; project clips to [-1, 1]; playing -1 has zero regret at period ends."""
    r = ReddiOnline(C=3.0)
    x = r.init_params()
    grads = [r.grad(x, t)[0] for t in range(1, 7)]
    assert grads == [3.0, -1.0, -1.0, 3.0, -1.0, -1.0], f"gradient cycle {grads}"
    assert (
        r.online_value(np.array([0.5]), 1) == 1.5 and r.online_value(np.array([0.5]), 2) == -0.5
    ), "f_t wrong"
    assert np.array_equal(r.project(np.array([3.0])), [1.0]), "project should clip 3 to 1"
    assert np.isclose(r.value(np.array([1.0])), 1.0 / 3.0), "the average loss at +1 is (C-2)/3"
    assert r.paper_betas == {"beta1": 0.0, "beta2": 0.1}, (
        f"paper betas {r.paper_betas}, expected beta2 = 1/(1+C^2)"
    )
    regret = r.regret(-np.ones(9))
    assert np.allclose(regret[2::3], 0.0), (
        f"always playing -1 has zero regret at period ends, got {regret[2::3]}"
    )
    assert r.regret(np.ones(300))[-1] > 0.5 * 300, "always playing +1 must have linear regret"


def test_two_layer_layer_scale_multiplies_the_output_layer():
    """layer_scale multiplies W2's initialization exactly and leaves W1 and the biases alone."""
    a = TwoLayerNet.synthetic(n_samples=20, hidden=6)
    b = TwoLayerNet(a.X, a.Y, hidden=6, layer_scale=100.0)
    pa, pb = a.init_params(3), b.init_params(3)
    assert np.allclose(pb[2], 100.0 * pa[2]), "W2 should be exactly layer_scale times larger"
    assert np.array_equal(pa[0], pb[0]) and not pa[1].any() and not pb[3].any(), (
        "W1 changed or biases not zero"
    )
    assert b.predict(pb).shape == (20, 1), "predict should give one output per sample"
    assert np.isclose(a.value(pa), 0.5 * np.mean((a.predict(pa) - a.Y) ** 2)), (
        "value is not half the mean squared error"
    )


# -- argument checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda q: q.value(np.zeros(3)), ValueError, "shape"),
        (lambda q: q.value("ab"), TypeError, "params"),
        (lambda q: q.grad(np.zeros(2), t=0), ValueError, "t must be >= 1"),
        (lambda q: q.grad(np.zeros(2), t=1.5), TypeError, "t must be an integer"),
        (lambda q: q.value_and_grad(np.zeros(2), t=True), TypeError, "t must be an integer"),
        (lambda q: q.init_params(seed=-1), ValueError, "seed"),
        (lambda q: q.full_grad([1.0, 2.0, 3.0]), ValueError, "shape"),
    ],
)
def test_interface_argument_checks(call, error, match):
    """Wrong params, t or seed raise a specific error naming the argument."""
    with pytest.raises(error, match=match):
        call(Quadratic.two_d())


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: Quadratic([[1.0, 2.0], [0.0, 1.0]]), ValueError, "symmetric"),
        (lambda: Quadratic([[1.0, 0.0], [0.0, -1.0]]), ValueError, "positive semi-definite"),
        (lambda: Quadratic.two_d(condition_number=0.5), ValueError, "condition_number"),
        (lambda: Quadratic.random(3, noise_std=-1.0), ValueError, "noise_std"),
        (lambda: Quadratic.random(0), ValueError, "dim"),
        (lambda: LogisticRegression(np.ones((3, 2)), [0, 1, 2]), ValueError, "labels 0 and 1"),
        (lambda: LogisticRegression(np.ones((3, 2)), [0, 1]), ValueError, "one label per row"),
        (lambda: LogisticRegression.synthetic(batch_size=0), ValueError, "batch_size"),
        (lambda: LogisticRegression.synthetic(l2=-0.1), ValueError, "l2"),
        (
            lambda: SoftmaxRegression(np.ones((3, 2)), [0, 1, 5], n_classes=3),
            ValueError,
            "n_classes",
        ),
        (
            lambda: SoftmaxRegression(np.ones((3, 2)), [0.5, 1, 0]),
            ValueError,
            "integer class labels",
        ),
        (lambda: ReddiOnline(C=2.0), ValueError, "C must be > 2"),
        (lambda: Saddle(curvature=0.0), ValueError, "curvature"),
        (lambda: ReddiOnline(x0=2.0), ValueError, "x0"),
        (lambda: TwoLayerNet(np.ones((4, 2)), np.ones(3)), ValueError, "one row per row of X"),
        (lambda: TwoLayerNet.synthetic(layer_scale=0.0), ValueError, "layer_scale"),
        (lambda: TwoLayerNet.synthetic().value([np.zeros((4, 16))]), ValueError, "4 layers"),
        (lambda: TwoLayerNet.synthetic().value(np.zeros(3)), TypeError, "list of 4 arrays"),
        (lambda: datasets.load_digits_data(n_classes=11), ValueError, "n_classes"),
        (
            lambda: finite_difference_grad(lambda p: 0.0, np.zeros(2), h=0.0),
            ValueError,
            "h must be a finite number > 0",
        ),
    ],
)
def test_constructor_argument_checks(build, error, match):
    """Bad constructor arguments raise a specific error naming the argument."""
    with pytest.raises(error, match=match):
        build()


def test_finite_difference_grad_on_a_known_function():
    """finite_difference_grad recovers the gradient of sum(x^3) on an array and on a list of arrays."""
    x = np.array([1.0, -2.0, 0.5])
    assert np.allclose(finite_difference_grad(lambda p: np.sum(p**3), x), 3 * x**2, atol=1e-6), (
        "array case wrong"
    )
    layers = [x, np.array([[2.0]])]
    g = finite_difference_grad(lambda ps: np.sum(ps[0] ** 3) + np.sum(ps[1] ** 2), layers)
    assert np.allclose(g[0], 3 * x**2, atol=1e-6) and np.allclose(g[1], [[4.0]], atol=1e-6), (
        "list case wrong"
    )
