"""The NumPy fast paths (``adaptive_lr.optim._fast``) against the readable form.

Every rule with a fast path runs twice on the same NumPy inputs: with
``fast=True`` (the fast path, chosen by the caller) and as called by default
(the readable, array-API form that defines the rule). Adam, AdamW and AdaGrad must agree bit for bit,
and so must LAMB's moments and Adafactor's R. LAMB's weights and Adafactor's
X depend on sums over the whole array, taken block by block: their step must
agree within rtol 1e-5 (float32) or 1e-12 (float64), plus a few ulps for the
final rounding. Adafactor's C is summed in NumPy's order, except for a single
column, which NumPy sums pairwise: it must agree within the same rtol. Some examples shrink the block so that a small array
spans many blocks, the last one short.
"""

import contextlib
import dataclasses
import importlib.util
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_lr import optim
from adaptive_lr.optim import _fast

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


@dataclasses.dataclass(frozen=True)
class Case:
    fast_name: str  # the function in _fast the rule dispatches to
    matrix: bool  # the rule takes a matrix (Adafactor)
    exact: tuple  # per output: must it match the readable form bit for bit?
    state: Callable  # (theta, rng, zero) -> state arrays
    call: Callable  # (theta, grad, state, t, eps) -> outputs


def _moments(theta, rng, zero):
    if zero:
        return np.zeros_like(theta), np.zeros_like(theta)
    m = rng.standard_normal(theta.shape).astype(theta.dtype)
    v = np.abs(rng.standard_normal(theta.shape)).astype(theta.dtype)
    return m, v


def _accum(theta, rng, zero):
    if zero:
        return (np.zeros_like(theta),)
    return (np.abs(rng.standard_normal(theta.shape)).astype(theta.dtype),)


def _factors(X, rng, zero):
    n, m = X.shape
    if zero:
        return np.zeros(n, X.dtype), np.zeros(m, X.dtype)
    return (
        np.abs(rng.standard_normal(n)).astype(X.dtype),
        np.abs(rng.standard_normal(m)).astype(X.dtype),
    )


def _default(eps, value):
    return value if eps is None else eps


CASES = {
    "adam_update": Case(
        "adam",
        False,
        (True, True, True),
        _moments,
        lambda th, g, s, t, eps, fast=True: optim.adam_update(
            th, g, *s, t, lr=1e-2, eps=_default(eps, 1e-8), fast=fast
        ),
    ),
    "adamw_update": Case(
        "adam",
        False,
        (True, True, True),
        _moments,
        lambda th, g, s, t, eps, fast=True: optim.adamw_update(
            th, g, *s, t, lr=1e-2, eps=_default(eps, 1e-8), weight_decay=0.1, fast=fast
        ),
    ),
    "adagrad_update": Case(
        "adagrad",
        False,
        (True, True),
        _accum,
        lambda th, g, s, t, eps, fast=True: optim.adagrad_update(
            th, g, *s, lr=0.1, eps=_default(eps, 1e-10), fast=fast
        ),
    ),
    "lamb_update": Case(
        "lamb",
        False,
        (False, True, True),
        _moments,
        lambda th, g, s, t, eps, fast=True: optim.lamb_update(
            th, g, *s, t, lr=1e-2, eps=_default(eps, 1e-6), weight_decay=0.1, fast=fast
        ),
    ),
    "adafactor_update": Case(
        "adafactor",
        True,
        (False, True, False),
        _factors,
        lambda X, G, s, t, eps, fast=True: optim.adafactor_update(
            X, G, *s, t, eps1=_default(eps, 1e-30), fast=fast
        ),
    ),
}


@contextlib.contextmanager
def block_bytes(n):
    """Run the fast paths with blocks of ``n`` bytes (the default when ``n`` is None)."""
    previous = _fast.BLOCK_BYTES
    _fast.BLOCK_BYTES = previous if n is None else n
    try:
        yield
    finally:
        _fast.BLOCK_BYTES = previous


def make_inputs(case, shape, dtype, seed, scale=1.0, zero_grad=False, zero_state=False):
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(shape).astype(dtype)
    grad = (
        np.zeros(shape, dtype) if zero_grad else (scale * rng.standard_normal(shape)).astype(dtype)
    )
    return theta, grad, case.state(theta, rng, zero_state)


def run_both(name, theta, grad, state, t, eps, blocks=None):
    """``(fast, readable)`` outputs of one call; fails if the fast path is not taken, warns or writes its inputs."""
    case = CASES[name]
    inputs = (theta, grad, *state)
    copies = [a.copy() for a in inputs]
    real = getattr(_fast, case.fast_name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with block_bytes(blocks), mock.patch.object(_fast, case.fast_name, wraps=real) as spy:
            fast = case.call(theta, grad, state, t, eps)
        assert spy.call_count == 1, (
            f"{name} on C-contiguous NumPy {theta.dtype} arrays did not take the fast path "
            f"_fast.{case.fast_name} (called {spy.call_count} times); check the dispatch after validation"
        )
        readable = case.call(theta, grad, state, t, eps, fast=False)
    for k, (a, c) in enumerate(zip(inputs, copies)):
        assert np.array_equal(a, c), (
            f"{name}: input {k} was modified in place; inputs must stay untouched"
        )
    for k, out in enumerate(fast):
        assert out.flags.owndata, f"{name}: output {k} is a view; outputs must be new arrays"
        for j, a in enumerate(inputs):
            assert not np.shares_memory(out, a), f"{name}: output {k} shares memory with input {j}"
    return fast, readable


def assert_same(name, fast, readable, theta):
    """Bit for bit where the case says so; elsewhere within rounding of the *step*.

    The first output (the new parameters) is compared through its change from
    ``theta``: within ``rtol`` of the readable step, plus a few ulps of the
    result for the final rounding. A 1e-4 error in a step of a few 1e-3 of the
    weights would hide below an rtol of the weights themselves.
    """
    case = CASES[name]
    assert len(fast) == len(readable), (
        f"{name}: fast path returned {len(fast)} arrays, readable {len(readable)}"
    )
    for k, (f, r, exact) in enumerate(zip(fast, readable, case.exact)):
        assert f.dtype == r.dtype and f.shape == r.shape, (
            f"{name} output {k}: fast path gave {f.dtype}{f.shape}, readable form {r.dtype}{r.shape}"
        )
        if exact:
            differ = f != r
            assert not differ.any(), (
                f"{name} output {k}: fast path differs from the readable form at {int(differ.sum())} of "
                f"{f.size} entries (largest difference {float(np.max(np.abs(f - r))):.3g}); expected "
                "identical results: the fast path must apply the readable form's operations in its order"
            )
            continue
        rtol, finfo = RTOL[f.dtype], np.finfo(f.dtype)
        err = np.abs(f.astype(np.float64) - r)
        if k == 0:
            step = np.abs(r.astype(np.float64) - theta)
            allowed = rtol * step + 4 * finfo.eps * np.abs(r) + finfo.smallest_normal
            what = "step"
        else:
            allowed = rtol * np.abs(r) + finfo.smallest_normal
            what = "value"
        worst = int(np.argmax(err - allowed))
        assert (err <= allowed).all(), (
            f"{name} output {k}: fast path and readable form differ beyond rounding of the {what} at "
            f"{int((err > allowed).sum())} of {f.size} entries; worst at flat index {worst}: "
            f"fast {f.flat[worst]!r}, readable {r.flat[worst]!r}, allowed difference {allowed.flat[worst]:.3g}"
        )


def shapes_for(case):
    if case.matrix:
        return st.tuples(st.integers(1, 40), st.integers(1, 40))
    return st.one_of(
        st.tuples(st.integers(1, 400)),
        st.tuples(st.integers(1, 20), st.integers(1, 20)),
    )


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_fast_path_matches_readable_form(name, data):
    """Random shapes, dtypes, steps, scales and block sizes: the fast path gives the readable form's numbers."""
    case = CASES[name]
    shape = data.draw(shapes_for(case), label="shape")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    t = data.draw(st.sampled_from([1, 2, 7, 1000, 10**6]), label="t")
    eps = data.draw(st.sampled_from([None, 1e-3]), label="eps")
    scale = data.draw(st.sampled_from([1e-3, 1.0, 1e3]), label="grad scale")
    zero_grad = data.draw(st.booleans(), label="zero grad")
    zero_state = data.draw(st.booleans(), label="zero state")
    blocks = data.draw(st.sampled_from([8, 96, 4096, None]), label="block bytes")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    theta, grad, state = make_inputs(case, shape, dtype, seed, scale, zero_grad, zero_state)
    fast, readable = run_both(name, theta, grad, state, t, eps, blocks)
    assert_same(name, fast, readable, theta)
    print(f"{name}: fast path matches the readable form")


VECTOR_SHAPES = [(1,), (257,), (70_003,), (40, 25)]
MATRIX_SHAPES = [(1, 1), (37, 53), (300, 1000), (2, 70_000), (70_000, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("t", [1, 10**6])
@pytest.mark.parametrize("variant", ["plain", "zero grad", "eps 1e-3"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_matches_readable_form_on_named_cases(name, variant, t, dtype):
    """Default block size, shapes spanning one and several blocks; t=1 and large t; zero gradients; large eps."""
    case = CASES[name]
    for shape in MATRIX_SHAPES if case.matrix else VECTOR_SHAPES:
        theta, grad, state = make_inputs(
            case, shape, dtype, seed=sum(shape) + t, zero_grad=variant == "zero grad"
        )
        eps = 1e-3 if variant == "eps 1e-3" else None
        fast, readable = run_both(name, theta, grad, state, t, eps)
        assert_same(name, fast, readable, theta)
    print(f"{name} ({variant}, t={t}, {np.dtype(dtype)}): fast path matches the readable form")


def _spy(name):
    real = getattr(_fast, CASES[name].fast_name)
    return mock.patch.object(_fast, CASES[name].fast_name, wraps=real)


def _others(theta, grad, state):
    """Inputs that must take the readable path, by what makes them ineligible."""
    cases = {"float16": tuple(a.astype(np.float16) for a in (theta, grad, *state))}
    strided = [np.repeat(a, 2, axis=-1)[..., ::2] for a in (theta, grad, *state)]
    if all(a.shape == b.shape for a, b in zip(strided, (theta, grad, *state))):
        cases["strided view"] = tuple(strided)

    class Sub(np.ndarray):
        pass

    cases["ndarray subclass"] = tuple(a.view(Sub) for a in (theta, grad, *state))
    xps = pytest.importorskip("array_api_strict")
    cases["array_api_strict"] = tuple(xps.asarray(a) for a in (theta, grad, *state))
    return cases


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fast_path_runs_only_when_asked_for_and_refuses_other_arrays(name):
    """By default every rule is its readable form, whatever the arrays; fast=True refuses what it cannot take."""
    case = CASES[name]
    theta, grad, state = make_inputs(case, (4, 6), np.float64, seed=3)
    with _spy(name) as spy:
        case.call(theta, grad, state, 3, None, fast=False)
    assert spy.call_count == 0, f"{name} took the fast path on plain NumPy arrays without fast=True"
    for why, (th, g, *s) in _others(theta, grad, state).items():
        with _spy(name) as spy:
            case.call(th, g, tuple(s), 3, None, fast=False)
            with pytest.raises(TypeError, match=r"fast=True\) needs plain C-contiguous"):
                case.call(th, g, tuple(s), 3, None, fast=True)
        assert spy.call_count == 0, f"{name} took the fast path for a {why}"
    print(f"{name}: the fast path only when asked for; other arrays are refused there")


@pytest.mark.parametrize("name", sorted(CASES))
def test_non_finite_gradient_is_refused_before_the_fast_path(name):
    """Validation runs first: a NaN in the gradient raises, and the fast path never starts."""
    case = CASES[name]
    theta, grad, state = make_inputs(case, (5, 4), np.float32, seed=4)
    grad[1, 2] = np.nan
    with _spy(name) as spy, pytest.raises(ValueError, match="non-finite"):
        case.call(theta, grad, state, 2, None)
    assert spy.call_count == 0, f"{name} reached the fast path with a NaN gradient"
    print(f"{name}: a NaN gradient is refused before the fast path")


def test_applies_only_to_plain_nonempty_contiguous_float_arrays():
    """``_fast.applies`` says no to empty, strided, float16, non-native and subclassed arrays."""
    a = np.ones(8)
    assert _fast.applies(a, a.astype(np.float32)), "plain float arrays must be eligible"
    refused = {
        "empty": np.ones(0),
        "strided": np.ones(16)[::2],
        "float16": np.ones(8, np.float16),
        "byte-swapped": np.ones(8, dtype=">f8" if np.little_endian else "<f8"),
        "subclass": np.ones(8).view(type("Sub", (np.ndarray,), {})),
    }
    for why, b in refused.items():
        assert not _fast.applies(a, b), f"_fast.applies accepted a {why} array"
    print("applies: only plain, non-empty, C-contiguous float32/float64 arrays")


def _load_benchmark():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "optimizer_step.py"
    name = "optimizer_step_benchmark"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_peak_memory_of_the_fast_paths_is_at_most_one_array():
    """Beyond the arrays it returns, one call allocates at most one array of the parameters' size."""
    bench = _load_benchmark()
    for name, rule in bench.RULES.items():
        if not rule.fast_path:
            continue
        theta, grad = bench.problem(rule, 250_000)
        extra = bench.extra_peak(rule, theta, grad, readable=False)
        assert extra <= 1.0, (
            f"{name}: the fast path allocated {extra:.2f} extra arrays at peak; expected <= 1"
        )
    print("fast paths: peak extra memory <= 1 array")


@pytest.mark.slow
def test_benchmark_script_runs():
    """The benchmark's smallest run prints a row per rule (a smoke test, not a timing)."""
    pytest.importorskip("torch")
    bench = _load_benchmark()
    rows = bench.main(["--sizes", "2e3", "--repeats", "1", "--budget", "0"])
    assert [r["rule"] for r in rows] == list(bench.RULES), "expected one row per rule"
    for r in rows:
        assert r["ms"]["oracle"] > 0 and np.isfinite(r["ratio"]), f"bad row {r}"
    print("benchmark script runs")
