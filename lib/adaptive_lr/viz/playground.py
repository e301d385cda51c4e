"""The optimizer playground: pick a 2-D objective, some optimizers and their hyperparameters.

:func:`playground` builds an interactive figure (``viz.interactive_plot``) with
the paths over the contours on the left and the loss gap
:math:`f(\\theta_t) - f^\\star` on the right; headless it leaves the figure at
its defaults. :func:`draw_playground` draws one setting on two axes (for a
static figure or a test). Every run steps the library's own update rule
(:func:`adaptive_lr.optim.make_optimizer`), and is cached, so a slider move
recomputes only the runs it changes.

The objectives (:data:`OBJECTIVES`): the rotated ill-conditioned valley
(:math:`\\kappa = 50`, 45 degrees, where a per-coordinate step size cannot
follow the valley's axes), Rosenbrock's banana (curvature that changes along a
curved floor) and a saddle between two minima (:class:`~adaptive_lr.objectives.Saddle`,
start on the ridge, where the escape direction's gradient is about
:math:`10^{-3}`).

One learning-rate slider moves every optimizer together: each optimizer's lr
is ``lr_scale`` times its reference lr on that objective
(:data:`REFERENCE_LR`, a value at which it converges), because the good lr of
gradient descent and of Adam differ by decades on Rosenbrock and by nothing on
the valley. The legend shows the lr actually used. ``beta1`` is the momentum
coefficient of heavy-ball momentum and the first-moment decay of Adam,
AMSGrad, AdamW and Lion; ``beta2`` the second-moment decay of RMSProp, Adam,
AMSGrad and AdamW, and Lion's momentum decay; ``eps`` the stabilizer of every
rule that has one; ``weight_decay`` the decoupled decay of AdamW and Lion.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..objectives import Quadratic, Rosenbrock, Saddle, rotation_2d
from ..optim import make_optimizer
from .curves import plot_loss_curves
from .paths import contour_grid, plot_paths
from .widgets import choice, interactive_plot, log_slider, slider, toggle

_ANGLE = np.pi / 4

OBJECTIVES = {
    "rotated valley": lambda: Quadratic.two_d(
        condition_number=50.0, angle=_ANGLE, theta0=rotation_2d(_ANGLE) @ np.array([-4.0, 3.0])
    ),
    "Rosenbrock": lambda: Rosenbrock(),
    "saddle": lambda: Saddle(),
}
"""Name -> a factory of the objective (a 2-D objective of :mod:`adaptive_lr.objectives`)."""

TITLES = {
    "rotated valley": "rotated valley (kappa=50, 45 deg)",
    "Rosenbrock": "Rosenbrock (a=1, b=100)",
    "saddle": "saddle, start on the ridge y = 1e-3",
}

LABELS = {
    "sgd": "SGD",
    "momentum": "momentum",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSProp",
    "adam": "Adam",
    "amsgrad": "AMSGrad",
    "adamw": "AdamW",
    "lion": "Lion",
}
"""Registry name -> legend name, in the order of the controls and of the colours."""

COLORS = {name: f"C{k}" for k, name in enumerate(LABELS)}
"""One colour per optimizer, the same in both panels and whichever optimizers are shown."""

REFERENCE_LR = {
    "rotated valley": {"sgd": 1.8, "momentum": 0.3, "adagrad": 1.0, "rmsprop": 0.1,
                       "adam": 0.3, "amsgrad": 0.3, "adamw": 0.3, "lion": 0.1},
    "Rosenbrock": {"sgd": 2e-3, "momentum": 1e-3, "adagrad": 0.5, "rmsprop": 0.01,
                   "adam": 0.2, "amsgrad": 0.2, "adamw": 0.2, "lion": 0.02},
    "saddle": {"sgd": 0.1, "momentum": 0.02, "adagrad": 0.5, "rmsprop": 0.05,
               "adam": 0.1, "amsgrad": 0.1, "adamw": 0.1, "lion": 0.05},
}  # fmt: skip
"""Objective -> optimizer -> the lr that ``lr_scale = 1`` gives it (one that converges)."""

DEFAULTS = {"objective": "rotated valley", "sgd": True, "momentum": True, "adagrad": False,
            "rmsprop": False, "adam": True, "amsgrad": False, "adamw": False, "lion": False,
            "lr_scale": 1.0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
            "steps": 200}  # fmt: skip
"""The control values a headless run shows: SGD, momentum and Adam on the rotated valley."""


def hyperparameters(name, lr, beta1, beta2, eps, weight_decay) -> dict:
    """The keyword arguments of ``run(name, ...)`` that the playground's sliders set."""
    if name == "sgd":
        return {"lr": lr}
    if name == "momentum":
        return {"lr": lr, "momentum": beta1}
    if name == "adagrad":
        return {"lr": lr, "eps": eps}
    if name == "rmsprop":
        return {"lr": lr, "beta2": beta2, "eps": eps}
    if name in ("adam", "amsgrad"):
        return {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}
    if name == "adamw":
        return {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay}
    if name == "lion":
        return {"lr": lr, "beta1": beta1, "beta2": beta2, "weight_decay": weight_decay}
    raise ValueError(f"the playground has no optimizer {name!r}; choose one of {', '.join(LABELS)}")


@lru_cache(maxsize=8)
def _objective(objective):
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    obj = OBJECTIVES[objective]()
    return obj, contour_grid(obj, *obj.plot_bounds, n=120), obj.value(obj.minimizer)


@dataclass(frozen=True)
class Path:
    """The iterates ``params`` (``(n+1, 2)``) and losses ``loss`` (``(n+1,)``) of one run."""

    params: np.ndarray
    loss: np.ndarray
    diverged_at: int | None = None


@lru_cache(maxsize=512)
def playground_run(objective, name, steps, **hyperparams) -> Path:
    """``steps`` steps of ``make_optimizer(name, **hyperparams)`` on the objective, cached.

    The loop of :func:`adaptive_lr.run.run` without its diagnostics (a slider
    move must be quick): ``theta_t = step(theta_{t-1}, grad(theta_{t-1}, t), state, t)``.
    It stops at the first step whose loss is not finite or exceeds 1e12
    (``diverged_at``).
    """
    obj = _objective(objective)[0]
    opt = make_optimizer(name, **hyperparams)
    theta = obj.init_params()
    state, params, loss = opt.init(theta), [theta], [obj.value(theta)]
    with np.errstate(all="ignore"):
        for t in range(1, int(steps) + 1):
            theta, state = opt.step(theta, obj.grad(theta, t), state, t)
            value = obj.value(theta) if np.all(np.isfinite(theta)) else np.inf
            if not value < 1e12:
                return Path(np.array(params), np.array(loss), diverged_at=t)
            params.append(theta)
            loss.append(value)
    return Path(np.array(params), np.array(loss))


def _label(name, traj, hp) -> str:
    parts = [f"lr={hp['lr']:.2g}"]
    if traj.diverged_at is not None:
        parts.append(f"diverged at t={traj.diverged_at}")
    return f"{LABELS[name]}, " + ", ".join(parts)


def draw_playground(axes, objective, lr_scale, beta1, beta2, eps, weight_decay, steps, **chosen):
    """The ``chosen`` optimizers (``adam=True``, ...): paths on ``axes[0]``, losses on ``axes[1]``.

    ``axes`` is a pair of ``Axes``; the other arguments are the controls of :func:`playground`.
    """
    unknown = set(chosen) - set(LABELS)
    if unknown:
        raise TypeError(f"unknown optimizer switch(es) {sorted(unknown)}; have {list(LABELS)}")
    obj, grid, f_star = _objective(objective)
    runs, colors = {}, {}
    for name in LABELS:
        if not chosen.get(name):
            continue
        lr = lr_scale * REFERENCE_LR[objective][name]
        hp = hyperparameters(name, lr, beta1, beta2, eps, weight_decay)
        traj = playground_run(objective, name, int(steps), **hp)
        label = _label(name, traj, hp)
        runs[label], colors[label] = traj, COLORS[name]
    ax_path, ax_loss = np.ravel(axes)
    plot_paths(obj, runs, ax_path, grid=grid, colors=colors, legend_loc="lower right",
               title=f"Paths on the {TITLES[objective]}")  # fmt: skip
    if not runs:  # nothing chosen: the axes still say what they would show
        ax_loss.plot([], [], label="no optimizer chosen")
    if objective == "saddle":  # a path that stalls at the saddle point sits on this line
        ax_loss.axhline(obj.value(np.zeros(2)) - f_star, color="0.5", ls=":", lw=1,
                        label="at the saddle point (0, 0)")  # fmt: skip
    styles = {k: {"color": c} for k, c in colors.items()}
    plot_loss_curves(runs, ax_loss, optimum=f_star, title=f"Loss gap, {int(steps)} steps",
                     styles=styles, legend_loc="lower left")  # fmt: skip
    return axes


def _playground(axes, objective, sgd, momentum, adagrad, rmsprop, adam, amsgrad, adamw, lion,
                lr_scale, beta1, beta2, eps, weight_decay, steps):  # fmt: skip
    # Named arguments, one per control, so that the widget check can move each of them.
    draw_playground(axes, objective, lr_scale, beta1, beta2, eps, weight_decay, steps,
                    sgd=sgd, momentum=momentum, adagrad=adagrad, rmsprop=rmsprop, adam=adam,
                    amsgrad=amsgrad, adamw=adamw, lion=lion)  # fmt: skip


def playground(**defaults):
    """The interactive playground; keyword arguments override :data:`DEFAULTS` (the start values).

    End a notebook cell with it: the controls (objective, one checkbox per
    optimizer, lr scale, beta1, beta2, eps, weight decay, steps) above a
    two-panel figure. Headless, the figure at the start values.
    """
    unknown = set(defaults) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown playground setting(s) {sorted(unknown)}; have {list(DEFAULTS)}")
    d = {**DEFAULTS, **defaults}
    switches = {name: toggle(d[name], description=LABELS[name]) for name in LABELS}
    return interactive_plot(
        _playground,
        ncols=2,
        figsize=(12.0, 4.8),
        objective=choice(list(OBJECTIVES), d["objective"], description="objective"),
        **switches,
        lr_scale=log_slider(0.01, 10.0, d["lr_scale"], description="lr scale"),
        beta1=slider(0.0, 0.99, d["beta1"], 0.01, description="beta1"),
        beta2=slider(0.5, 0.9999, d["beta2"], 0.0001, description="beta2", fmt=".4f"),
        eps=log_slider(1e-12, 1.0, d["eps"], description="eps"),
        weight_decay=slider(0.0, 0.5, d["weight_decay"], 0.01, description="weight decay"),
        steps=slider(20, 500, d["steps"], 10, integer=True, description="steps"),
    )
