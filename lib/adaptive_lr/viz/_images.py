"""Rendered images of frames: made ahead by the forked process, sent as they are on a move.

Rendering (ticks, texts, legends, PNG encoding) is most of what a slider move
costs once its frame is cached. The process that computes frames ahead
(:mod:`viz._precompute`) therefore also renders each one, on an Agg canvas of
its own, and sends the PNG with it. A move whose image is cached sends those
bytes to the widget canvas as a full image: nothing is computed, drawn or
encoded on the move.

An image holds only for the canvas size and resolution it was rendered at
(the browser's device pixel ratio sets the resolution), so each carries its
:func:`geometry` and is used only while the canvas has the same.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

# compress_level 1: a few ms to encode a figure, the PNG 1.5-2x the size of the default
# level's, which a local websocket carries in well under a millisecond.
_COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class Image:
    """A PNG of the whole figure and the canvas geometry it was rendered for."""

    geometry: tuple
    png: bytes


class Cache(OrderedDict):
    """Entries kept oldest first, capped by their total size in bytes (``size(value)``); the
    oldest go first, the newest always stays. Holds the kernel's images and the record of
    those the page holds (``viz._page``)."""

    def __init__(self, size):
        super().__init__()
        self._size = size
        self.nbytes = 0

    def put(self, key, value, max_bytes) -> list:
        """Store ``value`` as the newest entry; return the keys evicted to stay within ``max_bytes``."""
        self.discard(key)
        self[key] = value
        self.nbytes += self._size(value)
        dropped = []
        while self.nbytes > max_bytes and len(self) > 1:
            gone, value = self.popitem(last=False)
            self.nbytes -= self._size(value)
            dropped.append(gone)
        return dropped

    def discard(self, key) -> None:
        if key in self:
            self.nbytes -= self._size(super().pop(key))

    def clear(self) -> None:
        super().clear()
        self.nbytes = 0


def geometry(fig) -> tuple:
    """What an image must match to stand for ``fig``'s canvas: (dpi, width px, height px)."""
    width, height = fig.canvas.get_width_height(physical=True)
    return (float(fig.dpi), int(width), int(height))


def encode(fig) -> Image:
    """The PNG of what ``fig``'s Agg canvas holds now (rendered by the caller)."""
    from PIL import Image as PILImage

    pixels = np.asarray(fig.canvas.buffer_rgba())
    with io.BytesIO() as out:
        PILImage.fromarray(pixels).save(out, format="png", compress_level=_COMPRESS_LEVEL)
        return Image(geometry(fig), out.getvalue())


def decode(image: Image) -> np.ndarray:
    """The RGBA pixels of ``image`` (for tests: compare with a render)."""
    from PIL import Image as PILImage

    return np.asarray(PILImage.open(io.BytesIO(image.png)).convert("RGBA"))


def send(canvas, image: Image) -> bool:
    """Show ``image`` on an ipympl widget canvas as a full frame; False if it cannot be.

    Until a browser view exists, ipympl keeps the figure's image in the
    widget's state from its own buffer instead of sending frames, so there
    is nothing to send to. Once sent, the browser shows pixels that the
    canvas's own buffer does not hold, so the canvas's next image must be
    full too (never a difference from its buffer).
    """
    if getattr(canvas, "syncing_data_url", True):
        return False
    canvas.set_image_mode("full")
    canvas.send_binary(image.png)
    expect_full(canvas)
    return True


def expect_full(canvas) -> None:
    """Make ``canvas``'s next image full: the browser shows pixels its buffer does not hold."""
    canvas.set_image_mode("full")
    canvas._force_full = True
