"""Figures for layer-wise rules and regularization: per-layer series and hyperparameter grids.

The helpers only draw numbers computed elsewhere (a
:class:`adaptive_lr.run.Trajectory`, or a grid of runs); each sets a title,
labelled axes and a legend or a labelled colour bar, and returns the ``Axes``.

=================================  ==================================================
:func:`plot_layer_series`          one curve per layer of a ``(T, L)`` array
:func:`plot_trust_ratios`          the trust ratio :math:`\\phi_\\ell` per layer
:func:`plot_relative_steps`        :math:`\\|\\Delta w_\\ell\\| / \\|w_\\ell\\|` per layer, with
                                   the learning rate as a reference line
:func:`plot_hyperparameter_grid`   a final loss (or any score) over a grid of
                                   ``(lr, weight_decay)``, log-spaced axes, best cell marked
=================================  ==================================================
"""

from __future__ import annotations

import numpy as np

from ._axes import finish, get_ax
from .matrix import _plain_log_ticks


def _as_table(values, layer_names):
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"values must have shape (T, L) (steps x layers), got {values.shape}")
    n_layers = values.shape[1]
    if layer_names is None:
        layer_names = [f"layer {i}" for i in range(n_layers)]
    layer_names = [str(x) for x in layer_names]
    if len(layer_names) != n_layers:
        raise ValueError(f"{len(layer_names)} layer names for {n_layers} layers")
    return values, layer_names


def plot_layer_series(
    values,
    layer_names=None,
    ax=None,
    *,
    title,
    ylabel,
    xlabel="step $t$",
    logy=True,
    layers=None,
    reference=None,
    label_prefix="",
    styles=None,
):
    r"""One curve per layer of ``values[t-1, l]`` (shape ``(T, L)``), against the step ``t``.

    Parameters
    ----------
    layer_names : list of str, optional
        Legend labels, one per column (``Trajectory.layer_names``).
    layers : list of int, optional
        Only these columns (e.g. the weight matrices, not the biases).
    reference : (float, str), optional
        A dashed horizontal line at that value with that legend label.
    label_prefix : str
        Prepended to each layer's label (to overlay two optimizers on one axes).
    logy : bool
        Log scale (non-positive values are left out): per-layer quantities
        differ by decades between layers.
    """
    ax = get_ax(ax)
    styles = styles or {}
    values, names = _as_table(values, layer_names)
    cols = range(values.shape[1]) if layers is None else list(layers)
    t = np.arange(1, values.shape[0] + 1)
    for c in cols:
        y = values[:, c]
        if logy:
            y = np.where(y > 0, y, np.nan)
        label = f"{label_prefix}{names[c]}"
        ax.plot(t, y, label=label, **styles.get(names[c], {}))
    if reference is not None:
        value, text = reference
        ax.axhline(float(value), color="k", ls="--", lw=0.9, label=text)
    if logy:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis, values[:, list(cols)])
    return finish(ax, title, xlabel, ylabel)


def plot_trust_ratios(trust, layer_names=None, ax=None, *, title="Trust ratio per layer",
                      layers=None, label_prefix="", logy=True, reference=None):
    r"""The trust ratio :math:`\phi_\ell = \|w_\ell\| / \|u_\ell\|` of each layer against the step.

    ``trust`` has shape ``(T, L)`` (``Trajectory.trust_ratio``). A layer whose
    ratio drifts by decades from the others is one whose relative update is
    drifting; a ratio of exactly 1 is often the zero-norm fallback.
    """
    return plot_layer_series(
        trust, layer_names, ax, title=title, ylabel=r"trust ratio $\|w\| / \|u\|$",
        logy=logy, layers=layers, reference=reference, label_prefix=label_prefix,
    )


def plot_relative_steps(ratios, layer_names=None, ax=None, *, lr=None,
                        title="Relative step per layer", layers=None, label_prefix="", styles=None):
    r"""The relative step :math:`\|\Delta w_\ell\| / \|w_\ell\|` of each layer, log scale.

    With ``lr`` a dashed line marks :math:`\eta`: LAMB's relative step equals
    it in every layer, Adam's does not. ``styles`` maps a layer name to
    keyword arguments for ``ax.plot`` (one colour per optimizer, one line
    style per layer, markers to tell apart lines that coincide).
    """
    reference = None if lr is None else (lr, rf"$\eta$ = {lr:g}")
    return plot_layer_series(
        ratios, layer_names, ax, title=title,
        ylabel=r"relative step $\|\Delta w\| / \|w\|$", logy=True, layers=layers,
        reference=reference, label_prefix=label_prefix, styles=styles,
    )


def _log_ticks(values):
    """Two significant digits (``4.6e-3``, ``1e-2``): one digit would label 1.47 as ``1e0``, and a reader
    multiplying a row by a column (``eta * lambda``) would get the wrong product."""
    out = []
    for v in values:
        mantissa, exponent = f"{v:.1e}".split("e")
        out.append(f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}")
    return out


def plot_hyperparameter_grid(
    scores,
    lrs,
    weight_decays,
    ax=None,
    *,
    title,
    colorbar_label,
    xlabel=r"weight decay $\lambda$",
    ylabel=r"learning rate $\eta$",
    log=True,
    best="min",
    vmin=None,
    vmax=None,
    cmap="viridis_r",
    annotate=False,
):
    r"""A score (e.g. final loss) over a grid: ``scores[i, j]`` at ``(lrs[i], weight_decays[j])``.

    Rows are learning rates (bottom to top), columns weight decays (left to
    right), each labelled with its value, so that a log-spaced grid reads as
    log axes. ``best="min"`` (or ``"max"``) marks the best finite cell with a
    star in the legend; ``None`` marks nothing. Non-finite scores (diverged
    runs) are left blank. ``vmin``/``vmax`` give two panels one colour scale.
    """
    from matplotlib.colors import LogNorm, Normalize

    ax = get_ax(ax)
    scores = np.asarray(scores, dtype=float)
    lrs = np.asarray(lrs, dtype=float).ravel()
    wds = np.asarray(weight_decays, dtype=float).ravel()
    if scores.shape != (lrs.size, wds.size):
        raise ValueError(
            f"scores must have shape (len(lrs), len(weight_decays)) = {(lrs.size, wds.size)}, "
            f"got {scores.shape}"
        )
    ok = np.isfinite(scores) & ((scores > 0) if log else True)
    data = np.where(ok, scores, np.nan)
    lo = vmin if vmin is not None else (float(np.nanmin(data)) if ok.any() else 1e-12)
    hi = vmax if vmax is not None else (float(np.nanmax(data)) if ok.any() else 1.0)
    if hi <= lo:
        hi = lo * 10 if log else lo + 1
    norm = LogNorm(lo, hi) if log else Normalize(lo, hi)
    im = ax.imshow(data, origin="lower", cmap=cmap, norm=norm, aspect="auto",
                   interpolation="nearest")
    cb = ax.figure.colorbar(im, ax=ax)
    cb.set_label(colorbar_label)
    if log:
        _plain_log_ticks(cb.ax.yaxis, [lo, hi])
    ax.set_xticks(range(wds.size), _log_ticks(wds), rotation=45, ha="right")
    ax.set_yticks(range(lrs.size), _log_ticks(lrs))
    if annotate:
        for i in range(lrs.size):
            for j in range(wds.size):
                if ok[i, j]:
                    ax.text(j, i, f"{scores[i, j]:.2g}", ha="center", va="center",
                            fontsize="x-small", color="w")
    if best is not None and ok.any():
        if best not in ("min", "max"):
            raise ValueError(f"best must be 'min', 'max' or None, got {best!r}")
        pick = np.nanargmin if best == "min" else np.nanargmax
        i, j = np.unravel_index(pick(data), data.shape)
        ax.plot(j, i, marker="*", ms=14, color="w", mec="k", ls="none",
                label=f"best: $\\eta$={lrs[i]:.1e}, $\\lambda$={wds[j]:.1e}")
        ax.legend(fontsize="x-small", loc="upper right")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


__all__ = [
    "plot_hyperparameter_grid",
    "plot_layer_series",
    "plot_relative_steps",
    "plot_trust_ratios",
]
