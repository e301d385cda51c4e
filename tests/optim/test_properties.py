"""Properties every update rule must have, and identities from the papers."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_lr import optim

from ._cases import RULES, arrays_in

DTYPES = [np.float32, np.float64]
SHAPES = [(5,), (3, 4), (6, 2), (2, 3, 2)]


def _arrays(rng, shape, dtype, k=2):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(k)]


def _returned_arrays(out):
    out = out if isinstance(out, tuple) else (out,)
    return [x for x in out if isinstance(x, np.ndarray)]



@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(RULES))
def test_inputs_never_mutated_and_dtype_shape_preserved(name, dtype, rng):
    fn, build, matrix_only = RULES[name]
    for shape in SHAPES:
        if matrix_only and len(shape) != 2:
            continue
        theta, grad = _arrays(rng, shape, dtype)
        kwargs = build(theta, grad, rng)
        inputs = [theta, grad, *arrays_in(kwargs.values())]
        copies = [x.copy() for x in inputs]
        out = fn(theta, grad, **kwargs)
        for i, (x, c) in enumerate(zip(inputs, copies)):
            assert np.array_equal(x, c), f"{name} modified its input #{i} (shape {shape})"
        for y in _returned_arrays(out):
            assert y.dtype == dtype, f"{name}: {dtype.__name__} in, {y.dtype} out"
            assert not any(np.shares_memory(y, x) for x in inputs), (
                f"{name} returned an array that aliases an input"
            )
        assert _returned_arrays(out)[0].shape == shape, f"{name} changed the parameter shape"


@given(
    g=st.lists(
        st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3), min_size=1, max_size=8
    ),
    lr=st.floats(1e-4, 1.0),
)
def test_first_adam_step_is_minus_lr_sign_g(g, lr):
    grad = np.array(g)
    theta = np.zeros_like(grad)
    eps = 1e-8
    new, m, v = optim.adam_update(theta, grad, *optim.init_adam(theta), t=1, lr=lr, eps=eps)
    # m_hat = g and sqrt(v_hat) = |g| at t=1, so the step is -lr g/(|g|+eps).
    np.testing.assert_allclose(new, -lr * grad / (np.abs(grad) + eps), rtol=1e-12)
    # The distance to -lr sign(g) is lr eps/(|g|+eps), up to the rounding of new + lr.
    bound = lr * eps / np.abs(grad) + 4 * np.spacing(lr)
    assert np.all(np.abs(new + lr * np.sign(grad)) <= bound)


@given(g=st.floats(1e-3, 1e3), t=st.integers(1, 500), lr=st.floats(1e-3, 1.0))
def test_adagrad_effective_lr_for_a_constant_gradient(g, t, lr):
    theta = np.zeros(1)
    accum = optim.init_adagrad(theta)
    for _ in range(t):
        theta, accum = optim.adagrad_update(theta, np.array([g]), accum, lr=lr, eps=0.0)
    eff = optim.adagrad_effective_lr(accum, lr=lr, eps=0.0)
    assert math.isclose(eff[0], lr / (g * math.sqrt(t)), rel_tol=1e-9), (eff[0], t)


@given(beta=st.floats(0.0, 0.999), t=st.integers(1, 300))
def test_ema_weights_sum_and_match_the_recursion(beta, t):
    w = optim.ema_weights(beta, t)
    assert w.shape == (t,)
    assert math.isclose(w.sum(), 1 - beta**t, rel_tol=1e-9, abs_tol=1e-12)
    # m_t for the impulse g_i = e_i reads off the weight of g_i.
    grads = np.eye(t)
    m = np.zeros(t)
    for i in range(t):
        m = optim.ema_update(m, grads[i], beta)
    np.testing.assert_allclose(m, w, rtol=1e-9, atol=1e-15)


def _matrix_with_spectrum(rng, n, m, sigma):
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((m, m)))
    k = min(n, m)
    return (U[:, :k] * sigma) @ V[:, :k].T


@given(
    n=st.integers(2, 16),
    m=st.integers(2, 32),
    cond=st.floats(1.0, 30.0),
    scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**31),
)
def test_newton_schulz_maps_singular_values_into_band(n, m, cond, scale, seed):
    rng = np.random.default_rng(seed)
    k = min(n, m)
    sigma = scale * np.exp(np.linspace(0.0, math.log(cond), k))
    G = _matrix_with_spectrum(rng, n, m, rng.permutation(sigma))
    s = np.linalg.svd(optim.newton_schulz(G, steps=5), compute_uv=False)
    assert s.min() >= 0.6 and s.max() <= 1.3, f"singular values {s.min():.3f}..{s.max():.3f}"


def test_newton_schulz_keeps_singular_vectors(rng):
    G = rng.standard_normal((5, 8))
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    X = optim.newton_schulz(G)
    # U^T X V is diagonal: the iteration only reshapes singular values.
    D = U.T @ X @ Vt.T
    off = D - np.diag(np.diag(D))
    assert np.abs(off).max() < 1e-10


def test_adafactor_state_is_n_plus_m_against_adams_2nm():
    X = np.zeros((4096, 11))
    R, C = optim.init_adafactor(X)
    m, v = optim.init_adam(X)
    assert R.size + C.size == 4096 + 11
    assert m.size + v.size == 2 * 4096 * 11
    assert optim.adafactor_state_size(4096, 11008) == {"adafactor": 15104, "adam": 90177536}


def test_adafactor_factored_moment_is_exact_for_rank_one_squares(rng):
    # If G**2 = a b^T, the reconstruction R C^T / mean(R) equals G**2 itself, so the
    # update is G / |G| = sign(G) before clipping and relative scaling.
    a, b = np.abs(rng.standard_normal(4)) + 0.1, np.abs(rng.standard_normal(6)) + 0.1
    G = np.sqrt(np.outer(a, b)) * rng.choice([-1.0, 1.0], size=(4, 6))
    X = np.zeros((4, 6))
    new, R, C = optim.adafactor_update(X, G, *optim.init_adafactor(X), t=1, lr=1.0, eps2=1.0)
    # alpha = max(eps2, RMS(0)) * min(1, 1/sqrt(1)) = 1; U = sign(G) has RMS 1, no clipping.
    np.testing.assert_allclose(new, -np.sign(G), rtol=1e-12)


def test_adafactor_update_clipping_bounds_the_rms(rng):
    X = rng.standard_normal((5, 7))
    R, C = optim.init_adafactor(X)
    G = rng.standard_normal((5, 7))
    # A stale, tiny second moment makes U huge; clipping caps RMS(step) at alpha * d.
    R, C = R + 1e-12, C + 1e-12
    new, _, _ = optim.adafactor_update(X, 1e3 * G, R, C, t=50, lr=1e-2, beta2_decay=-0.01, d=1.0)
    alpha = max(1e-3, np.sqrt(np.mean(X**2))) * min(1e-2, 1 / np.sqrt(50))
    assert np.sqrt(np.mean((new - X) ** 2)) <= alpha * (1 + 1e-9)


@given(
    n=st.integers(1, 6), m=st.integers(1, 6), eps=st.floats(1e-6, 1.0), seed=st.integers(0, 2**31)
)
def test_shampoo_first_step_matches_closed_form(n, m, eps, seed):
    rng = np.random.default_rng(seed)
    W, G = rng.standard_normal((n, m)), rng.standard_normal((n, m))
    lr = 0.3
    new, L, R = optim.shampoo_update(W, G, *optim.init_shampoo(W, eps=eps), lr=lr)
    # With G = U S V^T: L^{-1/4} G R^{-1/4} = U diag(s / sqrt(s^2 + eps)) V^T.
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    expected = W - lr * (U * (s / np.sqrt(s**2 + eps))) @ Vt
    np.testing.assert_allclose(new, expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(L, eps * np.eye(n) + G @ G.T, rtol=1e-12)


@given(n=st.integers(1, 6), p=st.sampled_from([1, 2, 4, 8]), seed=st.integers(0, 2**31))
def test_matrix_inverse_root_inverts_the_power(n, p, seed):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    A = B @ B.T + 0.5 * np.eye(n)
    X = optim.matrix_inverse_root(A, p)
    np.testing.assert_allclose(np.linalg.matrix_power(X, p) @ A, np.eye(n), atol=1e-8)
    np.testing.assert_allclose(X, X.T, atol=1e-12)


@given(c=st.floats(1e-4, 1e4), seed=st.integers(0, 2**31), wd=st.sampled_from([0.0, 0.1]))
def test_lars_and_lamb_steps_ignore_gradient_scale(c, seed, wd):
    rng = np.random.default_rng(seed)
    w, g = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    v0 = np.zeros_like(w)
    # LARS: without decay the step depends on g/||g|| only.
    a, _ = optim.lars_update(w, g, v0, lr=0.1)
    b, _ = optim.lars_update(w, c * g, v0, lr=0.1)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # LAMB: Adam's direction m_hat/sqrt(v_hat) is scale-free when eps=0.
    m, v = optim.init_lamb(w)
    a, *_ = optim.lamb_update(w, g, m, v, 1, lr=0.1, eps=0.0, weight_decay=wd)
    b, *_ = optim.lamb_update(w, c * g, m, v, 1, lr=0.1, eps=0.0, weight_decay=wd)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@given(lr=st.floats(1e-4, 0.5), t=st.integers(1, 50), seed=st.integers(0, 2**31))
def test_lamb_relative_step_is_exactly_lr(lr, t, seed):
    rng = np.random.default_rng(seed)
    w, g = rng.standard_normal(7), rng.standard_normal(7)
    m, v = rng.standard_normal(7), np.abs(rng.standard_normal(7))
    new, _, _ = optim.lamb_update(w, g, m, v, t, lr=lr, weight_decay=0.0)
    rel = np.linalg.norm(new - w) / np.linalg.norm(w)
    assert math.isclose(rel, lr, rel_tol=1e-8), (rel, lr)


@given(lr=st.floats(1e-4, 0.5), tc=st.floats(1e-4, 1.0), seed=st.integers(0, 2**31))
def test_lars_relative_step_is_lr_times_trust_coefficient(lr, tc, seed):
    rng = np.random.default_rng(seed)
    w, g = rng.standard_normal(7), rng.standard_normal(7)
    new, _ = optim.lars_update(w, g, np.zeros(7), lr=lr, momentum=0.0, trust_coefficient=tc)
    rel = np.linalg.norm(new - w) / np.linalg.norm(w)
    # new - w cancels: a step of 1e-8 relative keeps ~8 of 16 digits.
    assert math.isclose(rel, lr * tc, rel_tol=1e-6), (rel, lr * tc)


def test_trust_ratio_falls_back_to_one_on_zero_norms():
    z, x = np.zeros(3), np.array([3.0, 4.0, 0.0])
    assert optim.trust_ratio(z, x) == 1.0
    assert optim.trust_ratio(x, z) == 1.0
    assert optim.trust_ratio(x, 2 * x) == 0.5
    assert isinstance(optim.trust_ratio(x, x), float)


def test_amsgrad_keeps_the_max_of_uncorrected_v(rng):
    theta = rng.standard_normal(6)
    m, v, vmax = optim.init_amsgrad(theta)
    prev = vmax
    for t in range(1, 40):
        g = rng.standard_normal(6) * (10.0 if t == 3 else 0.1)
        theta, m, v, vmax = optim.amsgrad_update(theta, g, m, v, vmax, t)
        assert np.all(vmax >= prev) and np.all(vmax >= v)
        np.testing.assert_array_equal(vmax, np.maximum(prev, v))
        prev = vmax


def test_zero_weight_decay_reduces_to_adam(rng):
    theta, g, m = rng.standard_normal((3, 4))
    v = np.abs(rng.standard_normal(4))
    ref = optim.adam_update(theta, g, m, v, 5)
    for fn in (optim.adamw_update, optim.adam_l2_update):
        for a, b in zip(fn(theta, g, m, v, 5, weight_decay=0.0), ref):
            np.testing.assert_array_equal(a, b)


def test_adamw_and_adam_l2_differ_when_v_is_uneven(rng):
    theta = np.array([1.0, 1.0])
    g = np.array([1e-3, 1e2])
    m, v = optim.init_adam(theta)
    a, *_ = optim.adamw_update(theta, g, m, v, 1, lr=0.1, weight_decay=0.5)
    b, *_ = optim.adam_l2_update(theta, g, m, v, 1, lr=0.1, weight_decay=0.5)
    assert np.abs(a - b).max() > 1e-2


def test_soap_with_identity_basis_is_adam(rng):
    # Diagonal G G^T and G^T G have (signed permutations of) the identity as eigenbasis.
    W = rng.standard_normal((3, 3))
    state = optim.init_soap(W)
    m, v = optim.init_adam(W)
    theta = W
    for t in range(1, 6):
        G = np.diag(rng.standard_normal(3))
        W, state = optim.soap_update(W, G, state, t, precondition_frequency=1)
        theta, m, v = optim.adam_update(theta, G, m, v, t, lr=3e-3, beta1=0.95, beta2=0.95)
        np.testing.assert_allclose(W, theta, rtol=1e-10, atol=1e-13)


def test_soap_first_step_is_the_polar_factor(rng):
    W, G = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    # eps matters here: G^T G (6x6) has two null directions where the rotated
    # gradient is rounding noise, and eps keeps noise/|noise| from becoming +-1.
    new, _ = optim.soap_update(W, G, optim.init_soap(W), 1, lr=0.01, eps=1e-8)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    # The entries of the rotated gradient that are zero in exact arithmetic come back as
    # rounding noise of about u |G|^3 / gap (the eigenvectors of G G^T and G^T G are
    # accurate to u |G|^2 / gap, the smallest gap between eigenvalues, 0 included), and
    # Adam's first step maps noise to noise / eps: lr times that is the error to allow
    # (measured at most 1.1 of it over 400 seeds and three BLAS kernels).
    gap = np.min(np.diff(np.sort(np.r_[s**2, 0.0])))
    atol = 10.0 * 0.01 * np.finfo(np.float64).eps * s[0] ** 3 / (gap * 1e-8)
    np.testing.assert_allclose(new, W - 0.01 * U @ Vt, rtol=0.0, atol=atol)


def test_muon_without_momentum_is_orthogonalized_gradient(rng):
    W, G = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    new, buf = optim.muon_update(W, G, np.zeros_like(W), lr=0.02, momentum=0.0)
    np.testing.assert_allclose(new, W - 0.02 * math.sqrt(2) * optim.newton_schulz(G), rtol=1e-12)
    np.testing.assert_allclose(buf, G)


def test_rmsprop_has_no_bias_correction_so_first_step_is_large():
    theta, g = np.zeros(1), np.array([1.0])
    new, v, _ = optim.rmsprop_update(theta, g, np.zeros(1), lr=0.01, beta2=0.99, eps=0.0)
    # v_1 = 0.01 g^2, so the step is lr / sqrt(0.01) = 10 lr.
    assert math.isclose(new[0], -0.1, rel_tol=1e-12)


def test_centered_rmsprop_divides_by_the_standard_deviation():
    theta = np.zeros(1)
    v, g_mean = optim.init_rmsprop(theta, centered=True)
    new, v, g_mean = optim.rmsprop_update(
        theta, np.array([2.0]), v, lr=1.0, beta2=0.5, eps=0.0, centered=True, g_mean=g_mean
    )
    # v = 2, g_mean = 1, std = sqrt(2 - 1) = 1.
    assert math.isclose(new[0], -2.0, rel_tol=1e-12)


def test_momentum_heavy_ball_and_nesterov():
    theta, g = np.zeros(1), np.array([1.0])
    buf = np.zeros(1)
    th, buf = optim.momentum_update(theta, g, buf, lr=1.0, momentum=0.5)
    th, buf = optim.momentum_update(th, g, buf, lr=1.0, momentum=0.5)
    assert th[0] == -2.5 and buf[0] == 1.5
    th, buf = optim.momentum_update(theta, g, np.zeros(1), lr=1.0, momentum=0.5, nesterov=True)
    assert th[0] == -1.5


def test_apply_to_layers_runs_each_layer_on_its_own(rng):
    layers = [rng.standard_normal((4, 3)), 100.0 * rng.standard_normal(3)]
    grads = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    opt = optim.make_optimizer("lamb", lr=0.01)
    params, states = optim.apply_to_layers(opt, layers, grads, optim.init_layers(opt, layers), 1)
    for w, new in zip(layers, params):
        rel = np.linalg.norm(new - w) / np.linalg.norm(w)
        assert math.isclose(rel, 0.01, rel_tol=1e-9), "each layer moves by lr relative to itself"
    with pytest.raises(ValueError, match="one entry per layer"):
        optim.apply_to_layers(opt, layers, grads[:1], states, 2)


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_every_registered_optimizer_decreases_a_quadratic(name):
    hp = {
        "sgd": {"lr": 0.1},
        "momentum": {"lr": 0.05},
        "nesterov": {"lr": 0.05},
        "rmsprop": {"lr": 0.01},
        "adagrad": {"lr": 0.3},
        "lars": {"lr": 10.0, "momentum": 0.5},
        "adafactor": {"lr": 0.1},
        "shampoo": {"lr": 0.1},
        "soap": {"lr": 0.05},
        "muon": {"lr": 0.05},
        "adadelta": {"lr": 10.0},
    }.get(name, {"lr": 0.05})
    opt = optim.make_optimizer(name, **hp)
    rng = np.random.default_rng(1)
    A = np.diag([1.0, 3.0, 10.0])
    theta = rng.standard_normal((3, 2))
    state = opt.init(theta)
    loss0 = 0.5 * np.sum(theta * (A @ theta))
    for t in range(1, 101):
        theta, state = opt.step(theta, A @ theta, state, t)
    loss = 0.5 * np.sum(theta * (A @ theta))
    assert loss < 0.5 * loss0, f"{name}: loss {loss0:.3g} -> {loss:.3g}"


def test_make_optimizer_rejects_unknown_names_and_keywords():
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'"):
        optim.make_optimizer("adamx")
    with pytest.raises(TypeError, match="adam: unexpected hyperparameter 'betta1'"):
        optim.make_optimizer("adam", betta1=0.9)
    with pytest.raises(TypeError, match="unexpected hyperparameter 't'"):
        optim.make_optimizer("lamb", t=3)
    for name in ("lars", "shampoo"):  # their lr has no default
        with pytest.raises(TypeError, match=f"{name}: {name}_update needs lr"):
            optim.make_optimizer(name)
