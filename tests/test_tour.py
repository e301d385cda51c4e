"""The headless tour runs every optimizer and writes its figure."""

import numpy as np

from adaptive_lr import tour
from adaptive_lr.optim import OPTIMIZERS


def test_tour_runs_every_optimizer_and_each_makes_progress(tmp_path, capsys):
    assert tour.main([str(tmp_path)]) == 0
    png = tmp_path / "tour_quadratic.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    for name in OPTIMIZERS:
        assert f"\n{name} " in out, f"{name} missing from the tour's table"
    objective, trajectories = tour.run_all(steps=150)
    for name, tr in trajectories.items():
        assert tr.diverged_at is None, name
        assert tr.loss[-1] < 1e-2 * tr.loss[0], f"{name}: {tr.loss[0]:.3g} -> {tr.loss[-1]:.3g}"


def test_every_family_panel_names_registered_optimizers():
    named = [n for names in tour.FAMILIES.values() for n in names]
    assert sorted(named) == sorted(OPTIMIZERS)
    assert set(tour.LEARNING_RATES) == set(OPTIMIZERS)


def test_matrix_view_is_the_same_problem():
    objective, _ = tour.run_all(steps=1)
    view = tour._AsRowMatrix(objective)
    theta = np.array([0.3, -0.7])
    value, grad = view.value_and_grad(theta[None, :])
    assert value == objective.value(theta)
    np.testing.assert_array_equal(grad[0], objective.grad(theta))
