"""The plotting helpers of viz.matrix and viz.layers: complete figures, the right data, clear errors."""

import numpy as np
import pytest

from adaptive_lr.optim import adafactor_state_size, newton_schulz
from adaptive_lr.viz import figure_problems
from adaptive_lr.viz.layers import (
    plot_hyperparameter_grid,
    plot_layer_series,
    plot_relative_steps,
    plot_trust_ratios,
)
from adaptive_lr.viz.matrix import (
    plot_matrix,
    plot_singular_value_map,
    plot_singular_values,
    plot_state_memory,
)


def _complete(ax):
    problems = figure_problems(ax.figure)
    assert problems == [], f"figure is missing: {problems}"


# --- viz.matrix ------------------------------------------------------------------------------

def test_singular_values_sorted_descending_log_scale_with_band(rng):
    G = rng.standard_normal((6, 9))
    before = np.linalg.svd(G, compute_uv=False)
    after = np.linalg.svd(newton_schulz(G), compute_uv=False)
    ax = plot_singular_values({"G": before[::-1], "NS(G)": after}, band=(0.6, 1.3),
                              band_label="Muon band")
    _complete(ax)
    assert ax.get_yscale() == "log"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_allclose(lines["G"].get_ydata(), np.sort(before)[::-1])
    np.testing.assert_array_equal(lines["G"].get_xdata(), np.arange(1, 7))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Muon band" in labels


def test_singular_values_log_scale_drops_zeros():
    ax = plot_singular_values({"rank 1": [3.0, 0.0, 0.0]})
    y = ax.get_lines()[0].get_ydata()
    assert y[0] == 3.0 and np.isnan(y[1:]).all()


def test_singular_values_rejects_empty_and_bad_band():
    with pytest.raises(ValueError, match="svals is empty"):
        plot_singular_values({})
    with pytest.raises(ValueError, match="low < high"):
        plot_singular_values({"a": [1.0]}, band=(1.3, 0.6))


def test_singular_value_map_sorts_pairs_together_and_draws_target():
    x = np.array([0.5, 0.01, 0.1])
    y = np.array([1.1, 0.03, 0.9])
    ax = plot_singular_value_map(x, {"k = 1": y}, band=(0.6, 1.3))
    _complete(ax)
    line = [ln for ln in ax.get_lines() if ln.get_label() == "k = 1"][0]
    np.testing.assert_allclose(line.get_xdata(), [0.01, 0.1, 0.5])
    np.testing.assert_allclose(line.get_ydata(), [0.03, 0.9, 1.1])
    assert ax.get_xscale() == "log"
    assert any(ln.get_label() == "target 1" for ln in ax.get_lines())
    with pytest.raises(ValueError, match="sigma_in has 3"):
        plot_singular_value_map(x, {"bad": [1.0, 2.0]})


def test_state_memory_log_log_and_highlight_values():
    n = np.array([64, 256, 1024, 4096])
    counts = {
        "Adam (2nm)": [adafactor_state_size(k, k)["adam"] for k in n],
        "Adafactor (n+m)": [adafactor_state_size(k, k)["adafactor"] for k in n],
    }
    ax = plot_state_memory(n, counts, highlight=1024)
    _complete(ax)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Adam (2nm): 2,097,152" in labels
    assert "Adafactor (n+m): 2,048" in labels
    with pytest.raises(ValueError, match="sizes has"):
        plot_state_memory(n, {"bad": [1, 2]})


def test_state_memory_highlight_between_grid_points_exact_or_log_interpolated():
    n = np.array([100.0, 10000.0])
    counts = {"2nm": 2 * n * 3 * n, "n+m": n + 3 * n}
    ax = plot_state_memory(n, counts, highlight=1000, highlight_counts={"n+m": 4000})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "2nm: 6,000,000" in labels          # a power law: exact on log-log axes
    assert "n+m: 4,000" in labels
    assert ax.xaxis.get_major_formatter()(1000.0) == "1000"


def test_matrix_image_with_shared_log_scale():
    A = np.outer([1.0, 2.0, 4.0], [1.0, 10.0])
    ax = plot_matrix(A, title="G squared", colorbar_label="entry", log=True, vmin=0.1, vmax=100)
    _complete(ax)
    im = ax.images[0]
    assert im.norm.vmin == 0.1 and im.norm.vmax == 100
    np.testing.assert_allclose(im.get_array(), A)
    with pytest.raises(ValueError, match="must be a matrix"):
        plot_matrix(np.ones(3), title="x", colorbar_label="y")


# --- viz.layers ------------------------------------------------------------------------------

def test_layer_series_one_curve_per_layer_and_reference():
    values = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    ax = plot_layer_series(values, ["W1", "W2"], title="norms", ylabel="norm",
                           reference=(5.0, "five"), label_prefix="adam: ")
    _complete(ax)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"adam: W1", "adam: W2", "five"}
    np.testing.assert_array_equal(lines["adam: W2"].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(lines["adam: W2"].get_ydata(), [10, 20, 40])


def test_layer_series_selects_layers_and_checks_names():
    values = np.ones((4, 3))
    ax = plot_layer_series(values, ["a", "b", "c"], title="t", ylabel="y", layers=[0, 2])
    assert [ln.get_label() for ln in ax.get_lines()] == ["a", "c"]
    with pytest.raises(ValueError, match="2 layer names for 3 layers"):
        plot_layer_series(values, ["a", "b"], title="t", ylabel="y")
    with pytest.raises(ValueError, match="steps x layers"):
        plot_layer_series(np.ones((2, 2, 2)), title="t", ylabel="y")


def test_trust_ratios_and_relative_steps_are_complete():
    trust = np.array([[100.0, 0.5], [90.0, 0.6]])
    ax = plot_trust_ratios(trust, ["W1", "W2"])
    _complete(ax)
    assert ax.get_yscale() == "log"
    ax2 = plot_relative_steps(trust / 1e4, ["W1", "W2"], lr=1e-2)
    _complete(ax2)
    assert any(ln.get_label() == r"$\eta$ = 0.01" for ln in ax2.get_lines())


def test_hyperparameter_grid_marks_best_and_blanks_diverged_runs():
    lrs = np.array([1e-3, 1e-2, 1e-1])
    wds = np.array([1e-4, 1e-3])
    scores = np.array([[0.5, 0.4], [0.2, 0.3], [np.inf, 0.9]])
    ax = plot_hyperparameter_grid(scores, lrs, wds, title="final loss, Adam+L2",
                                  colorbar_label="final loss", annotate=True)
    _complete(ax)
    star = [ln for ln in ax.get_lines() if ln.get_marker() == "*"][0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (0, 1)  # column wd=1e-4, row lr=1e-2
    data = ax.images[0].get_array()
    assert np.ma.is_masked(data[2, 0]) or np.isnan(data[2, 0])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1e-3", "1e-2", "1e-1"]
    ax_max = plot_hyperparameter_grid(scores, lrs, wds, title="accuracy",
                                      colorbar_label="accuracy", best="max", log=False)
    star = [ln for ln in ax_max.get_lines() if ln.get_marker() == "*"][0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (1, 2)


def test_hyperparameter_grid_shape_and_best_errors():
    with pytest.raises(ValueError, match=r"\(len\(lrs\), len\(weight_decays\)\)"):
        plot_hyperparameter_grid(np.ones((2, 2)), [1, 2, 3], [1, 2], title="t", colorbar_label="c")
    with pytest.raises(ValueError, match="best must be"):
        plot_hyperparameter_grid(np.ones((1, 1)), [1], [1], title="t", colorbar_label="c",
                                 best="median")


def test_helpers_draw_on_given_axes_inside_an_interactive_figure():
    from adaptive_lr.viz import interactive_plot

    def draw(ax, steps):
        G = np.diag([1.0, 0.1, 0.01])
        plot_singular_values({f"NS, {steps} steps": np.linalg.svd(newton_schulz(G, steps),
                                                                  compute_uv=False)}, ax)

    fig = interactive_plot(draw, steps=(0, 10, 5))
    assert fig.png().startswith(b"\x89PNG")
    fig.redraw(steps=2)
    assert fig.axes.get_legend().get_texts()[0].get_text() == "NS, 2 steps"
    assert figure_problems(fig.fig) == []
