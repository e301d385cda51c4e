"""The playground: complete figures on every objective, one colour per optimizer, the library's
update rules, the saddle escape its text describes, and specific errors for wrong settings."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from adaptive_lr import viz
from adaptive_lr.objectives import Saddle
from adaptive_lr.run import run
from adaptive_lr.viz import playground as pg


def _colours(ax):
    """Legend label -> colour of the line drawn with that label."""
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    return {ln.get_label(): ln.get_color() for ln in lines}


def _draw(**changes):
    fig, axes = plt.subplots(1, 2)
    pg.draw_playground(axes, **{**pg.DEFAULTS, **changes})
    return fig, axes


@pytest.mark.parametrize("objective", list(pg.OBJECTIVES))
def test_every_objective_draws_a_complete_figure_with_one_colour_per_optimizer(objective):
    fig, axes = _draw(objective=objective, sgd=False, adagrad=True, lion=True, steps=60)
    assert viz.figure_problems(fig) == []
    paths, losses = _colours(axes[0]), _colours(axes[1])
    for name in ("momentum", "adagrad", "adam", "lion"):
        label = next(k for k in paths if k.startswith(pg.LABELS[name] + ","))
        assert paths[label] == losses[label] == pg.COLORS[name], (
            f"{label}: colour {paths[label]} on the path, {losses.get(label)} on the loss, "
            f"expected {pg.COLORS[name]} in both"
        )
    assert not any(k.startswith("SGD") for k in paths), "an unticked optimizer is drawn"


def test_runs_are_the_library_rules_and_the_saddle_is_escaped_by_adam_first():
    """The playground's loop gives run()'s iterates; on the saddle Adam leaves long before SGD."""
    hp = pg.hyperparameters("adam", 0.1, 0.9, 0.999, 1e-8, 0.0)
    mine = pg.playground_run("saddle", "adam", 80, **hp)
    reference = run("adam", Saddle(), 80, **hp)
    assert np.array_equal(mine.params, reference.params), "the playground's loop is not run()'s"
    assert np.array_equal(mine.loss, reference.loss), "the playground's losses are not run()'s"
    escape = {}
    for name, hyperparams in (("sgd", {"lr": 0.1}), ("adam", hp)):
        y = pg.playground_run("saddle", name, 200, **hyperparams).params[:, 1]
        escape[name] = int(np.argmax(np.abs(y) > 0.5))
    assert 0 < escape["adam"] < 10 < 60 < escape["sgd"], f"steps to |y| > 0.5: {escape}"


def test_divergence_is_named_in_the_legend_and_the_figure_stays_complete():
    fig, axes = _draw(lr_scale=10.0, steps=50)
    labels = list(_colours(axes[0]))
    assert any(k.startswith("SGD") and "diverged at t=" in k for k in labels), labels
    assert viz.figure_problems(fig) == []


def test_nothing_ticked_still_explains_the_axes():
    fig, _ = _draw(sgd=False, momentum=False, adam=False)
    assert viz.figure_problems(fig) == []


def test_the_interactive_figure_moves_every_control():
    fig = pg.playground(steps=40)
    assert viz.figure_problems(fig.fig) == []
    assert set(fig.controls) == set(pg.DEFAULTS)
    fig.redraw(objective="Rosenbrock", rmsprop=True, beta2=0.9)
    assert viz.figure_problems(fig.fig) == []


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: pg.playground(optimizer="adam"), TypeError, "unknown playground setting"),
        (lambda: _draw(objective="bowl"), ValueError, "unknown objective 'bowl'"),
        (lambda: _draw(nadam=True), TypeError, "unknown optimizer switch"),
        (lambda: pg.hyperparameters("nadam", 0.1, 0.9, 0.9, 0, 0), ValueError, "no optimizer"),
    ],
)
def test_wrong_settings_raise_specific_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
