"""Where a helper gets its axes from."""

from __future__ import annotations


def get_ax(ax, figsize=(6.0, 4.5)):
    """``ax`` itself, or a new pyplot figure's axes when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def finish(ax, title, xlabel, ylabel, *, grid=True, **legend):
    """Title, axis labels, a light major grid and the legend (``legend`` are its keyword arguments).

    Every line plot of the course ends this way, so that :func:`figure_problems`
    finds what a student needs to read the figure.
    """
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if grid:
        ax.grid(True, which="major", alpha=0.3)
    ax.legend(**{"fontsize": "small", **legend})
    return ax


def series_of(value):
    """The loss series of a trajectory-like object, or the array itself."""
    import numpy as np

    loss = getattr(value, "loss", None)
    return np.asarray(loss if loss is not None else value, dtype=float)


_SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


def _decade_label(value, _pos=None):
    """``10⁻³`` in plain Unicode: as readable as mathtext, and a redraw need not parse it."""
    import math

    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return ""
    exponent = round(exponent)
    if exponent == 0:
        return "1"
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def plain_log_ticks(axis) -> None:
    """Label a log-scaled ``axis`` (``ax.xaxis``, ``ax.yaxis`` or a colour bar's) at decades, in Unicode.

    Minor ticks are left out: over ten decades they are a hundred tick objects,
    which costs a widget redraw more than everything else in the figure.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter, NullLocator

    axis.set_major_formatter(FuncFormatter(_decade_label))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())
