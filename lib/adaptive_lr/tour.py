"""A short headless tour of the library: every optimizer on one ill-conditioned 2-D quadratic.

``python -m adaptive_lr.tour [OUT_DIR]`` (or ``make tour``) runs each rule of
:data:`adaptive_lr.optim.OPTIMIZERS` from the same start, saves the paths over
the loss contours and the loss curves as one PNG, and prints a table: final
loss, distance to the minimizer, and the median effective learning rate.

The matrix rules (Adafactor, Shampoo, SOAP, Muon) see the two parameters as a
1 x 2 matrix, so that every path lives on the same contour plot.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .diagnostics import summary_table
from .objectives import Quadratic
from .optim import MATRIX_ONLY, OPTIMIZERS, SPECS, make_optimizer
from .run import run

# From each rule's spec: a learning rate at which it makes visible progress in
# STEPS steps on the quadratic below (the point of the tour is the shape of each
# path, not a race), and one contour panel per family, to keep panels readable.
LEARNING_RATES = {name: spec.tour_lr for name, spec in SPECS.items()}
STEPS = 150
FAMILIES: dict = {}
for _name, _spec in SPECS.items():
    FAMILIES.setdefault(_spec.family, []).append(_name)
FAMILIES = {family: tuple(names) for family, names in FAMILIES.items()}


class _AsRowMatrix:
    """The same objective, seen through a (1, n) matrix parameter instead of an (n,) vector."""

    def __init__(self, objective):
        self._obj = objective
        self.name = objective.name
        self.minimizer = objective.minimizer[None, :]

    def init_params(self, seed=0):
        return self._obj.init_params(seed)[None, :]

    def value(self, params, t=1):
        return self._obj.value(params[0], t)

    def value_and_grad(self, params, t=1):
        value, grad = self._obj.value_and_grad(params[0], t)
        return value, grad[None, :]

    def grad(self, params, t=1):
        return self.value_and_grad(params, t)[1]

    def project(self, params):
        return params


def run_all(objective=None, steps: int = STEPS):
    """Run every registered optimizer on ``objective``; returns ``{name: Trajectory}``."""
    objective = objective or Quadratic.two_d(condition_number=25.0, angle=0.5)
    trajectories = {}
    for name in OPTIMIZERS:
        problem = _AsRowMatrix(objective) if name in MATRIX_ONLY else objective
        opt = make_optimizer(name, lr=LEARNING_RATES[name])
        trajectories[name] = run(opt, problem, steps)
    return objective, trajectories


def _paths(trajectories):
    return {
        name: np.asarray(tr.params).reshape(len(tr.loss), 2) for name, tr in trajectories.items()
    }


def save_figure(objective, trajectories, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .viz import plot_loss_curves, plot_paths

    palette = [*plt.get_cmap("tab20").colors, *plt.get_cmap("tab20b").colors]
    colors = dict(zip(OPTIMIZERS, palette))
    paths = _paths(trajectories)
    cols = 4
    rows = -(-(len(FAMILIES) + 1) // cols)  # one panel per family, and the loss curves
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 5 * rows), dpi=100)
    for ax in axes.flat[len(FAMILIES) : -1]:
        ax.set_visible(False)
    for ax, (family, names) in zip(axes.flat, FAMILIES.items()):
        ax.set_prop_cycle(color=[colors[n] for n in names])
        plot_paths(objective, {n: paths[n] for n in names}, ax=ax, title=family)
    losses = axes.flat[-1]
    losses.set_prop_cycle(color=[colors[n] for n in trajectories])
    plot_loss_curves(
        {name: tr.loss for name, tr in trajectories.items()},
        ax=losses,
        title="Loss against step, all rules (log scale)",
    )
    losses.legend(fontsize=7, ncol=2)
    fig.suptitle(f"Every optimizer on {objective.name}, {STEPS} steps from the same start")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m adaptive_lr.tour", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out_dir", nargs="?", default="demo_output", help="where the PNG goes")
    args = parser.parse_args(argv)
    objective, trajectories = run_all()
    png = save_figure(objective, trajectories, Path(args.out_dir) / "tour_quadratic.png")
    print(
        f"Every optimizer, {STEPS} steps from {objective.init_params().tolist()} on {objective.name}:\n"
    )
    print(
        summary_table(
            trajectories.values(),
            keys=(
                "optimizer",
                "status",
                "loss_final",
                "dist_to_minimizer_final",
                "effective_lr_median_final",
            ),
        )
    )
    print(f"\nPaths and loss curves: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
