"""Diagnostics: norms, effective learning rates, second moments, the loss-spike detector
and the trajectory summary."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from adaptive_lr import optim
from adaptive_lr.diagnostics import (
    Summary,
    detect_loss_spikes,
    effective_lr,
    global_norm,
    layer_norms,
    loss_spike_scores,
    min_median_max,
    relative_update,
    second_moment,
    summarize,
    summary_table,
)
from adaptive_lr.objectives import Quadratic, TwoLayerNet
from adaptive_lr.run import run

# -- norms -------------------------------------------------------------------------------


def test_norms_of_arrays_and_layer_lists():
    """global_norm pools every layer; layer_norms gives one Frobenius norm per layer."""
    layers = [np.array([3.0, 4.0]), np.array([[12.0]])]
    assert global_norm(layers) == 13.0, f"global_norm gave {global_norm(layers)}, expected 13"
    assert np.array_equal(layer_norms(layers), [5.0, 12.0]), (
        f"layer_norms gave {layer_norms(layers)}"
    )
    assert global_norm(np.array([[3.0, 4.0]])) == 5.0, (
        "global_norm of a single matrix is its Frobenius norm"
    )


def test_relative_update():
    """||theta_t - theta_{t-1}|| / ||theta_{t-1}||, NaN from zero, structures must match."""
    assert relative_update(np.array([3.0, 4.0]), np.array([3.0, 4.5])) == 0.1, (
        "relative step of 0.5 from norm 5"
    )
    assert np.isnan(relative_update(np.zeros(2), np.ones(2))), (
        "the relative step from zero is undefined (NaN)"
    )
    assert np.isclose(
        relative_update([np.ones(2), np.zeros(1)], [np.ones(2), np.ones(1)]), 1 / np.sqrt(2)
    ), "relative_update on layer lists pools the layers"
    with pytest.raises(ValueError, match="shape"):
        relative_update(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="all be arrays or all be lists"):
        relative_update(np.ones(2), [np.ones(2)])
    with pytest.raises(ValueError, match="layers"):
        relative_update([np.ones(2)], [np.ones(2), np.ones(1)])


# -- effective learning rate -------------------------------------------------------------


def test_effective_lr_recovers_adagrad_and_adam_step_sizes():
    """|dtheta| / |g| equals lr / (sqrt(G) + eps) for AdaGrad and lr / (sqrt(v_hat) + eps) for Adam, beta1 = 0."""
    rng = np.random.default_rng(0)
    theta, grad = rng.standard_normal(6), rng.standard_normal(6)
    accum = rng.random(6)
    new, accum_new = optim.adagrad_update(theta, grad, accum, lr=0.3)
    assert np.allclose(
        effective_lr(theta, new, grad), optim.adagrad_effective_lr(accum_new, lr=0.3), rtol=1e-10
    ), "AdaGrad's effective lr is not lr / (sqrt(accum) + eps)"
    m, v = np.zeros(6), rng.random(6)
    new, m, v = optim.adam_update(theta, grad, m, v, 4, lr=0.1, beta1=0.0, beta2=0.9)
    v_hat = v / (1 - 0.9**4)
    assert np.allclose(effective_lr(theta, new, grad), 0.1 / (np.sqrt(v_hat) + 1e-8), rtol=1e-10), (
        "Adam's effective lr (beta1 = 0) is not lr / (sqrt(v_hat) + eps)"
    )


def test_effective_lr_is_nan_where_the_gradient_is_zero():
    """No rate is defined for a coordinate whose gradient is zero; lists give lists."""
    out = effective_lr(np.zeros(3), np.array([0.1, 0.0, 0.2]), np.array([1.0, 0.0, -2.0]))
    assert np.allclose(out[[0, 2]], [0.1, 0.1]) and np.isnan(out[1]), f"effective_lr gave {out}"
    layered = effective_lr([np.zeros(1)], [np.ones(1)], [np.full(1, 4.0)])
    assert isinstance(layered, list) and layered[0][0] == 0.25, (
        f"layered effective_lr gave {layered}"
    )


@given(arrays(np.float64, st.integers(1, 6000), elements=st.floats(-1e6, 1e6)))
def test_min_median_max_matches_numpy(x):
    """min_median_max agrees with np.min, np.median, np.max (sorted path and large-array path)."""
    expected = [x.min(), np.median(x), x.max()]
    assert np.allclose(min_median_max(x), expected, rtol=1e-12, atol=0), (
        f"min/median/max {min_median_max(x)} != {expected}"
    )


def test_min_median_max_ignores_non_finite():
    """NaN and inf entries are dropped; nothing finite gives NaNs."""
    assert np.array_equal(min_median_max([np.nan, 1.0, np.inf, 3.0]), [1.0, 2.0, 3.0]), (
        "non-finite entries kept"
    )
    assert np.all(np.isnan(min_median_max([np.nan]))), "no finite entry should give NaNs"
    assert np.all(np.isnan(min_median_max([]))), "an empty array should give NaNs"


# -- second moment -----------------------------------------------------------------------


def test_second_moment_from_each_kind_of_state():
    """v (Adam family), accum (AdaGrad), Adafactor's R C^T / mean(R), None for SGD and Shampoo."""
    v = np.array([1.0, 4.0])
    assert np.array_equal(second_moment((np.zeros(2), v), ("m", "v")), v), (
        "Adam's second moment is v"
    )
    assert np.array_equal(second_moment((v,), ("accum",)), v), "AdaGrad's second moment is accum"
    R, C = np.array([1.0, 3.0]), np.array([2.0, 4.0, 6.0])
    assert np.allclose(second_moment((R, C), ("R", "C")), np.outer(R, C) / 2.0), (
        "Adafactor reconstruction wrong"
    )
    assert np.array_equal(
        second_moment((np.zeros(2), np.zeros(3)), ("R", "C")), np.zeros((2, 3))
    ), "zero state"
    assert second_moment((), ()) is None, "SGD has no second moment"
    assert second_moment((np.eye(2), np.eye(2)), ("L", "R")) is None, (
        "Shampoo keeps no per-coordinate moment"
    )
    assert np.array_equal(second_moment((v, None), ("v", "g_mean")), v), "RMSProp's v"
    with pytest.raises(ValueError, match="state_names"):
        second_moment((v,), ("m", "v"))


# -- loss spikes -------------------------------------------------------------------------


def _noisy_decay(n=1500, seed=0, noise=0.02):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return (np.exp(-t / 300) + 0.1) * (1 + noise * rng.standard_normal(n))


def test_no_spikes_on_smooth_or_noisy_decreasing_losses():
    """Smooth exponential and power-law decays and a mildly noisy decay give no spikes."""
    t = np.arange(2000)
    for name, loss in [
        ("exponential", np.exp(-t / 300) + 0.1),
        ("power law", 1.0 / (t + 1) ** 2),
        ("noisy", _noisy_decay()),
        ("flat", np.full(200, 0.3) + 1e-15 * (t[:200] % 2)),
    ]:
        found = detect_loss_spikes(loss)
        assert found.size == 0, f"{name} loss: spurious spikes at {found}"


def test_injected_spikes_are_found_exactly():
    """Spikes of 50%, 100% and 200% on a noisy decay are flagged at their indices and nowhere else."""
    loss = _noisy_decay()
    spikes = [150, 700, 1400]
    loss[spikes] *= [3.0, 2.0, 1.5]
    found = detect_loss_spikes(loss)
    assert found.tolist() == spikes, f"expected spikes at {spikes}, found {found.tolist()}"


def test_a_sustained_jump_is_flagged_once():
    """A jump to a new plateau is flagged at its first index only: the following steps do not jump."""
    loss = np.concatenate([_noisy_decay(300, noise=0.01), np.full(100, 5.0)])
    found = detect_loss_spikes(loss, window=20)
    assert found.tolist() == [300], f"the jump at 300 should be flagged once, got {found.tolist()}"


def test_spikes_on_a_steep_trend_are_found():
    """Jumps are measured against the recent trend: a 50% spike on a loss halving every 7 steps is found."""
    loss = np.exp(-np.arange(400) / 10.0) * 1e3
    loss[300] *= 1.5
    assert detect_loss_spikes(loss, log_scale=True).tolist() == [300], "the spike at 300 was missed"


def test_log_scale_finds_spikes_in_a_loss_spanning_decades():
    """A tenfold jump at loss 1e-35 is invisible on a linear scale and obvious on a log scale."""
    loss = np.exp(-np.arange(1000) / 10.0)
    loss[800] *= 10.0
    assert detect_loss_spikes(loss).size == 0, "the linear scale should not see a jump at 1e-35"
    assert detect_loss_spikes(loss, log_scale=True).tolist() == [800], (
        "log scale should flag index 800"
    )


def test_spike_scores_are_nan_without_history_and_negative_on_descent():
    """The first window scores are NaN; a straight line scores 0; smooth curves stay below 1.5."""
    scores = loss_spike_scores(np.linspace(10, 1, 100), window=10)
    assert np.all(np.isnan(scores[:10])), "scores before a full window must be NaN"
    assert np.allclose(scores[10:], 0.0, atol=1e-6), (
        "a straight line has no jumps, expected scores of 0"
    )
    t = np.arange(1, 500)
    for name, loss in [
        ("exponential", np.exp(-t / 50)),
        ("power law", t**-1.5),
        ("rising", np.sqrt(t)),
    ]:
        top = np.nanmax(loss_spike_scores(loss))
        assert top < 1.5, f"the smooth {name} curve scored {top:.2f}"
    assert np.all(np.isnan(loss_spike_scores(np.ones(5), window=10))), (
        "a series shorter than the window: all NaN"
    )


@given(
    arrays(np.float64, st.integers(60, 300), elements=st.floats(-10.0, 10.0)),
    st.integers(55, 59),
    st.floats(1.0, 100.0),
)
def test_a_large_isolated_spike_on_bounded_noise_is_always_found(noise, k, height):
    """On noise in [-10, 10] a jump of >= 400 is always flagged.

    Every jump of the noise lies in [-20, 20], so the median jump does too and the
    MAD is at most 40: the score is at least (400 - 20 - 20) / (1.4826 * 40) > 6.
    """
    loss = 1e3 + noise
    loss[k] += 400.0 * height
    found = detect_loss_spikes(loss, window=50, threshold=6.0)
    assert k in found, (
        f"a spike of {400 * height:.0f} on noise of range 20 was missed at {k}: {found}"
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"loss": np.ones((3, 3))}, ValueError, "1-D"),
        ({"loss": [1.0, np.nan, 2.0]}, ValueError, "NaN or inf"),
        ({"loss": ["a"]}, TypeError, "real numbers"),
        ({"window": 2}, ValueError, "window"),
        ({"threshold": 0.0}, ValueError, "threshold"),
        ({"loss": [1.0, -1.0] * 30, "log_scale": True}, ValueError, "positive loss"),
    ],
)
def test_spike_detector_argument_checks(kwargs, error, match):
    """Bad inputs to detect_loss_spikes raise a specific error naming the argument."""
    args = {"loss": np.ones(100)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        detect_loss_spikes(**args)


# -- summaries ---------------------------------------------------------------------------


def test_summarize_reports_the_headline_numbers():
    """summarize: loss, best step, distances and the status, as a dict that prints as a table."""
    q = Quadratic.two_d()
    traj = run("adam", q, 200, lr=0.1)
    s = summarize(traj)
    assert isinstance(s, Summary) and isinstance(s, dict), f"summarize returned {type(s).__name__}"
    assert s["loss_final"] == traj.loss[-1] and s["loss_best"] == traj.loss.min(), (
        "loss entries wrong"
    )
    assert s["best_step"] == int(np.argmin(traj.loss)) and s["steps"] == 200, (
        "best_step or steps wrong"
    )
    assert s["dist_to_minimizer_final"] == traj.dist_to_minimizer[-1], "distance entry wrong"
    assert s["status"] == "completed" and s["loss_spikes"] == 0, (
        f"status {s['status']}, spikes {s['loss_spikes']}"
    )
    assert s["trust_ratio_final"] == (traj.trust_ratio[-1, 0],), "trust ratio entry wrong"
    text = str(s)
    assert "loss_final" in text and len(text.splitlines()) == len(s), (
        "str(summary) should be one line per key"
    )


def test_summary_table_compares_runs_and_reports_divergence():
    """summary_table: a header, a rule and one row per run; a diverged run says so."""
    q = Quadratic.two_d()
    good, bad = run("adam", q, 50, lr=0.1), run("sgd", q, 500, lr=50.0)
    table = summary_table([good, bad])
    lines = table.splitlines()
    assert len(lines) == 4 and lines[0].startswith("optimizer"), f"unexpected table:\n{table}"
    assert "diverged at step" in lines[3], f"the SGD row should report the divergence:\n{table}"
    net = run("lamb", TwoLayerNet.synthetic(n_samples=20, hidden=3), 5, lr=0.01)
    assert len(summarize(net)["trust_ratio_final"]) == 4, "one final trust ratio per layer"
    with pytest.raises(ValueError, match="unknown key"):
        summary_table([good], keys=("nope",))
    with pytest.raises(ValueError, match="at least one"):
        summary_table([])
    with pytest.raises(TypeError, match="Trajectory"):
        summarize(np.ones(3))
