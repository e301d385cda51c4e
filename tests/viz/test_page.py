"""Images kept in the page: offered as they are made, shown by the page on a move, asked for again
when a kernel frame covered them, and never relied on when the page cannot show them."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_lr import viz
from adaptive_lr.viz import _images, _page

from .test_images import ahead, make, on_widget_canvas


class Page:
    """What a figure's PageImages sent to the page: (content, buffers) per message."""

    def __init__(self, page):
        self.sent = []
        page.send = lambda content, buffers=None: self.sent.append((content, buffers))

    def of(self, kind):
        return [content for content, _ in self.sent if content["type"] == kind]


@pytest.fixture
def shown():
    """A figure on a recorded widget canvas, with its page store attached as a display does."""
    w = make()
    browser = on_widget_canvas(w)
    w.build_widgets()
    w._attach_page(w._canvas)
    return w, browser, Page(w._page)


def test_an_image_made_ahead_is_offered_to_the_page_under_the_controls_grid_indices(shown):
    w, _, page = shown
    grid = w.controls["slope"].grid()
    key = ahead(w, slope=grid[19])
    (content, buffers), = page.sent
    assert content == {"type": "image", "key": "19,1"}  # slope's 19th step, the toggle on
    assert buffers == [w._images[key].png]


def test_a_move_the_page_holds_sends_nothing_and_leaves_the_artists_for_later(shown):
    w, browser, page = shown
    grid = w.controls["slope"].grid()
    ahead(w, slope=grid[19])
    before, frames = w.axes.lines[0].get_ydata().copy(), len(browser.sent)
    w._page_covered = False  # the page showed its own image last
    w.redraw(slope=grid[19])
    assert w.last_mode == "page" and w.page_hits == 1 and w._behind
    assert len(browser.sent) == frames or all(not b for _, b in browser.sent[frames:])
    assert page.of("show") == []  # the page drew it on the slider's change already
    assert np.array_equal(w.axes.lines[0].get_ydata(), before)
    assert w._canvas._force_full  # the page shows pixels the canvas's buffer lacks


def test_after_a_kernel_frame_the_page_is_asked_to_show_its_image_again(shown):
    w, _, page = shown
    grid = w.controls["slope"].grid()
    ahead(w, slope=grid[19])
    w.redraw(slope=grid[18])  # not held: the kernel draws it, over what the page showed
    assert w.last_mode != "page"
    w.redraw(slope=grid[19])
    w.redraw(slope=grid[19])
    assert page.of("show") == [{"type": "show", "key": "19,1"}]  # once, not on every move


def test_a_browser_draw_counts_as_a_kernel_frame(shown):
    w, _, page = shown
    grid = w.controls["slope"].grid()
    ahead(w, slope=grid[19])
    w.redraw(slope=grid[19])
    page.sent.clear()
    w._canvas.handle_event({"type": "draw"})  # a resize: the kernel renders the current values
    w.redraw(slope=grid[19])
    assert page.of("show") == [{"type": "show", "key": "19,1"}]


def test_an_image_the_page_could_not_show_is_rendered_by_the_kernel(shown):
    w, browser, _ = shown
    grid = w.controls["slope"].grid()
    ahead(w, slope=grid[19])
    w.redraw(slope=grid[19])
    assert w._behind
    frames = len(browser.images())
    w._page._receive(w._page, {"type": "missing", "key": "19,1"}, [])
    assert not w._behind and w.axes.lines[0].get_ydata()[-1] == pytest.approx(grid[19])
    w._canvas.handle_event({"type": "draw"})  # what draw_idle leads to in a browser
    assert len(browser.images()) > frames
    assert not w._page.holds("19,1", _images.geometry(w.fig))
    w.redraw(slope=grid[19])
    assert w.last_mode != "page"


def test_a_missing_image_of_other_values_changes_nothing(shown):
    w, browser, _ = shown
    grid = w.controls["slope"].grid()
    ahead(w, slope=grid[19])
    w.redraw(slope=grid[19])
    w._page._receive(w._page, {"type": "missing", "key": "3,1"}, [])
    assert w._behind  # the sliders are elsewhere: nothing to render for them


def test_a_new_page_is_sent_every_image_again(shown):
    w, _, page = shown
    grid = w.controls["slope"].grid()
    keys = [ahead(w, slope=grid[i]) for i in (17, 18, 19)]
    page.sent.clear()
    w._page._receive(w._page, {"type": "hello"}, [])
    assert [c["key"] for c in page.of("image")] == ["17,1", "18,1", "19,1"]
    assert len(keys) == 3


def test_a_new_page_is_sent_only_the_newest_images_that_fit_its_cap(shown):
    w, _, page = shown
    grid = w.controls["slope"].grid()
    keys = [ahead(w, slope=grid[i]) for i in (17, 18, 19)]
    w._page._max_bytes = sum(len(w._images[k].png) for k in keys[1:])
    page.sent.clear()
    w._page._receive(w._page, {"type": "hello"}, [])
    assert [c["key"] for c in page.of("image")] == ["18,1", "19,1"] and page.of("drop") == []


def test_an_image_for_another_canvas_geometry_is_not_offered(shown):
    w, _, page = shown
    w._canvas._set_device_pixel_ratio(2)
    child = make()
    child._become_precomputer()  # renders at the old resolution
    key = w._key({**w.values, "slope": 2.0})
    w._store_ahead(key, child._make_ahead({**w.values, "slope": 2.0}))
    assert page.of("image") == []


def test_the_page_cap_drops_the_oldest_images_and_tells_the_page(shown):
    w, _, page = shown
    grid = w.controls["slope"].grid()
    first = ahead(w, slope=grid[10])
    w._page._max_bytes = int(2.5 * len(w._images[first].png))
    for i in (11, 12, 13):
        ahead(w, slope=grid[i])
    dropped = [k for c in page.of("drop") for k in c["keys"]]
    assert dropped == ["10,1", "11,1"]
    geometry = _images.geometry(w.fig)
    assert [w._page.holds(f"{i},1", geometry) for i in (10, 11, 12, 13)] == [False, False, True, True]


def test_control_specs_give_the_page_what_it_needs_to_index_the_sliders():
    w = viz.interactive_plot(lambda ax, a, b, c, d: None, a=viz.slider(0, 1, 0.5, 0.1),
                             b=viz.log_slider(1e-3, 1, 1e-2), c=viz.choice(["x", "y"]),
                             d=viz.toggle(False))
    w.build_widgets()
    specs = [_page.control_spec(w.widgets[n], c) for n, c in w.controls.items()]
    assert [s["kind"] for s in specs] == ["float", "log", "choice", "toggle"]
    assert specs[0]["min"] == 0 and specs[0]["step"] == pytest.approx(0.1) and specs[0]["count"] == 11
    assert specs[1]["min"] == pytest.approx(-3) and specs[1]["count"] == 31
    assert all(s["id"] == w.widgets[n].model_id for s, n in zip(specs, w.controls))


@given(st.integers(0, 40))
def test_every_log_slider_grid_value_has_its_own_index(i):
    control = viz.log_slider(1e-3, 10.0, 1e-2)
    assert control.index(control.grid()[i]) == i


@given(st.integers(0, 100), st.floats(-1e-12, 1e-12))
def test_a_linear_slider_value_maps_to_its_step_despite_rounding(i, wobble):
    control = viz.slider(-1.0, 1.0, 0.0, 0.02)
    assert control.index(control.grid()[i] + wobble) == i


def test_values_off_the_grid_have_no_index():
    assert viz.slider(0, 1, 0.5, 0.1).index(0.55) is None
    assert viz.slider(0, 1, 0.5, 0.1).index(1.5) is None
    assert viz.choice(["x", "y"]).index("z") is None
    assert viz.toggle().index(True) == 1


def _cpu_ticks(pid) -> int:
    """The process's user + system CPU time so far, in clock ticks (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.skipif(not __import__("adaptive_lr.viz._precompute", fromlist=["x"]).available(),
                    reason="images are rendered ahead only where os.fork is usable")
def test_a_figure_off_screen_pauses_its_rendering_process_and_resumes_on_return(shown):
    import threading
    import time

    w, _, _ = shown
    w._start_precompute()
    worker = w._precomputer
    try:
        w._page._receive(w._page, {"type": "visible", "value": False}, [])
        assert worker.paused
        time.sleep(1.5)  # it finishes the value it was on
        made, ticks = len(w._images), sum(map(_cpu_ticks, worker.pids))
        # Moves while paused: the child still reads them, so they never block the kernel.
        grid = w.controls["slope"].grid()
        sent = []

        def move():
            for i in range(5000):
                worker.recentre({**w.values, "slope": grid[i % len(grid)]})
                sent.append(i)

        mover = threading.Thread(target=move)
        mover.start()
        mover.join(60)
        assert not mover.is_alive() and len(sent) == 5000
        time.sleep(1.5)
        assert len(w._images) == made  # nothing rendered while paused
        assert sum(map(_cpu_ticks, worker.pids)) - ticks < 100  # reading 5000 centres, not rendering (1 s)
        w._page._receive(w._page, {"type": "visible", "value": True}, [])
        assert not worker.paused
        deadline = time.monotonic() + 60
        while len(w._images) == made and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(w._images) > made
    finally:
        worker.stop()


@pytest.mark.skipif(not __import__("adaptive_lr.viz._precompute", fromlist=["x"]).available(),
                    reason="images are rendered ahead only where os.fork is usable")
def test_a_figure_that_starts_off_screen_starts_paused_and_a_paused_process_still_stops(shown):
    import time

    w, _, _ = shown
    w._on_visible(False)
    w._start_precompute()
    worker = w._precomputer
    assert worker.paused
    time.sleep(2.0)
    assert len(w._images) <= len(worker.members)  # at most the value each child had started on
    worker.stop()
    deadline = time.monotonic() + 30
    while worker.alive and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker.alive


def test_a_kernel_frame_of_values_the_page_lacks_is_kept_and_given_to_the_page(shown):
    from .test_images import differ, rendered

    w, _, page = shown
    grid = w.controls["slope"].grid()
    ahead(w, slope=grid[19])
    w.redraw(slope=grid[18])  # not made ahead: the kernel draws it
    w._canvas.handle_event({"type": "draw"})  # what draw_idle leads to in a browser
    assert w.last_mode != "page"
    [(content, buffers)] = [(c, b) for c, b in page.sent if c == {"type": "image", "key": "18,1"}]
    assert differ(_images.decode(_images.Image(None, buffers[0])), rendered(slope=grid[18])) == 0
    w.redraw(slope=grid[19])
    w.redraw(slope=grid[18])  # coming back: the page shows it itself
    assert w.last_mode == "page"
    offered = len(page.of("image"))
    w._canvas.handle_event({"type": "draw"})  # drawn again at the same geometry: not sent again
    assert len(page.of("image")) == offered
