"""Update a drawn figure in place from a fresh drawing of the same figure, and blit what moved.

A widget callback draws the figure for the new values on *scratch* axes
(no rendering: ``ax.plot`` and friends are cheap) and compares them with the
live axes. When only what a slider usually moves has changed (the lines'
data, labels and colours, the titles, the legend's labels, annotations) and
the new data fit in the current view, the live artists take the new values
(``set_data``, ``set_text``) and only they are redrawn over a saved
background (blitting): no tick, grid, contour or colour bar is re-rendered.
Anything else (new contours, another scale, data outside the view, a
different number of lines) calls for a full redraw, which the caller does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


def _digest(*arrays) -> str:
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a, dtype=float))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _static_signature(ax) -> tuple:
    """What must be identical for the background of ``ax`` to stay valid."""
    collections = []
    for c in ax.collections:
        paths = c.get_paths()
        verts = [p.vertices for p in paths[:200]]
        collections.append((type(c).__name__, len(paths), _digest(*verts) if verts else "",
                            _digest(c.get_offsets()), _digest(c.get_facecolor())))
    # An image's pixels and colour limits may change (see :func:`update`); not its shape or place.
    images = [(np.shape(im.get_array()), tuple(im.get_extent()), im.get_cmap().name)
              for im in ax.images]
    patches = [(type(p).__name__, _digest(p.get_path().vertices), str(p.get_facecolor())) for p in ax.patches]
    return (ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(), ax.get_ylabel(), len(ax.lines),
            len(ax.texts), ax.get_legend() is not None, tuple(collections), tuple(images), tuple(patches))


def dynamic_artists(ax) -> list:
    """The artists of ``ax`` that a redraw may change in place (drawn over the background)."""
    out = list(ax.lines) + list(ax.texts) + [ax.title, ax._left_title, ax._right_title]
    legend = ax.get_legend()
    if legend is not None:
        out.append(legend)
    return out


def _inside(new, old, log) -> bool:
    lo, hi = sorted(old)
    nlo, nhi = sorted(new)
    if log:
        if min(lo, nlo) <= 0:
            return False
        lo, hi, nlo, nhi = np.log10([lo, hi, nlo, nhi])
    slack = 1e-9 * max(abs(hi - lo), 1e-300)
    # Inside the view, and not so much smaller that the view should zoom in.
    return nlo >= lo - slack and nhi <= hi + slack and (nhi - nlo) >= 0.5 * (hi - lo)


def signatures(axes) -> list:
    """The static signature of each axes (what an in-place update leaves as it is)."""
    return [_static_signature(ax) for ax in axes]


def _images_digest(axes) -> str:
    return _digest(*[a for ax in axes for im in ax.images
                     for a in (np.ma.filled(im.get_array(), np.nan), im.get_clim())])


def _colorbar_labels(axes) -> list:
    bars = [im.colorbar for ax in axes for im in ax.images]
    return [None if cb is None else (cb.ax.get_xlabel(), cb.ax.get_ylabel()) for cb in bars]


def _line_state(line) -> tuple:
    x, y = line.get_data(orig=True)
    return (np.asarray(x), np.asarray(y), line.get_label(), line.get_color(), line.get_linestyle(),
            line.get_linewidth(), line.get_marker(), line.get_alpha(), line.get_visible())


@dataclass
class AxesFrame:
    """What one axes of a drawing shows that an update may carry over to the live axes."""

    signature: tuple
    xlim: tuple
    ylim: tuple
    lines: list
    texts: list
    titles: tuple
    legend: tuple | None  # (texts, line colours)
    images: list  # (pixels, colour limits)
    colorbar_labels: list
    images_digest: str = ""
    digest: str = ""  # of everything above but the signature: equal digests, nothing to redraw

    def __post_init__(self):
        self.images_digest = _digest(*[a for pixels, clim in self.images
                                       for a in (np.ma.filled(pixels, np.nan), clim)])
        lines = [(x, y) for x, y, *_ in self.lines]
        props = [tuple(rest) for _, _, *rest in self.lines]
        self.digest = _digest(*[a for xy in lines for a in xy], self.xlim, self.ylim) + repr(
            (props, self.texts, self.titles, self.legend, self.colorbar_labels, self.images_digest))


@dataclass
class Frame:
    """A drawing of the figure reduced to plain data (picklable, so another process can make it).

    :func:`capture` takes it from axes that ``draw`` has drawn on (never
    rendered); :func:`update_mode` and :func:`update` compare it with the live
    axes and give them its values. A cached frame is what lets a slider move
    skip both the computation and the drawing.
    """

    n_axes: int  # axes of the whole figure (colour bars included)
    axes: list
    images_digest: str
    colorbar_labels: list


def capture(fig, axes) -> Frame:
    """The :class:`Frame` of ``axes`` (the main axes of ``fig``, as drawn by ``draw``)."""
    out = []
    for ax in axes:
        legend = ax.get_legend()
        out.append(AxesFrame(
            signature=_static_signature(ax),
            xlim=tuple(ax.get_xlim()),
            ylim=tuple(ax.get_ylim()),
            lines=[_line_state(line) for line in ax.lines],
            texts=[(t.get_text(), t.get_position()) for t in ax.texts],
            titles=(ax.title.get_text(), ax._left_title.get_text(), ax._right_title.get_text()),
            legend=None if legend is None else ([t.get_text() for t in legend.get_texts()],
                                                [line.get_color() for line in legend.get_lines()]),
            images=[(im.get_array(), tuple(im.get_clim())) for im in ax.images],
            colorbar_labels=_colorbar_labels([ax]),
        ))
    return Frame(len(fig.axes), out, _images_digest(axes), _colorbar_labels(axes))


def shown(live_axes) -> list:
    """What each live axes shows now (to compare frames with): its :class:`AxesFrame`."""
    return capture(live_axes[0].figure, live_axes).axes if live_axes else []


def axes_modes(live_axes, frame: Frame, live_signatures=None, now_shown=None) -> list | None:
    """For each live axes, how it takes the frame's values; None when the figure must be redrawn.

    ``"same"``: the frame shows what the axes shows (nothing to do).
    ``"in place"``: only the dynamic artists changed and the new data fit in
    the view, so drawing them over the axes' background is enough.
    ``"rescaled"``: besides those, the view limits or an image's pixels or
    colour limits changed, so the axes (ticks, colour bar) is rendered again
    after :func:`update`, without being drawn again by ``draw``.
    ``live_signatures`` (from :func:`signatures`) saves hashing the live axes'
    contours again; ``now_shown`` (from :func:`shown`) what each axes shows.
    """
    live_signatures = live_signatures or signatures(live_axes)
    now_shown = now_shown or shown(live_axes)
    if len(frame.axes) != len(live_axes):
        return None
    modes = []
    for live, new, signature, old in zip(live_axes, frame.axes, live_signatures, now_shown):
        if signature != new.signature:
            return None
        legend = live.get_legend()
        if legend is not None and len(legend.get_texts()) != len(new.legend[0]):
            return None
        if new.digest == old.digest:
            modes.append("same")
        elif (not (_inside(new.xlim, live.get_xlim(), live.get_xscale() == "log")
                   and _inside(new.ylim, live.get_ylim(), live.get_yscale() == "log"))
              or new.images_digest != old.images_digest or new.colorbar_labels != old.colorbar_labels):
            modes.append("rescaled")
        else:
            modes.append("in place")
    return modes


def overall(modes) -> str | None:
    """One word for :func:`axes_modes`' answer: None, ``"rescaled"`` or ``"in place"``."""
    if modes is None:
        return None
    return "rescaled" if "rescaled" in modes else "in place"


def update_mode(live_axes, frame: Frame, live_signatures=None) -> str | None:
    """:func:`overall` of :func:`axes_modes`."""
    return overall(axes_modes(live_axes, frame, live_signatures))


def _copy_line(live, state) -> None:
    x, y, label, color, linestyle, linewidth, marker, alpha, visible = state
    live.set_data(x, y)
    live.set_label(label)
    live.set_color(color)
    live.set_linestyle(linestyle)
    live.set_linewidth(linewidth)
    live.set_marker(marker)
    live.set_alpha(alpha)
    live.set_visible(visible)


def _set_clim_keeping_ticks(image, clim) -> None:
    """New colour limits; the colour bar redraws itself but keeps the tick formats it was given.

    (Its own update puts back the locator and formatter it was made with,
    undoing e.g. :func:`viz._axes.plain_log_ticks`.)
    """
    cb = image.colorbar
    if cb is None:
        image.set_clim(*clim)
        return
    axes = (cb.ax.xaxis, cb.ax.yaxis)
    kept = [(ax.get_major_locator(), ax.get_minor_locator(), ax.get_major_formatter(),
             ax.get_minor_formatter()) for ax in axes]
    image.set_clim(*clim)
    for ax, (major, minor, major_fmt, minor_fmt) in zip(axes, kept):
        ax.set_major_locator(major)
        ax.set_minor_locator(minor)
        ax.set_major_formatter(major_fmt)
        ax.set_minor_formatter(minor_fmt)


def update(live_axes, frame: Frame, modes) -> None:
    """Give the live artists the frame's data and texts (``modes`` from :func:`axes_modes`).

    A ``"rescaled"`` axes also takes the new view limits and images' pixels
    and colour limits (a colour bar follows its image's limits).
    """
    for live, new, mode in zip(live_axes, frame.axes, modes):
        if mode == "same":
            continue
        if mode == "rescaled":
            live.set_xlim(new.xlim)
            live.set_ylim(new.ylim)
            for a, (pixels, clim), labels in zip(live.images, new.images, new.colorbar_labels):
                a.set_data(pixels)
                _set_clim_keeping_ticks(a, clim)
                if a.colorbar is not None and labels is not None:
                    a.colorbar.ax.set_xlabel(labels[0])
                    a.colorbar.ax.set_ylabel(labels[1])
        for a, state in zip(live.lines, new.lines):
            _copy_line(a, state)
        for a, (text, position) in zip(live.texts, new.texts):
            a.set_text(text)
            a.set_position(position)
        for a, text in zip((live.title, live._left_title, live._right_title), new.titles):
            a.set_text(text)
        legend = live.get_legend()
        if legend is not None:
            texts, colors = new.legend
            for a, text in zip(legend.get_texts(), texts):
                a.set_text(text)
            for a, color in zip(legend.get_lines(), colors):
                a.set_color(color)


def _colorbar_axes(ax) -> list:
    mappables = list(ax.images) + list(ax.collections)
    return [m.colorbar.ax for m in mappables if getattr(m, "colorbar", None) is not None]


def _bounds(spans, size) -> list | None:
    """Cut ``[0, size]`` between consecutive ``(lo, hi)`` spans (halfway); None if they overlap."""
    cuts = [0]
    for (_, hi), (lo, _) in zip(spans, spans[1:]):
        if hi > lo:
            return None
        cuts.append(round((hi + lo) / 2))
    return cuts + [int(np.ceil(size))]


def cells(fig, axes, nrows, ncols, renderer) -> list | None:
    """A rectangle of the figure per main axes that holds it, its texts and its colour bars.

    The rectangles tile the figure (cut halfway between neighbours), so
    rendering one again leaves the others as they are. None when the axes do
    not form the ``nrows`` x ``ncols`` grid, overlap, or the figure has axes
    that belong to none of them.
    """
    from matplotlib.transforms import Bbox

    if len(axes) != nrows * ncols:
        return None
    groups = [[ax, *_colorbar_axes(ax)] for ax in axes]
    if sum(len(g) for g in groups) != len(fig.axes):
        return None
    boxes = [Bbox.union([a.get_tightbbox(renderer) for a in g]) for g in groups]
    columns = [(min(boxes[r * ncols + c].x0 for r in range(nrows)),
                max(boxes[r * ncols + c].x1 for r in range(nrows))) for c in range(ncols)]
    rows = [(min(boxes[r * ncols + c].y0 for c in range(ncols)),
             max(boxes[r * ncols + c].y1 for c in range(ncols))) for r in range(nrows)]
    xs = _bounds(columns, fig.bbox.width)
    ys = _bounds(sorted(rows), fig.bbox.height)  # rows run downwards, display y upwards
    if xs is None or ys is None:
        return None
    out = []
    for i in range(len(axes)):
        r, c = divmod(i, ncols)
        k = nrows - 1 - r
        out.append(Bbox.from_extents(xs[c], ys[k], xs[c + 1], ys[k + 1]))
    return out


class Blitter:
    """Keeps, per axes, the background without its dynamic artists; renders only what changed.

    After a full draw of the canvas the background of each axes' cell (see
    :func:`cells`) is saved. A move then, per axes: leaves it alone
    (``"same"``), restores its background and draws its dynamic artists over
    it (``"in place"``), or clears its cell, renders the axes and its colour
    bars without the dynamic artists, saves that as the new background and
    draws them (``"rescaled"``).
    """

    def __init__(self, fig):
        self.fig = fig
        self.background = None  # the cells' saved backgrounds, once the canvas has drawn
        self.axes: list = []
        self.signatures: list = []
        self.shown: list = []
        self.grid = (1, 1)
        self._cells = None
        self._cid = None
        self._canvas = None

    def attach(self, axes, nrows=1, ncols=1) -> None:
        """Mark the dynamic artists of ``axes`` animated; the next full draw saves the background."""
        self.axes = list(axes)
        self.grid = (nrows, ncols)
        self.signatures = signatures(self.axes)
        self.shown = shown(self.axes)
        for ax in self.axes:
            for a in dynamic_artists(ax):
                a.set_animated(True)
        canvas = self.fig.canvas
        if canvas is not self._canvas:
            if self._canvas is not None and self._cid is not None:
                self._canvas.mpl_disconnect(self._cid)
            self._cid = canvas.mpl_connect("draw_event", self._on_draw)
            self._canvas = canvas
        self.background = None

    def _on_draw(self, event) -> None:
        canvas = self.fig.canvas
        if canvas.is_saving() or not hasattr(canvas, "copy_from_bbox"):
            return
        self._cells = cells(self.fig, self.axes, *self.grid, canvas.get_renderer())
        self.background = (None if self._cells is None
                           else [canvas.copy_from_bbox(cell) for cell in self._cells])
        for ax in self.axes:
            self._draw_dynamic(ax)

    @staticmethod
    def _draw_dynamic(ax) -> None:
        for a in dynamic_artists(ax):
            ax.draw_artist(a)

    def _clear(self, cell, renderer) -> None:
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import IdentityTransform

        blank = Rectangle((cell.x0, cell.y0), cell.width, cell.height, transform=IdentityTransform(),
                          facecolor=self.fig.get_facecolor(), edgecolor="none", antialiased=False)
        blank.set_figure(self.fig)
        blank.draw(renderer)

    def render(self, modes, shown_now=None) -> bool:
        """Render the axes as ``modes`` say (from :func:`axes_modes`); False when there is no
        background yet (the caller then renders the whole canvas)."""
        canvas = self.fig.canvas
        if self.background is None or not hasattr(canvas, "restore_region"):
            return False
        renderer = canvas.get_renderer()
        for i, (ax, mode) in enumerate(zip(self.axes, modes)):
            if mode == "same":
                continue
            if mode == "rescaled":
                self._clear(self._cells[i], renderer)
                for a in [ax, *_colorbar_axes(ax)]:
                    a.draw(renderer)
                self.background[i] = canvas.copy_from_bbox(self._cells[i])
            else:
                canvas.restore_region(self.background[i])
            self._draw_dynamic(ax)
        canvas.blit(self.fig.bbox)
        return True
