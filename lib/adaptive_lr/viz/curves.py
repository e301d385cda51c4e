"""Curves: losses on a log scale, and any labelled family of series."""

from __future__ import annotations

import numpy as np

from ._axes import finish, plain_log_ticks, series_of
from .matrix import _plain_log_ticks
from .paths import fixed_axes, set_title


def plot_curves(
    series,
    ax=None,
    *,
    title,
    xlabel,
    ylabel,
    logx=False,
    logy=False,
    styles=None,
    legend_loc="best",
):
    """Plot a labelled family of curves.

    Parameters
    ----------
    series : dict[str, y or (x, y)]
        Legend label -> values. A bare ``y`` is plotted against ``1, 2, ..., len(y)``
        (the 1-based step index ``t``).
    title, xlabel, ylabel : str
        Required: every figure of the course says what it shows.
    logx, logy : bool
        Log scales; non-positive values are then left out of the plot.
    styles : dict[str, dict], optional
        Label -> keyword arguments for ``ax.plot`` (e.g. ``{"prediction":
        {"ls": "--", "color": "k"}}`` to overlay a derived formula on a measurement).
    """
    ax = fixed_axes(ax)
    styles = styles or {}
    drawn = {"x": [], "y": []}
    for label, s in series.items():
        if isinstance(s, tuple) and len(s) == 2:
            x, y = np.asarray(s[0], dtype=float), np.asarray(s[1], dtype=float)
        else:
            y = np.asarray(s, dtype=float)
            x = np.arange(1, len(y) + 1, dtype=float)
        if logy:
            y = np.where(y > 0, y, np.nan)
        ax.plot(x, y, label=label, **styles.get(label, {}))
        drawn["x"].append(x)
        drawn["y"].append(y)
    if logx:
        ax.set_xscale("log")
        _log_ticks(ax.xaxis, drawn["x"])
    if logy:
        ax.set_yscale("log")
        _log_ticks(ax.yaxis, drawn["y"])
    finish(ax, title, xlabel, ylabel, loc=legend_loc)
    set_title(ax, title)  # at a fixed place: see paths.set_title
    return ax


def _log_ticks(axis, values):
    """Decades in Unicode; on a range of two decades or less also 2x and 5x (not one lone label)."""
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.array([])
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and np.log10(v.max() / v.min()) <= 2:
        _plain_log_ticks(axis, v)
    else:
        plain_log_ticks(axis)


def plot_loss_curves(
    curves,
    ax=None,
    *,
    title="Loss against step",
    optimum=None,
    xlabel="step $t$",
    ylabel=None,
    logy=True,
    logx=False,
    styles=None,
    floor=1e-16,
    legend_loc="best",
):
    """Loss against step, on a log scale: one curve per optimizer.

    Parameters
    ----------
    curves : dict[str, array of shape (T,)]
        Optimizer name -> loss values ``loss[k]`` at the k-th recorded step. An
        object with a ``loss`` attribute (a trajectory) is accepted in place of
        the array.
    optimum : float, optional
        :math:`f^\\star`. When given, the plot shows the gap
        :math:`f(\\theta_t) - f^\\star` (clipped below at ``floor``), which is
        what a log scale is for; the y label says so.
    """
    data = {}
    for name, c in curves.items():
        y = series_of(c)
        if optimum is not None:
            y = np.maximum(y - optimum, floor)
        data[name] = y
    if ylabel is None:
        ylabel = r"$f(\theta_t) - f^\star$" if optimum is not None else r"loss $f(\theta_t)$"
    ax = plot_curves(
        {k: (np.arange(len(v)), v) for k, v in data.items()},
        ax,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        logx=logx,
        logy=logy,
        styles=styles,
        legend_loc=legend_loc,
    )
    return ax
