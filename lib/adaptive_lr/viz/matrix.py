"""Figures for the matrix methods: singular values (Muon, Shampoo), Adafactor's memory and its factors.

Every helper takes numbers already computed by :mod:`adaptive_lr.optim` (or
NumPy's SVD of them) and only draws: it never runs an update rule. Each one
draws on ``ax`` (a new figure's axes when ``None``), sets a title, labelled
axes and a legend or a labelled colour bar, and returns the ``Axes``.

=================================  ==============================================
:func:`plot_singular_values`       sorted singular values of several matrices
:func:`plot_singular_value_map`    input singular value -> output singular value
:func:`plot_state_memory`          optimizer-state size against matrix size
:func:`plot_matrix`                a matrix as an image (e.g. :math:`G^2` and
                                   Adafactor's :math:`\\hat V`)
=================================  ==============================================
"""

from __future__ import annotations

import numpy as np

from ._axes import finish, get_ax


def _tick_text(v) -> str:
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _plain_log_ticks(axis, values=None):
    """Label a log axis with plain text (``0.5``, ``2e-6``) and no minor labels.

    Mathtext labels (10 with a superscript) and dozens of minor ticks cost much
    of a redraw's time; plain labels keep a widget callback fast. When
    ``values`` span more than two decades only powers of ten are labelled and
    there are no minor ticks; else 1, 2 and 5 times them are labelled.
    """
    from matplotlib import ticker

    subs = (1.0, 2.0, 5.0)
    if values is not None:
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size and np.log10(v.max() / v.min()) > 2:
            subs = (1.0,)
    axis.set_major_locator(ticker.LogLocator(subs=subs, numticks=8))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _tick_text(v)))
    # Minor ticks: at most 2-9 x 10^k on short ranges; none beyond (each tick is several artists).
    axis.set_minor_locator(ticker.NullLocator() if subs == (1.0,) else
                           ticker.LogLocator(subs=(3.0, 4.0, 6.0, 7.0, 8.0, 9.0), numticks=8))
    axis.set_minor_formatter(ticker.NullFormatter())

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _band(ax, band, label, axis="y"):
    if band is None:
        return
    lo, hi = float(band[0]), float(band[1])
    if not lo < hi:
        raise ValueError(f"band must be (low, high) with low < high, got {band}")
    span = ax.axhspan if axis == "y" else ax.axvspan
    span(lo, hi, color="tab:green", alpha=0.12, lw=0,
         label=label or f"band [{lo:g}, {hi:g}]")


def plot_singular_values(
    svals,
    ax=None,
    *,
    title="Singular values",
    xlabel="index $i$ (largest first)",
    ylabel=r"singular value $\sigma_i$",
    logy=True,
    band=None,
    band_label=None,
    styles=None,
):
    r"""Each matrix's singular values, sorted from largest to smallest.

    Parameters
    ----------
    svals : dict[str, array]
        Legend label -> singular values (any order; sorted here). Typically
        ``np.linalg.svd(M, compute_uv=False)`` of a gradient and of its
        Newton-Schulz orthogonalization.
    logy : bool
        Log scale on the y axis (singular values of a gradient span decades);
        non-positive values are left out.
    band : (low, high), optional
        A shaded horizontal band, e.g. ``(0.6, 1.3)`` where Newton-Schulz puts
        the singular values; ``band_label`` names it in the legend.
    styles : dict[str, dict], optional
        Label -> keyword arguments for ``ax.plot``.
    """
    ax = get_ax(ax)
    styles = styles or {}
    if not svals:
        raise ValueError("svals is empty: give at least one label -> singular values")
    _band(ax, band, band_label)
    for k, (label, s) in enumerate(svals.items()):
        s = np.sort(np.abs(np.asarray(s, dtype=float).ravel()))[::-1]
        if logy:
            s = np.where(s > 0, s, np.nan)
        kw = {"marker": _MARKERS[k % len(_MARKERS)], "ms": 4, "lw": 1.2}
        kw.update(styles.get(label, {}))
        ax.plot(np.arange(1, len(s) + 1), s, label=label, **kw)
    if logy:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis, np.concatenate([np.ravel(v) for v in svals.values()]))
    return finish(ax, title, xlabel, ylabel)


def plot_singular_value_map(
    sigma_in,
    outputs,
    ax=None,
    *,
    title="How an iteration maps singular values",
    xlabel=r"input singular value $\sigma / \|M\|_F$",
    ylabel=r"output singular value",
    logx=True,
    band=None,
    band_label=None,
    target=1.0,
    markers=True,
):
    r"""Output singular value against input singular value, one curve per setting.

    Parameters
    ----------
    sigma_in : array
        The input singular values (e.g. normalized by the Frobenius norm, as
        Newton-Schulz does first). Sorted here together with each output.
    outputs : dict[str, array]
        Legend label (e.g. ``"k = 5 steps"``) -> output singular values, in the
        order of ``sigma_in``.
    target : float or None
        A dashed reference line (the orthogonal target, 1).
    markers : bool
        Mark each point (a few measured singular values); ``False`` for a map
        evaluated on a dense grid, which is then drawn as a smooth curve.
    """
    ax = get_ax(ax)
    x = np.asarray(sigma_in, dtype=float).ravel()
    order = np.argsort(x)
    _band(ax, band, band_label)
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=0.8, label=f"target {target:g}")
    for k, (label, y) in enumerate(outputs.items()):
        y = np.asarray(y, dtype=float).ravel()
        if y.shape != x.shape:
            raise ValueError(f"outputs[{label!r}] has {y.size} values, sigma_in has {x.size}")
        marker = _MARKERS[k % len(_MARKERS)] if markers else None
        ax.plot(x[order], y[order], marker=marker, ms=3, lw=1.2, label=label)
    if logx:
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis, x)
    return finish(ax, title, xlabel, ylabel)


def plot_state_memory(
    sizes,
    counts,
    ax=None,
    *,
    title="Optimizer state of one weight matrix",
    xlabel=r"matrix size $n$ (an $n \times n$ matrix)",
    ylabel="state entries (numbers stored)",
    highlight=None,
    highlight_counts=None,
    styles=None,
):
    r"""State size against matrix size, one curve per optimizer, on log-log axes.

    Parameters
    ----------
    sizes : array
        The x values (e.g. the side ``n`` of square matrices).
    counts : dict[str, array]
        Optimizer label -> number of state entries at each size (e.g. from
        :func:`adaptive_lr.optim.adafactor_state_size`).
    highlight : float, optional
        A vertical marker at this size (the matrix chosen with a slider); the
        legend gives each curve's value there: ``highlight_counts[label]`` when
        given (exact counts), else interpolated on log-log axes (exact for
        power laws such as :math:`2nm` of an :math:`n \times cn` matrix).
    """
    ax = get_ax(ax)
    styles = styles or {}
    x = np.asarray(sizes, dtype=float)
    if highlight is not None:
        ax.axvline(float(highlight), color="0.4", ls=":", lw=1.0, label=f"$n$ = {highlight:g}")
    for k, (label, y) in enumerate(counts.items()):
        y = np.asarray(y, dtype=float)
        if y.shape != x.shape:
            raise ValueError(f"counts[{label!r}] has shape {y.shape}, sizes has {x.shape}")
        text = label
        if highlight is not None:
            if highlight_counts is not None and label in highlight_counts:
                at = float(highlight_counts[label])
            else:
                at = float(np.exp(np.interp(np.log(highlight), np.log(x), np.log(y))))
            text = f"{label}: {at:,.0f}"
        ax.plot(x, y, marker=_MARKERS[k % len(_MARKERS)], ms=3, label=text, **styles.get(label, {}))
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax.xaxis, x)
    _plain_log_ticks(ax.yaxis, np.concatenate([np.ravel(v) for v in counts.values()]))
    return finish(ax, title, xlabel, ylabel)


def plot_matrix(
    A,
    ax=None,
    *,
    title,
    colorbar_label,
    log=False,
    cmap="magma",
    vmin=None,
    vmax=None,
    xlabel="column $j$",
    ylabel="row $i$",
):
    r"""A matrix as an image, rows down and columns across, with a labelled colour bar.

    ``log=True`` uses a logarithmic colour scale (non-positive entries are
    masked); ``vmin``/``vmax`` let two panels share one scale, so that
    :math:`G^2` and its rank-1 estimate :math:`\hat V` can be compared by eye.
    """
    from matplotlib.colors import LogNorm, Normalize

    ax = get_ax(ax)
    A = np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"A must be a matrix, got shape {A.shape}")
    data = np.where(A > 0, A, np.nan) if log else A
    finite = np.isfinite(data)
    lo = vmin if vmin is not None else (float(np.nanmin(data)) if finite.any() else 1e-12)
    hi = vmax if vmax is not None else (float(np.nanmax(data)) if finite.any() else 1.0)
    if hi <= lo:
        hi = lo * 10 if log else lo + 1
    norm = LogNorm(lo, hi) if log else Normalize(lo, hi)
    im = ax.imshow(data, cmap=cmap, norm=norm, interpolation="nearest", aspect="auto")
    cb = ax.figure.colorbar(im, ax=ax)
    cb.set_label(colorbar_label)
    if log:
        _plain_log_ticks(cb.ax.yaxis, [lo, hi])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


__all__ = ["plot_matrix", "plot_singular_value_map", "plot_singular_values", "plot_state_memory"]
