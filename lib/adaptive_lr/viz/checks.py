"""What every figure of the course must carry: a title, labelled axes and a legend."""

from __future__ import annotations


def _colorbar_axes(fig) -> set:
    """The axes of ``fig`` that are colour bars (they need no title or legend of their own)."""
    bars = set()
    for ax in fig.axes:
        for mappable in list(ax.images) + list(ax.collections):
            cb = getattr(mappable, "colorbar", None)
            if cb is not None:
                bars.add(cb.ax)
    return bars


def _has_key(ax) -> bool:
    """A legend, or a mappable with a labelled colour bar, tells the reader what is drawn."""
    if ax.get_legend() is not None:
        return True
    for mappable in list(ax.images) + list(ax.collections):
        cb = getattr(mappable, "colorbar", None)
        if cb is not None and (cb.ax.get_ylabel() or cb.ax.get_xlabel()):
            return True
    return False


def figure_problems(fig) -> list[str]:
    """Return what is missing from ``fig``, one sentence per problem; ``[]`` when it is complete.

    Each visible axes (colour bars excepted) needs a title, an x label, a y
    label, and a legend or a labelled colour bar.
    """
    problems = []
    bars = _colorbar_axes(fig)
    drawn = [ax for ax in fig.axes if ax not in bars and ax.get_visible() and ax.axison]
    if not drawn:
        return ["the figure has no visible axes"]
    for i, ax in enumerate(drawn):
        name = f"axes {i}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        if not ax.get_title():
            problems.append(f"{name} has no title")
        if not ax.get_xlabel():
            problems.append(f"{name} has no x label")
        if not ax.get_ylabel():
            problems.append(f"{name} has no y label")
        if not _has_key(ax):
            problems.append(f"{name} has neither a legend nor a labelled colour bar")
    return problems
