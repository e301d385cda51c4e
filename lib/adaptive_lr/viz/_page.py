"""Images kept in the page, so that a slider move shows its figure with no round trip to the kernel.

Sending a cached image from the kernel on each move still leaves the
websocket, the page's message handling and ipympl's decoding between the key
press and the new figure (75-135 ms measured). :class:`PageImages` sends
each image made ahead (:mod:`viz._images`) to the page as soon as the
kernel has it; the page's half (``page_images.js``) keeps them and, when a
slider's model changes in the page, draws the image of the new values into
the ipympl canvas itself. The kernel hears of the move afterwards, as
before, and brings its artists along lazily.

Keys are the controls' grid indices joined by commas
(:meth:`viz.widgets.Control.index`), which the page computes from the
sliders' models in the same way. The kernel remembers which images the page
holds, at which canvas geometry, up to a byte cap per figure (the page drops
what the kernel evicts). The page also says when the figure leaves the
screen and comes back, so that the kernel can pause the process rendering
its images and leave the cores to the figure being read.
"""

from __future__ import annotations

import threading
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from . import _images

MAX_PAGE_BYTES = 24 * 2**20  # images held in the page per figure (one is 50-200 kB)


def control_spec(widget, control) -> dict:
    """What the page needs to compute ``control``'s grid index from ``widget``'s model."""
    o = control.options
    spec = {"id": widget.model_id, "kind": control.kind, "count": len(control.grid())}
    if control.kind in ("float", "int"):
        spec.update(min=o["min"], step=o["step"])
    elif control.kind == "log":
        spec.update(min=float(np.log10(o["min"])), step=o["step"])
    return spec


class PageImages(anywidget.AnyWidget):
    """The page's store of one figure's images (no view of its own: it draws on the canvas's)."""

    _esm = Path(__file__).with_name("page_images.js")
    canvas_id = traitlets.Unicode().tag(sync=True)
    controls = traitlets.List().tag(sync=True)

    def __init__(self, canvas, specs, *, on_missing=None, on_hello=None, on_visible=None,
                 max_bytes=MAX_PAGE_BYTES):
        super().__init__(canvas_id=canvas.model_id, controls=list(specs))
        self._held = _images.Cache(lambda entry: entry[1])  # key -> (geometry, PNG bytes)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()  # images arrive on the precomputing process's reader thread
        self._on_missing, self._on_hello, self._on_visible = on_missing, on_hello, on_visible
        self.on_msg(self._receive)

    @property
    def max_bytes(self) -> int:
        """The most the page holds for this figure, in PNG bytes."""
        return self._max_bytes

    def holds(self, key, geometry) -> bool:
        """Whether the page holds ``key``'s image made for a canvas of ``geometry``."""
        with self._lock:
            entry = self._held.get(key)
        return entry is not None and entry[0] == geometry

    def offer(self, key, image) -> None:
        """Send the page ``image`` (a :class:`viz._images.Image`) for ``key``; evict the oldest
        beyond the cap."""
        if key is None:
            return
        with self._lock:
            dropped = self._held.put(key, (image.geometry, len(image.png)), self._max_bytes)
        self.send({"type": "image", "key": key}, buffers=[image.png])
        if dropped:
            self.send({"type": "drop", "keys": dropped})

    def show(self, key) -> None:
        """Ask the page to draw its image of ``key`` again (a frame from the kernel covered it)."""
        self.send({"type": "show", "key": key})

    def forget(self) -> None:
        with self._lock:
            self._held.clear()

    def _receive(self, widget, content, buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "hello":  # a new page (a reload, another browser): it holds nothing yet
            self.forget()
            if self._on_hello is not None:
                self._on_hello()
        elif kind == "visible":  # whether any view of the canvas is on screen
            if self._on_visible is not None:
                self._on_visible(bool(content.get("value")))
        elif kind == "missing":
            key = content.get("key")
            with self._lock:
                self._held.discard(key)
            if self._on_missing is not None:
                self._on_missing(key)
