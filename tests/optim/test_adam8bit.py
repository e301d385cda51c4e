"""8-bit Adam: the quantization map, block-wise round trips (hypothesis), and the optimizer."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from adaptive_lr.optim import (
    adam8bit_state_bytes,
    adam8bit_update,
    adam_update,
    dequantize_blockwise,
    dynamic_map,
    init_adam,
    init_adam8bit,
    quantize_blockwise,
)

SIGNED, UNSIGNED = np.array(dynamic_map(True)), np.array(dynamic_map(False))
MAX_GAP = {True: float(np.max(np.diff(SIGNED))), False: float(np.max(np.diff(UNSIGNED)))}


def test_maps_are_sorted_bounded_and_hold_zero_and_one():
    assert len(SIGNED) == 255 and len(UNSIGNED) == 256  # signed: 127 magnitudes, their negatives, 0
    for q in (SIGNED, UNSIGNED):
        assert np.all(np.diff(q) > 0) and 0.0 in q and 1.0 in q
    np.testing.assert_array_equal(SIGNED, -SIGNED[::-1])  # symmetric
    assert UNSIGNED.min() == 0.0 and UNSIGNED[1] == pytest.approx(1e-7)
    assert SIGNED[SIGNED > 0].min() == pytest.approx(1e-6)
    # Dynamic, not linear: the gaps near 1 are ~1% of the range, near 1e-3 far finer.
    assert MAX_GAP[True] == pytest.approx(0.9 / 64) and MAX_GAP[False] == pytest.approx(0.9 / 128)


values = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False, width=64)


@settings(max_examples=60, deadline=None)
@given(x=arrays(np.float64, st.integers(1, 200), elements=values), block=st.integers(1, 64), signed=st.booleans())
def test_blockwise_round_trip_is_the_nearest_map_value(x, block, signed):
    if not signed:
        x = np.abs(x)
    codes, scales = quantize_blockwise(x, signed, block)
    assert codes.dtype == np.uint8 and codes.shape == x.shape
    assert scales.shape == (math.ceil(x.size / block),)
    back = dequantize_blockwise(codes, scales, signed, block)
    q = SIGNED if signed else UNSIGNED
    s = np.repeat(scales, block)[: x.size]
    normed = np.divide(x, s, out=np.zeros_like(x), where=s > 0)
    best = np.min(np.abs(normed[:, None] - q[None, :]), axis=1)
    np.testing.assert_allclose(np.abs(normed - q[codes]), best, atol=1e-12)  # nearest value
    assert np.all(np.abs(back - x) <= s * MAX_GAP[signed] / 2 * (1 + 1e-12) + 1e-300)
    assert np.all((np.sign(back) == np.sign(x)) | (back == 0.0))  # never flips a sign
    for b in range(scales.size):  # each block's largest entry comes back exactly
        blk = slice(b * block, (b + 1) * block)
        i = np.argmax(np.abs(x[blk]))
        assert back[blk][i] == pytest.approx(x[blk][i], rel=1e-15, abs=0.0)


@settings(max_examples=30, deadline=None)
@given(x=arrays(np.float64, st.integers(1, 100), elements=values), block=st.integers(1, 32))
@example(x=np.array([0.5, 1e6]), block=2)  # 0.5 / 1e6 lies half-way between 0 and 1e-6: a tie
def test_signed_quantization_is_odd(x, block):
    plus = dequantize_blockwise(*quantize_blockwise(x, True, block), True, block)
    minus = dequantize_blockwise(*quantize_blockwise(-x, True, block), True, block)
    np.testing.assert_array_equal(minus, -plus)


def test_zero_blocks_stay_exactly_zero():
    x = np.zeros(10)
    x[7] = 3.0
    codes, scales = quantize_blockwise(x, True, 4)
    np.testing.assert_array_equal(scales, [0.0, 3.0, 0.0])
    np.testing.assert_array_equal(dequantize_blockwise(codes, scales, True, 4), x)


def test_first_step_is_exactly_adams():
    """From zero state m_0 = v_0 = 0 are exact, so step 1 equals Adam's; only the carried state is rounded."""
    rng = np.random.default_rng(0)
    theta, g = rng.standard_normal(300), rng.standard_normal(300)
    ours, state = adam8bit_update(theta, g, init_adam8bit(theta, 64), 1, lr=0.01, block_size=64)
    ref, m, v = adam_update(theta, g, *init_adam(theta), 1, lr=0.01)
    np.testing.assert_array_equal(ours, ref)
    m8 = dequantize_blockwise(state.m_codes, state.m_scales, True, 64)
    assert np.max(np.abs(m8 - m)) <= np.max(np.abs(m)) * MAX_GAP[True] / 2 * (1 + 1e-12)


def _noisy_quadratic_runs(n=4096, steps=200, block=256, dtype=np.float32):
    rng = np.random.default_rng(1)
    h = (10.0 ** rng.uniform(-2, 1, n)).astype(dtype)
    theta0 = rng.standard_normal(n).astype(dtype)
    noise = rng.standard_normal((steps, n)).astype(dtype)
    a, (m, v) = theta0, init_adam(theta0)
    b, st8 = theta0, init_adam8bit(theta0, block)
    for t in range(1, steps + 1):
        a, m, v = adam_update(a, h * a + 0.1 * noise[t - 1], m, v, t, lr=1e-2)
        b, st8 = adam8bit_update(b, h * b + 0.1 * noise[t - 1], st8, t, lr=1e-2, block_size=block)
    return theta0, a, b, st8, h


def test_trajectory_stays_close_to_float32_adam_and_state_is_a_quarter():
    theta0, a, b, st8, h = _noisy_quadratic_runs()
    assert b.dtype == np.float32
    travelled = np.linalg.norm(a - theta0)
    # Measured: 5.1% of the distance travelled at block 256 (5.5% at 64, 6.4% at 2048).
    assert np.linalg.norm(b - a) < 0.1 * travelled, "8-bit Adam drifted away from Adam"
    loss = lambda x: 0.5 * float(np.sum(h * x * x))  # noqa: E731
    assert loss(b) < 1.1 * loss(a) + 1e-3
    adam_bytes = 2 * a.nbytes  # m and v in float32
    assert adam8bit_state_bytes(st8) == 2 * a.size + 2 * (a.size // 256) * 4
    assert adam8bit_state_bytes(st8) / adam_bytes < 0.26


def test_bad_states_are_refused_with_a_reason():
    theta = np.zeros(10)
    state = init_adam8bit(theta, 4)
    with pytest.raises(ValueError, match=r"m_scales must have shape \(2,\), got \(3,\)"):
        adam8bit_update(theta, theta, state, 1, block_size=8)  # block size changed midway
    with pytest.raises(TypeError, match="state must be the Adam8bitState"):
        adam8bit_update(theta, theta, (np.zeros(10), np.zeros(10)), 1, block_size=4)
    with pytest.raises(TypeError, match="m_codes must have dtype uint8"):
        bad = state._replace(m_codes=state.m_codes.astype(np.int16))
        adam8bit_update(theta, theta, bad, 1, block_size=4)
    with pytest.raises(TypeError, match="block_size must be an integer >= 1"):
        init_adam8bit(theta, 2.5)
