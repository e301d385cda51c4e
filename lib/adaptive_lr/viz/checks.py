"""What every figure of the course must carry: a title, labelled axes and a legend, and texts that
tell neighbouring settings of its controls apart."""

from __future__ import annotations

import re


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


# -- a control's value as the figure's texts show it -------------------------------------------
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def figure_texts(fig) -> dict:
    """The texts a reader reads a figure's settings from: titles, axis labels, legend entries and
    titles, annotations and the figure's title, keyed by where they are (tick labels are not
    included: they follow the data, not the controls)."""
    texts = {}
    if fig._suptitle is not None and fig._suptitle.get_text():
        texts[("figure", "title")] = fig._suptitle.get_text()
    for i, ax in enumerate(fig.axes):
        parts = [("title", ax.title), ("left title", ax._left_title),
                 ("right title", ax._right_title), ("x label", ax.xaxis.label),
                 ("y label", ax.yaxis.label)]
        legend = ax.get_legend()
        if legend is not None:
            parts.append(("legend title", legend.get_title()))
            parts += [(f"legend entry {j}", t) for j, t in enumerate(legend.get_texts())]
        parts += [(f"text {j}", t) for j, t in enumerate(ax.texts)]
        for where, text in parts:
            if text.get_visible() and text.get_text():
                texts[(f"axes {i}", where)] = text.get_text()
    return texts


def _roundings(value: float) -> set:
    """Every way ``value`` can be printed rounded: 1-6 significant digits or 0-6 decimals."""
    forms = {f"{value:.{k}g}" for k in range(1, 7)} | {f"{value:.{k}f}" for k in range(7)}
    return {float(s) for s in forms} - {0.0}


def _numbers(text: str) -> list[float]:
    return [float(n) for n in _NUMBER.findall(text.replace(",", ""))]


def value_readings(texts_by_value: dict) -> set:
    """The texts that print the control's value: those that change with it and hold a number
    that, at every value the control was moved to, is that value rounded (the 0.9 of
    "beta2=0.9"; not the 1.00 of "max 1.00", which reads 7.27 at beta2 = 0.9999, nor the 1 of a
    fixed "1 (constant gradient)"). ``texts_by_value``: value -> :func:`figure_texts`."""
    readings = set()
    for where in {w for texts in texts_by_value.values() for w in texts}:
        shown = {v: t[where] for v, t in texts_by_value.items() if where in t}
        seen = {v: _numbers(text) for v, text in shown.items()}
        if len(set(shown.values())) < 2 or len({len(n) for n in seen.values()}) != 1:
            continue
        width = len(next(iter(seen.values())))
        if any(all(n[j] in _roundings(float(v)) for v, n in seen.items()) for j in range(width)):
            readings.add(where)
    return readings


def value_text_problems(name: str, a, b, texts_a: dict, texts_b: dict, readings: set) -> list[str]:
    """Texts among ``readings`` (see :func:`value_readings`) that read the same at control
    ``name``'s neighbouring values ``a`` and ``b``: the figure says two settings are one (a title
    with ``eps:.0e`` on a log slider, a ``beta2:.3g`` that reads 1 near 0.9999)."""
    return [
        f"{where[0]} {where[1]} reads {text!r} at both {name}={a!r} and {name}={b!r}"
        for where, text in texts_a.items()
        if where in readings and texts_b.get(where) == text
    ]


def neighbouring_values(control) -> list[tuple]:
    """Pairs of neighbouring values of a numeric control to tell apart: both ends of its grid and
    its default with the next value (a figure's text must show each pair differently)."""
    if control.kind not in ("float", "int", "log"):
        return []
    grid = control.grid()
    if len(grid) < 2:
        return []
    i = control.index(control.default)
    pairs = [(grid[0], grid[1]), (grid[-2], grid[-1])]
    if i is not None:
        pairs.append((grid[i], grid[i + 1]) if i + 1 < len(grid) else (grid[i - 1], grid[i]))
    return list(dict.fromkeys(pairs))


def readout_problems(name: str, control) -> list[str]:
    """Neighbouring values a float slider's own readout shows alike (its ``fmt`` too coarse)."""
    if control.kind != "float":
        return []
    fmt = control.options.get("fmt", ".3g")
    grid = control.grid()
    shown = [format(v, fmt) for v in grid]
    return [
        f"slider {name}'s readout shows {a!r} and {b!r} both as {sa!r} (fmt {fmt!r})"
        for a, b, sa, sb in zip(grid, grid[1:], shown, shown[1:])
        if sa == sb
    ][:3]


def control_text_problems(figure) -> list[str]:
    """Move each numeric control of an interactive ``figure`` through :func:`neighbouring_values`
    (the other controls at their current values, put back afterwards) and return where a text
    that prints the control's value, or the slider's readout, shows two neighbouring settings
    alike."""
    name = getattr(figure.draw_fn, "__name__", "draw")
    problems = []
    for c, control in figure.controls.items():
        problems += [f"{name}: {p}" for p in readout_problems(c, control)]
        pairs = neighbouring_values(control)
        if not pairs:
            continue
        original, texts = figure.values[c], {}
        for value in dict.fromkeys(v for pair in pairs for v in pair):
            figure.redraw(**{c: value})
            texts[value] = figure_texts(figure.fig)
        figure.redraw(**{c: original})
        readings = value_readings(texts)
        for a, b in pairs:
            problems += [f"{name}: {p}" for p in
                         value_text_problems(c, a, b, texts[a], texts[b], readings)]
    return problems
