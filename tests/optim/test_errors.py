"""Bad input gets a specific error that names the argument and the allowed range."""

import re

import numpy as np
import pytest

from adaptive_lr import optim

x = np.ones(3)
M = np.ones((2, 3))
z = np.zeros(3)


def adam(**kw):
    args = dict(theta=x, grad=x, m=z, v=z, t=1)
    args.update(kw)
    return optim.adam_update(**args)


CASES = [
    # (call, error type, message pattern)
    (lambda: adam(beta1=1.2), ValueError, r"beta1 must be in [0, 1), got 1.2"),
    (lambda: adam(beta2=1.0), ValueError, r"beta2 must be in [0, 1), got 1.0"),
    (lambda: adam(beta1=-0.1), ValueError, r"beta1 must be in [0, 1), got -0.1"),
    (lambda: adam(lr=-1e-3), ValueError, r"lr must be a finite number >= 0, got -0.001"),
    (lambda: adam(eps=-1.0), ValueError, r"eps must be a finite number >= 0, got -1.0"),
    (lambda: adam(lr=float("nan")), ValueError, r"lr must be a number, got nan"),
    (lambda: adam(t=0), ValueError, r"t must be >= 1 (the first step is t=1), got 0"),
    (lambda: adam(t=2.0), TypeError, r"t must be an integer (the 1-based step index), got 2.0"),
    (lambda: adam(t=True), TypeError, r"t must be an integer"),
    (lambda: adam(grad=np.ones(4)), ValueError, r"grad has shape (4,) but theta has shape (3,)"),
    (lambda: adam(m=np.zeros((3, 1))), ValueError, r"m has shape (3, 1) but theta has shape (3,)"),
    (lambda: adam(theta=[1.0, 2.0, 3.0]), TypeError, r"theta must be an array"),
    (lambda: adam(theta=np.arange(3)), TypeError, r"theta must have a real floating dtype, got int64"),
    (
        lambda: adam(grad=x.astype(np.float32)),
        TypeError,
        r"grad has dtype float32 but theta has dtype float64",
    ),
    (
        lambda: adam(grad=np.array([1.0, np.nan, np.inf])),
        ValueError,
        r"grad contains 2 non-finite value(s) (NaN or inf) out of 3",
    ),
    (lambda: optim.ema_update(z, x, 1.0), ValueError, r"beta must be in [0, 1), got 1.0"),
    (lambda: optim.ema_weights(0.9, 0), ValueError, r"t must be >= 1"),
    (
        lambda: optim.adagrad_effective_lr(-x),
        ValueError,
        r"accum must be >= 0 everywhere",
    ),
    (
        lambda: optim.amsgrad_update(x, x, z, z, np.zeros(2), 1),
        ValueError,
        r"vmax has shape (2,) but theta has shape (3,)",
    ),
    (
        lambda: optim.adamw_update(x, x, z, z, 1, weight_decay=-0.1),
        ValueError,
        r"weight_decay must be a finite number >= 0, got -0.1",
    ),
    (
        lambda: optim.adafactor_update(x, x, z, z, 1),
        ValueError,
        r"X must be a matrix (Adafactor factors the second moment of a matrix), got an array of shape (3,)",
    ),
    (
        lambda: optim.adafactor_update(M, M, np.zeros(3), np.zeros(3), 1),
        ValueError,
        r"R must have shape (2,), got (3,)",
    ),
    (
        lambda: optim.adafactor_update(M, M, np.zeros(2), np.zeros(3), 1, d=0.0),
        ValueError,
        r"d must be a finite number > 0, got 0.0",
    ),
    (
        lambda: optim.adafactor_update(M, M, np.zeros(2), np.zeros(3), 1, beta2_decay=0.5),
        ValueError,
        r"beta2_decay must be in [-1, 0], got 0.5",
    ),
    (
        lambda: optim.lars_update(x, x, z, lr=0.1, momentum=1.0),
        ValueError,
        r"momentum must be in [0, 1), got 1.0",
    ),
    (
        lambda: optim.lars_update(x, x, z, lr=0.1, trust_coefficient=-1),
        ValueError,
        r"trust_coefficient must be a finite number >= 0, got -1.0",
    ),
    (lambda: optim.trust_ratio(x, M), ValueError, r"u has shape (2, 3) but w has shape (3,)"),
    (lambda: optim.matrix_inverse_root(M, 4), ValueError, r"A must be square, got shape (2, 3)"),
    (
        lambda: optim.matrix_inverse_root(np.array([[1.0, 2.0], [0.0, 1.0]]), 4),
        ValueError,
        r"A must be symmetric, but max |A - A.T| = 2",
    ),
    (
        lambda: optim.matrix_inverse_root(np.array([[1.0, 0.0], [0.0, -2.0]]), 4),
        ValueError,
        r"A must be positive definite, but its smallest eigenvalue is -2",
    ),
    (lambda: optim.matrix_inverse_root(np.eye(2), 0), ValueError, r"p must be a number > 0"),
    (lambda: optim.matrix_inverse_root(x, 2), ValueError, r"A must be a matrix"),
    (
        lambda: optim.shampoo_update(M, M, np.eye(3), np.eye(3), 0.1),
        ValueError,
        r"L must have shape (2, 2), got (3, 3)",
    ),
    (lambda: optim.shampoo_update(x, x, z, z, 0.1), ValueError, r"W must be a matrix"),
    (lambda: optim.newton_schulz(x), ValueError, r"G must be a matrix"),
    (lambda: optim.newton_schulz(M, steps=-1), ValueError, r"steps must be an integer >= 0, got -1"),
    (
        lambda: optim.muon_update(M, M, np.zeros((3, 2))),
        ValueError,
        r"buf has shape (3, 2) but W has shape (2, 3)",
    ),
    (
        lambda: optim.rmsprop_update(x, x, z, centered=True),
        ValueError,
        r"centered=True needs g_mean",
    ),
    (lambda: optim.init_shampoo(M, eps=0.0), ValueError, r"eps must be a finite number > 0"),
    (lambda: optim.adafactor_state_size(0, 3), ValueError, r"n must be an integer >= 1, got 0"),
]


@pytest.mark.parametrize("call, error, message", CASES, ids=[c[2][:40] for c in CASES])
def test_bad_input_is_refused_with_a_specific_message(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_a_refused_nan_gradient_leaves_the_callers_state_intact():
    theta, m, v = np.ones(3), np.full(3, 0.5), np.full(3, 0.25)
    kept = theta.copy(), m.copy(), v.copy()
    with pytest.raises(ValueError):
        optim.adam_update(theta, np.array([np.nan, 0.0, 0.0]), m, v, 4)
    for a, b in zip((theta, m, v), kept):
        np.testing.assert_array_equal(a, b)


def test_float64_sum_overflow_is_not_mistaken_for_a_nan():
    # Finite gradients whose float64 sum overflows must pass the finiteness check.
    g = np.array([1e308, 1e308])
    out = optim.sgd_update(np.zeros(2), g, lr=1e-310)
    assert np.all(np.isfinite(out))


def test_numpy_scalar_hyperparameters_keep_float32():
    theta = np.ones(3, dtype=np.float32)
    out, m, v = optim.adam_update(theta, theta, *optim.init_adam(theta), np.int64(1),
                                  lr=np.float64(0.1), beta1=np.float64(0.9))
    assert out.dtype == m.dtype == v.dtype == np.float32


def test_float32_sum_overflow_is_not_mistaken_for_a_nan():
    g = np.full(4, 3e38, dtype=np.float32)
    out = optim.sgd_update(np.zeros(4, dtype=np.float32), g, lr=1e-39)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))


def test_a_single_infinity_among_huge_values_is_still_caught():
    g = np.array([3e38, -3e38, np.inf, 1.0], dtype=np.float32)
    with pytest.raises(ValueError, match=r"grad contains 1 non-finite value\(s\)"):
        optim.adagrad_update(np.zeros(4, dtype=np.float32), g, np.zeros(4, dtype=np.float32))
