"""Images rendered ahead: sent as they are on a move, and always what a render of those values gives."""

import numpy as np
import pytest

from adaptive_lr import viz
from adaptive_lr.viz import _images


def draw(ax, slope, show_ref=True):
    x = np.linspace(0, 1, 20)
    ax.plot(x, slope * x, label=f"slope {slope:g}")
    if show_ref:  # a toggle that changes the structure: one line more or less
        ax.plot(x, 0.5 * x, "--", label="reference")
    ax.set(title="a line", xlabel="x", ylabel="y")
    ax.legend(loc="upper left")


def make(slope=1.0):
    return viz.interactive_plot(draw, slope=viz.log_slider(0.01, 10, slope), show_ref=viz.toggle(True))


class Browser:
    """What an ipympl canvas sent: (content, buffers) per message."""

    def __init__(self):
        self.sent = []

    def images(self):
        return [buffers[0] for content, buffers in self.sent if buffers]


def on_widget_canvas(w):
    """Give ``w`` an ipympl canvas whose messages are recorded instead of sent to a browser."""
    from ipympl.backend_nbagg import Canvas, FigureManager

    browser = Browser()
    canvas = Canvas(w.fig)
    FigureManager(canvas, 0)
    canvas.send = lambda content, buffers=None: browser.sent.append((content, buffers))
    canvas.syncing_data_url = False  # a browser view exists
    w._attach_canvas(canvas)
    canvas.draw()
    return browser


def ahead(w, **values):
    """Make in a second figure what the forked process makes for ``values``, and cache it in ``w``."""
    child = make()
    child._become_precomputer()
    key = w._key({**w.values, **values})
    w._store_ahead(key, child._make_ahead({**w.values, **values}))
    return key


def rendered(**values):
    fresh = make()
    fresh.redraw(**values)
    fresh.fig.canvas.draw()
    return np.array(fresh.fig.canvas.buffer_rgba())


def differ(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.mean(np.any(a != b, axis=-1))


@pytest.fixture
def shown():
    w = make()
    return w, on_widget_canvas(w)


def test_a_cached_image_is_sent_as_it_is_and_shows_what_a_render_gives(shown):
    w, browser = shown
    step = w.controls["slope"].grid()[19]
    ahead(w, slope=step)
    line = w.axes.lines[0]
    before = line.get_ydata().copy()
    w.redraw(slope=step)
    assert w.last_mode == "image" and w.image_hits == 1
    cached = w._images[w._key(w.values)]
    assert browser.images()[-1] == cached.png  # the bytes made ahead, not a new render
    assert w._canvas._image_mode == "full" and w._canvas._force_full
    assert np.array_equal(line.get_ydata(), before)  # nothing drawn on the move
    assert differ(_images.decode(cached), rendered(slope=step)) < 0.001


def test_after_an_image_a_move_without_one_sends_a_full_image_of_its_values(shown):
    w, browser = shown
    grid = w.controls["slope"].grid()
    ahead(w, slope=grid[19])
    w.redraw(slope=grid[19])
    w.redraw(slope=grid[18])  # not cached: drawn from what the artists show, the old values
    assert w.last_mode in ("in place", "rescaled")
    assert w._canvas._image_mode == "full"  # never a difference from a buffer the browser lacks
    assert differ(np.array(w.fig.canvas.buffer_rgba()), rendered(slope=grid[18])) < 0.001


def test_a_render_the_browser_asks_for_shows_the_values_of_the_last_image(shown):
    w, browser = shown
    ahead(w, show_ref=False)
    w.redraw(show_ref=False)
    assert w.last_mode == "image" and len(w.axes.lines) == 2  # artists still of the old values
    w._canvas.handle_event({"type": "draw"})  # a new view, a resize
    assert len(w.axes.lines) == 1 and not w._behind
    assert differ(np.array(w.fig.canvas.buffer_rgba()), rendered(show_ref=False)) < 0.001
    assert _images.decode(_images.Image((), browser.images()[-1])).shape[:2] == (
        w.fig.canvas.get_width_height(physical=True)[::-1])


def test_the_static_png_follows_the_values_of_the_last_image(shown):
    w, _ = shown
    step = w.controls["slope"].grid()[25]
    ahead(w, slope=step)
    w.redraw(slope=step)
    assert w.last_mode == "image"
    png = w.png()
    assert not w._behind and w.axes.lines[0].get_ydata()[-1] == pytest.approx(step)
    assert png.startswith(b"\x89PNG")


def test_an_image_for_another_resolution_is_not_used(shown):
    w, _ = shown
    step = w.controls["slope"].grid()[19]
    ahead(w, slope=step)
    w._canvas._set_device_pixel_ratio(2)  # the page moved to a high-density screen
    w.redraw(slope=step)
    assert w.last_mode != "image" and w.image_hits == 0


def test_no_image_is_sent_before_a_browser_view_exists(shown):
    w, browser = shown
    step = w.controls["slope"].grid()[19]
    ahead(w, slope=step)
    w._canvas.syncing_data_url = True
    w.redraw(slope=step)
    assert w.last_mode != "image"


def test_cached_images_are_capped_in_bytes_oldest_dropped_first(monkeypatch):
    from adaptive_lr.viz import widgets

    w = make()
    grid = w.controls["slope"].grid()
    first = ahead(w, slope=grid[10])
    size = len(w._images[first].png)
    monkeypatch.setattr(widgets, "_MAX_IMAGE_BYTES", int(2.5 * size))
    keys = [first] + [ahead(w, slope=grid[i]) for i in (11, 12, 13)]
    assert list(w._images) == keys[-2:]
    assert w._image_bytes == sum(len(w._images[k].png) for k in keys[-2:])


@pytest.mark.skipif(not __import__("adaptive_lr.viz._precompute", fromlist=["x"]).available(),
                    reason="images are rendered ahead only where os.fork is usable")
def test_the_forked_process_renders_the_images_a_move_then_sends():
    import time

    w = make()
    browser = on_widget_canvas(w)
    w._start_precompute()
    deadline = time.monotonic() + 60
    while len(w._images) < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    w._precomputer.stop()
    grid = w.controls["slope"].grid()
    key = w._key({**w.values, "slope": grid[19]})
    assert key in w._images
    w.redraw(slope=grid[19])
    assert w.last_mode == "image" and browser.images()[-1] == w._images[key].png
    assert differ(_images.decode(w._images[key]), rendered(slope=grid[19])) < 0.001
    w.redraw(slope=1.0)  # back where the slider started: its image was made too
    assert w.last_mode == "image" and w.image_hits == 2


@pytest.mark.skipif(not __import__("adaptive_lr.viz._precompute", fromlist=["x"]).available(),
                    reason="images are rendered ahead only where os.fork is usable")
def test_the_forked_process_renders_while_a_kernel_thread_holds_a_render_lock():
    """A canvas message handled on another thread may be drawing a figure when the fork happens;
    the lock that thread holds is then held forever in the child, which must not wait for it."""
    import threading
    import time

    from matplotlib.figure import Figure

    w = make()
    on_widget_canvas(w)
    held, release = threading.Event(), threading.Event()

    def drawing():
        with Figure._render_lock:
            held.set()
            release.wait(120)

    thread = threading.Thread(target=drawing, daemon=True)
    thread.start()
    held.wait(10)
    try:
        w._start_precompute()
        deadline = time.monotonic() + 60
        while not w._images and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        release.set()
        w._precomputer.stop()
    assert w._images, "the forked process made no image while the lock was held at the fork"


def test_images_made_here_are_those_of_their_values_and_the_figure_stays_where_it_was():
    w = make()
    before = np.array(w.fig.canvas.buffer_rgba()).copy()
    assert w.precompute_images(steps=1) == 3  # a step down and up along the slope, the other toggle
    assert w.values == {"slope": 1.0, "show_ref": True}
    assert differ(np.array(w.fig.canvas.buffer_rgba()), before) < 0.001
    key = w._key({"slope": 1.0, "show_ref": False})
    assert differ(_images.decode(w._images[key]), rendered(show_ref=False)) < 0.001
