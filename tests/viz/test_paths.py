"""plot_paths: contours of a 2-D objective with trajectories on top."""

import numpy as np
import pytest

from adaptive_lr import viz


def test_paths_figure_is_complete(bowl, path):
    ax = viz.plot_paths(bowl, {"adam": path, "sgd": path[::2]}, title="two paths")
    assert viz.figure_problems(ax.figure) == []
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["adam", "sgd", "minimizer"], labels
    assert ax.get_title() == "two paths"


def test_plain_callable_and_explicit_window(path):
    ax = viz.plot_paths(lambda th: float(th @ th), {"p": path}, xlim=(-2, 2), ylim=(-3, 3))
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-3, 3)
    assert viz.figure_problems(ax.figure) == []


def test_objective_whose_value_needs_t(path):
    class Needs:
        def value(self, params, t):
            assert t is None, "contours use the noise-free value (t=None)"
            return float(np.sum(np.asarray(params) ** 2))

    ax = viz.plot_paths(Needs(), {"p": path})
    assert viz.figure_problems(ax.figure) == []


def test_diverging_path_does_not_blow_up_the_window(bowl, path):
    bad = path.copy()
    bad[-5:] = [[1e6, -1e6]] * 4 + [[np.nan, np.nan]]
    ax = viz.plot_paths(bowl, {"ok": path, "diverges": bad})
    lo, hi = ax.get_xlim()
    assert hi - lo < 10, (lo, hi)


def test_trajectory_objects_and_grid_reuse(bowl, path):
    class Traj:
        params = path

    grid = viz.contour_grid(bowl, (-1.5, 1.5), (-1.5, 1.5), n=20)
    assert grid[2].shape == (20, 20)
    ax = viz.plot_paths(bowl, {"traj": Traj()}, grid=grid)
    assert ax.get_xlim() == (-1.5, 1.5)


def test_wrong_shape_is_named(bowl):
    with pytest.raises(ValueError, match="'bad' must have shape"):
        viz.plot_paths(bowl, {"bad": np.zeros((5, 3))})


def test_uses_the_objectives_vectorized_grid_and_bounds(path):
    calls = []

    class Gridded:
        plot_bounds = ((-2.0, 2.0), (-1.0, 1.0))
        minimizer = np.zeros(2)

        def value(self, params, t=1):
            raise AssertionError("the grid should come from loss_grid")

        def loss_grid(self, xlim, ylim, num):
            calls.append((xlim, ylim, num))
            X, Y = np.meshgrid(np.linspace(*xlim, num), np.linspace(*ylim, num))
            return X, Y, X**2 + 5 * Y**2

    ax = viz.plot_paths(Gridded(), {"p": path}, n=25)
    assert calls == [((-2.0, 2.0), (-1.0, 1.0), 25)]
    assert ax.get_xlim() == (-2.0, 2.0)
    assert viz.figure_problems(ax.figure) == []
