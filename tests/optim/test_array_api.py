"""The rules use only the array API standard: they run on array_api_strict
(which refuses anything outside the standard) and give NumPy's numbers.
CuPy takes the same path on a GPU; that run is optional and skipped without one."""

import numpy as np
import pytest
from array_api_compat import array_namespace

from adaptive_lr import optim

from ._cases import RULES

xps = pytest.importorskip("array_api_strict")


def to_strict(a):
    if isinstance(a, tuple) and not isinstance(a, np.ndarray):
        return type(a)(*map(to_strict, a)) if hasattr(a, "_fields") else tuple(map(to_strict, a))
    return xps.asarray(a) if isinstance(a, np.ndarray) else a


def to_numpy(a):
    return np.asarray(xps.asarray(a)) if hasattr(a, "__array_namespace__") else a


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _flat(out):
    """The returned values, with a returned state tuple opened up."""
    flat = []
    for a in _as_tuple(out):
        flat += _flat(a) if isinstance(a, tuple) else [a]
    return flat


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_on_array_api_strict_matches_numpy(name, dtype, rng):
    fn, build, matrix_only = RULES[name]
    shape = (3, 4) if matrix_only else (2, 5)
    theta = rng.standard_normal(shape).astype(dtype)
    grad = rng.standard_normal(shape).astype(dtype)
    kwargs = build(theta, grad, rng)
    expected = _flat(fn(theta, grad, **kwargs))
    strict = {k: to_strict(a) for k, a in kwargs.items()}
    got = _flat(fn(to_strict(theta), to_strict(grad), **strict))
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        if isinstance(e, np.ndarray):
            assert array_namespace(g) is xps, f"{name} left the array_api_strict namespace"
            assert str(g.dtype).split(".")[-1] == str(e.dtype)
            g = to_numpy(g)
            if e.dtype.kind == "u":  # quantization codes: equal, or one code apart at a tie
                assert np.max(np.abs(g.astype(int) - e.astype(int))) <= 1, name
                continue
            tol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(g, e, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize(
    "fn, args",
    [
        (optim.newton_schulz, (np.arange(12.0).reshape(4, 3) + np.eye(4, 3),)),
        (optim.matrix_inverse_root, (np.array([[2.0, 0.5], [0.5, 1.0]]), 4)),
        (optim.trust_ratio, (np.arange(1.0, 4.0), np.ones(3))),
        (optim.adagrad_effective_lr, (np.array([1.0, 4.0]),)),
        (optim.ema_update, (np.zeros(2), np.ones(2), 0.9)),
    ],
)
def test_matrix_and_helper_functions_on_array_api_strict(fn, args):
    expected = fn(*args)
    got = fn(*map(to_strict, args))
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-12)


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_registered_optimizers_step_on_array_api_strict(name):
    opt = optim.make_optimizer(name, **({"lr": 0.1} if optim.SPECS[name].required else {}))
    theta = xps.asarray(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
    state = opt.init(theta)
    for t in (1, 2):
        theta, state = opt.step(theta, 0.5 * theta + 0.1, state, t)
    assert array_namespace(theta) is xps


def test_cupy_if_present():
    cp = pytest.importorskip("cupy")
    try:
        cp.cuda.runtime.getDeviceCount()
    except Exception:  # no driver or no device
        pytest.skip("CuPy is installed but no GPU is available")
    theta = cp.ones(4)
    out, m, v = optim.adam_update(theta, theta, *optim.init_adam(theta), 1)
    assert isinstance(out, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(out), optim.adam_update(np.ones(4), np.ones(4),
                               np.zeros(4), np.zeros(4), 1)[0])
