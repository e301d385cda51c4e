"""Optimizer trajectories drawn over the contours of a 2-D objective."""

from __future__ import annotations

import inspect

import numpy as np

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

# Where a new figure's axes go, in inches from the figure's edges (left, bottom, right, top):
# room for the tick labels and axis label on the left and bottom, and for the title on top.
_MARGINS = (0.85, 0.6, 0.2, 0.4)
_TITLE_ROOM = 0.15  # inches kept free on each side of a title wider than the axes


def fixed_axes(ax=None, figsize=(6.0, 4.5)):
    """``ax`` itself, or the axes of a new pyplot figure, placed once at fixed margins.

    No layout engine: constrained (or tight) layout measures every tick label,
    title and legend again at every draw, and cropping a figure to its tight
    bounding box (what an inline figure does by default) draws it twice more;
    that measuring was most of the time of drawing an exercise figure. The
    grading kernel shows figures uncropped (:mod:`adaptive_lr.sandbox.kernel`),
    so the margins hold the labels; :func:`set_title` keeps a long title inside.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, layout="none")
    ax = fig.add_axes((0, 0, 1, 1))
    ax._adaptive_lr_fixed = True  # placed by fixed_axes: set_title may widen its figure
    _place(ax)
    return ax


def _place(ax) -> None:
    width, height = ax.figure.get_size_inches()
    left, bottom, right, top = _MARGINS
    ax.set_position((left / width, bottom / height, 1 - (left + right) / width,
                     1 - (bottom + top) / height))


def set_title(ax, title: str) -> None:
    """The title at a fixed height just above the axes (where it would go anyway: a title left
    to place itself measures the top tick labels at every draw); on axes of :func:`fixed_axes`,
    centred on the figure, which is widened once, when the title is wider than it."""
    text = ax.set_title(title, y=1.0)
    if not getattr(ax, "_adaptive_lr_fixed", False) or not title:
        return
    fig = ax.figure
    renderer = getattr(fig.canvas, "get_renderer", None)
    if renderer is None:  # a canvas that cannot measure text: leave the title over the axes
        return
    needed = text.get_window_extent(renderer()).width / fig.dpi + 2 * _TITLE_ROOM
    width, height = fig.get_size_inches()
    if needed > width:
        fig.set_size_inches(needed, height)
        _place(ax)
        width = needed
    # The figure's centre, in the axes' coordinates.
    left, _, right, _ = _MARGINS
    text.set_x((width / 2 - left) / (width - left - right))


def _loss_fn(objective):
    """A function ``theta (2,) -> float`` from an objective or a plain callable.

    An objective with a ``value(params, t)`` method is evaluated at its
    expected (noise-free) value: ``t`` is left out when it has a default,
    otherwise ``None`` is passed.
    """
    value = getattr(objective, "value", None)
    if value is None:
        if not callable(objective):
            raise TypeError("objective must have a .value(params, t) method or be callable")
        return objective
    try:
        params = list(inspect.signature(value).parameters.values())
    except (TypeError, ValueError):
        params = []
    if len(params) >= 2 and params[1].default is inspect.Parameter.empty:
        return lambda theta: value(theta, None)
    return lambda theta: value(theta)


def _minimizer(objective):
    x = getattr(objective, "minimizer", None)
    if callable(x):
        x = x()
    if x is None:
        return None
    x = np.asarray(x, dtype=float).ravel()
    return x if x.shape == (2,) else None


def _auto_bounds(paths, minimizer, pad=0.15):
    """A box around the starts, the minimizer and whatever of the paths stays near them."""
    anchors = [np.asarray(p, dtype=float)[0] for p in paths.values() if len(p)]
    if minimizer is not None:
        anchors.append(minimizer)
    if not anchors:
        return (-1.0, 1.0), (-1.0, 1.0)
    anchors = np.array(anchors)
    lo, hi = anchors.min(axis=0), anchors.max(axis=0)
    span = np.maximum(hi - lo, 1e-3)
    # Include path points within 2 spans of the anchor box; a diverging path leaves the view.
    reach_lo, reach_hi = lo - 2 * span, hi + 2 * span
    for p in paths.values():
        p = np.asarray(p, dtype=float)
        ok = np.all(np.isfinite(p) & (p >= reach_lo) & (p <= reach_hi), axis=1)
        if ok.any():
            lo = np.minimum(lo, p[ok].min(axis=0))
            hi = np.maximum(hi, p[ok].max(axis=0))
    span = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - pad * span, hi + pad * span
    return (lo[0], hi[0]), (lo[1], hi[1])


def contour_grid(objective, xlim, ylim, n=60):
    """Evaluate ``objective`` on an ``n x n`` grid. Returns ``(X, Y, Z)``.

    ``objective`` is an object with ``value(params, t)`` or a callable
    ``theta -> float`` on arrays of shape ``(2,)``. An objective with a
    ``loss_grid(xlim, ylim, num)`` method (every ``adaptive_lr.objectives``
    objective) evaluates the grid itself.
    """
    loss_grid = getattr(objective, "loss_grid", None)
    if callable(loss_grid):  # the objectives' own, vectorized evaluation
        return loss_grid(tuple(map(float, xlim)), tuple(map(float, ylim)), num=n)
    f = _loss_fn(objective)
    xs = np.linspace(*xlim, n)
    ys = np.linspace(*ylim, n)
    X, Y = np.meshgrid(xs, ys)
    Z = np.empty_like(X)
    point = np.empty(2)
    for i in range(n):
        for j in range(n):
            point[0], point[1] = X[i, j], Y[i, j]
            Z[i, j] = float(f(point.copy()))
    return X, Y, Z


def plot_paths(
    objective,
    paths,
    ax=None,
    *,
    title="Trajectories on the loss contours",
    xlim=None,
    ylim=None,
    levels=15,
    grid=None,
    n=100,
    xlabel="\u03b8\u2081",
    ylabel="\u03b8\u2082",
    show_minimizer=True,
    legend_loc="best",
    colors=None,
):
    """Draw each trajectory in ``paths`` over the contours of a 2-D ``objective``.

    Parameters
    ----------
    objective : object with ``value(params, t)`` (and optionally ``minimizer``), or callable
        The loss. A callable takes ``theta`` of shape ``(2,)`` and returns a float.
    paths : dict[str, array of shape (T, 2)]
        Name of the optimizer (the legend entry) -> iterates
        :math:`\\theta_0, \\theta_1, \\dots`. An object with a ``params``
        attribute (a trajectory) is accepted in place of the array.
    ax : matplotlib Axes, optional
        Drawn into; a new figure when None.
    xlim, ylim : (float, float), optional
        The window; by default the objective's ``plot_bounds`` when it has
        them, else a box around the starts, the minimizer and the
        nearby part of every path (a diverging path simply leaves the window).
    levels : int
        Number of contour lines, spaced geometrically in :math:`f - f_{\\min}`
        so that both the valley floor and the walls are visible.
    grid : (X, Y, Z), optional
        Precomputed :func:`contour_grid`, to skip re-evaluating the objective.
    colors : dict[str, str], optional
        Name -> colour of that path (to keep one colour per optimizer across
        figures); the others take ``C0``, ``C1``, ... in order.

    xlabel, ylabel : str
        Axis labels; by default θ₁ and θ₂ in plain Unicode (mathtext is parsed
        again at every draw).

    Returns the ``Axes``. The start of each path is a hollow marker, the end a
    filled one, the minimizer a black star.
    """
    ax = fixed_axes(ax)
    arrays = {}
    for name, p in paths.items():
        p = getattr(p, "params", p)
        p = np.asarray(p, dtype=float)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"path {name!r} must have shape (T, 2), got {p.shape}")
        arrays[name] = p
    minimizer = _minimizer(objective)
    if grid is None:
        bounds = getattr(objective, "plot_bounds", None)
        if (xlim is None or ylim is None) and bounds is not None:
            xlim, ylim = xlim or bounds[0], ylim or bounds[1]
        if xlim is None or ylim is None:
            auto_x, auto_y = _auto_bounds(arrays, minimizer)
            xlim, ylim = xlim or auto_x, ylim or auto_y
        grid = contour_grid(objective, xlim, ylim, n=n)
    X, Y, Z = grid
    if xlim is None or ylim is None:
        xlim, ylim = (X.min(), X.max()), (Y.min(), Y.max())

    finite = np.isfinite(Z)
    zmin = Z[finite].min()
    gap = Z - zmin
    top = max(float(gap[finite].max()), 1e-12)
    low = max(float(np.quantile(gap[finite], 0.01)), top * 1e-4, 1e-12)
    lv = np.unique(np.geomspace(low, top, levels))
    ax.contour(X, Y, gap, levels=lv, cmap="Greys_r", linewidths=0.7, alpha=0.75)

    for k, (name, p) in enumerate(arrays.items()):
        color = (colors or {}).get(name, f"C{k % 10}")
        ax.plot(
            p[:, 0],
            p[:, 1],
            "-",
            color=color,
            lw=1.4,
            marker=_MARKERS[k % len(_MARKERS)],
            markersize=2.5,
            markevery=max(1, len(p) // 25),
            label=name,
        )
        ax.plot(p[0, 0], p[0, 1], marker="o", mfc="none", mec=color, ms=8, ls="none")
        ends = np.isfinite(p).all(axis=1)
        if ends.any():
            last = p[np.nonzero(ends)[0][-1]]
            ax.plot(last[0], last[1], marker="o", color=color, ms=6, ls="none")
    if show_minimizer and minimizer is not None:
        ax.plot(*minimizer, marker="*", color="k", ms=12, ls="none", label="minimizer")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    set_title(ax, title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc=legend_loc, fontsize="small")
    return ax
