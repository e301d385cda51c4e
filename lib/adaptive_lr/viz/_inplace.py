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


def update_mode(live_axes, new_axes, live_signatures=None) -> str | None:
    """How the live drawing can take the new one's values, or None when it must be redrawn.

    ``"in place"``: only the dynamic artists changed and the new data fit in
    the view, so blitting them over the background is enough. ``"rescaled"``:
    besides those, the view limits or an image's pixels or colour limits
    changed, so :func:`update` followed by a render of the whole canvas
    (ticks, colour bars) gives the new figure without drawing it again.
    ``live_signatures`` (from :func:`signatures`) saves hashing the live axes' contours again.
    """
    live_signatures = live_signatures or signatures(live_axes)
    mode = "in place"
    for live, new, signature in zip(live_axes, new_axes, live_signatures):
        if signature != _static_signature(new):
            return None
        ln, nn = live.get_legend(), new.get_legend()
        if ln is not None and len(ln.get_texts()) != len(nn.get_texts()):
            return None
        if not (_inside(new.get_xlim(), live.get_xlim(), live.get_xscale() == "log")
                and _inside(new.get_ylim(), live.get_ylim(), live.get_yscale() == "log")):
            mode = "rescaled"
    if (_images_digest(live_axes) != _images_digest(new_axes)
            or _colorbar_labels(live_axes) != _colorbar_labels(new_axes)):
        mode = "rescaled"
    return mode


def can_update(live_axes, new_axes, live_signatures=None) -> bool:
    """Whether the new drawing differs from the live one only in what :func:`update` changes
    and its data fit in the current view (a blit is enough)."""
    return update_mode(live_axes, new_axes, live_signatures) == "in place"


def _copy_line(live, new) -> None:
    live.set_data(*new.get_data(orig=True))
    live.set_label(new.get_label())
    live.set_color(new.get_color())
    live.set_linestyle(new.get_linestyle())
    live.set_linewidth(new.get_linewidth())
    live.set_marker(new.get_marker())
    live.set_alpha(new.get_alpha())
    live.set_visible(new.get_visible())


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


def update(live_axes, new_axes, *, limits=False) -> None:
    """Give the live artists the new drawing's data and texts (call after :func:`update_mode`).

    With ``limits`` also the new view limits and images' pixels and colour
    limits (a colour bar follows its image's limits; the figure then needs a
    full render).
    """
    for live, new in zip(live_axes, new_axes):
        if limits:
            live.set_xlim(new.get_xlim())
            live.set_ylim(new.get_ylim())
            for a, b in zip(live.images, new.images):
                a.set_data(b.get_array())
                _set_clim_keeping_ticks(a, b.get_clim())
                if a.colorbar is not None and b.colorbar is not None:
                    a.colorbar.ax.set_xlabel(b.colorbar.ax.get_xlabel())
                    a.colorbar.ax.set_ylabel(b.colorbar.ax.get_ylabel())
        for a, b in zip(live.lines, new.lines):
            _copy_line(a, b)
        for a, b in zip(live.texts, new.texts):
            a.set_text(b.get_text())
            a.set_position(b.get_position())
        for a, b in ((live.title, new.title), (live._left_title, new._left_title),
                     (live._right_title, new._right_title)):
            a.set_text(b.get_text())
        ln, nn = live.get_legend(), new.get_legend()
        if ln is not None:
            for a, b in zip(ln.get_texts(), nn.get_texts()):
                a.set_text(b.get_text())
            for a, b in zip(ln.get_lines(), nn.get_lines()):
                a.set_color(b.get_color())


class Blitter:
    """Keeps the background of a figure without its dynamic artists, and redraws them over it."""

    def __init__(self, fig):
        self.fig = fig
        self.background = None
        self.axes: list = []
        self.signatures: list = []
        self._cid = None
        self._canvas = None

    def attach(self, axes) -> None:
        """Mark the dynamic artists of ``axes`` animated; the next full draw saves the background."""
        self.axes = list(axes)
        self.signatures = signatures(self.axes)
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
        self.background = canvas.copy_from_bbox(self.fig.bbox)
        self._draw_dynamic()

    def _draw_dynamic(self) -> None:
        for ax in self.axes:
            for a in dynamic_artists(ax):
                ax.draw_artist(a)

    def blit(self) -> bool:
        """Redraw the dynamic artists over the background; False when there is none yet."""
        canvas = self.fig.canvas
        if self.background is None or not hasattr(canvas, "restore_region"):
            return False
        canvas.restore_region(self.background)
        self._draw_dynamic()
        canvas.blit(self.fig.bbox)
        return True
