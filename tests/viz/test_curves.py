"""Loss curves, labelled curve families and heatmaps."""

import numpy as np
import pytest

from adaptive_lr import viz


def test_loss_curves_log_gap():
    loss = 1.0 + np.geomspace(1, 1e-8, 50)
    ax = viz.plot_loss_curves({"adam": loss, "sgd": loss**0.5}, optimum=1.0)
    assert ax.get_yscale() == "log"
    assert "f^\\star" in ax.get_ylabel()
    assert viz.figure_problems(ax.figure) == []


def test_loss_curves_accept_trajectories():
    class Traj:
        loss = np.array([3.0, 2.0, 1.0])

    ax = viz.plot_loss_curves({"run": Traj()})
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [3.0, 2.0, 1.0])


def test_curves_xy_pairs_styles_and_log():
    t = np.arange(1, 11)
    ax = viz.plot_curves(
        {"measured": (t, 1 / np.sqrt(t)), "prediction": (t, 1 / np.sqrt(t))},
        title="decay",
        xlabel="t",
        ylabel="rate",
        logx=True,
        logy=True,
        styles={"prediction": {"ls": "--", "color": "k"}},
    )
    assert ax.get_lines()[1].get_linestyle() == "--"
    assert viz.figure_problems(ax.figure) == []


def test_curves_require_labels():
    with pytest.raises(TypeError):
        viz.plot_curves({"a": [1, 2]})


def test_heatmap_has_labelled_colorbar():
    eff = np.geomspace(1e-3, 1, 40).reshape(20, 2)
    ax = viz.plot_effective_lr(eff, lr=0.1)
    assert viz.figure_problems(ax.figure) == []
    assert len(ax.figure.axes) == 2  # the colour bar


def test_heatmap_masks_nonpositive_on_log_scale():
    vals = np.array([[0.0, 1.0], [1e-3, 2.0]])
    ax = viz.plot_heatmap(vals, title="h", colorbar_label="x")
    img = ax.images[0]
    assert np.isnan(img.get_array()[0, 0]) or np.ma.is_masked(img.get_array()[0, 0])


def test_figure_problems_names_what_is_missing():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    problems = viz.figure_problems(fig)
    assert problems == [
        "axes 0 has no title",
        "axes 0 has no x label",
        "axes 0 has no y label",
        "axes 0 has neither a legend nor a labelled colour bar",
    ]
