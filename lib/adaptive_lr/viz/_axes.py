"""Where a helper gets its axes from."""

from __future__ import annotations


def get_ax(ax, figsize=(6.0, 4.5)):
    """``ax`` itself, or a new pyplot figure's axes when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def series_of(value):
    """The loss series of a trajectory-like object, or the array itself."""
    import numpy as np

    loss = getattr(value, "loss", None)
    return np.asarray(loss if loss is not None else value, dtype=float)
