"""Per-coordinate quantities over time, as heatmaps with a labelled colour bar."""

from __future__ import annotations

import numpy as np

from ._axes import get_ax, plain_log_ticks


def plot_heatmap(
    values,
    ax=None,
    *,
    title,
    colorbar_label,
    xlabel="step $t$",
    ylabel="coordinate $i$",
    log=True,
    coord_labels=None,
    cmap="viridis",
    vmin=None,
    vmax=None,
):
    """Draw ``values[t, i]`` (shape ``(T, d)``) with steps along x and coordinates along y.

    ``log=True`` uses a logarithmic colour scale (non-positive entries are
    masked), since per-coordinate step sizes typically span decades. The colour
    bar, labelled ``colorbar_label``, is the figure's key.
    """
    from matplotlib.colors import LogNorm, Normalize

    ax = get_ax(ax)
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"values must have shape (T, d), got {values.shape}")
    data = values.T  # rows: coordinates
    finite = np.isfinite(data) & ((data > 0) if log else True)
    if log:
        data = np.where(finite, data, np.nan)
    lo = vmin if vmin is not None else (np.nanmin(data) if finite.any() else 1e-12)
    hi = vmax if vmax is not None else (np.nanmax(data) if finite.any() else 1.0)
    if hi <= lo:
        hi = lo * 10 if log else lo + 1
    norm = LogNorm(lo, hi) if log else Normalize(lo, hi)
    T, d = values.shape
    im = ax.imshow(
        data,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap=cmap,
        norm=norm,
        extent=(0.5, T + 0.5, -0.5, d - 0.5),
    )
    cb = ax.figure.colorbar(im, ax=ax, use_gridspec=False)
    cb.set_label(colorbar_label)
    if log:
        plain_log_ticks(cb.ax.yaxis)
    if coord_labels is not None:
        ax.set_yticks(range(d), coord_labels)
    elif d <= 12:
        ax.set_yticks(range(d))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_effective_lr(
    eff_lr,
    ax=None,
    *,
    title="Effective learning rate per coordinate",
    lr=None,
    coord_labels=None,
    **kwargs,
):
    r"""Heatmap of the effective learning rate :math:`\eta_{t,i}` (shape ``(T, d)``).

    For Adam :math:`\eta_{t,i} = \eta / (\sqrt{\hat v_{t,i}} + \epsilon)`, for
    AdaGrad :math:`\eta / (\sqrt{G_{t,i}} + \epsilon)`: the factor by which the
    (bias-corrected) first moment is multiplied. When ``lr`` is given the colour
    bar says so, to compare :math:`\eta_{t,i}` with :math:`\eta`.
    """
    label = r"effective lr $\eta_{t,i}$"
    if lr is not None:
        label += rf"  ($\eta$ = {lr:g})"
    return plot_heatmap(
        eff_lr, ax, title=title, colorbar_label=label, coord_labels=coord_labels, **kwargs
    )
