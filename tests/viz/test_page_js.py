"""The page's half of viz._page (``page_images.js``), run in Node against stand-in models: it indexes
the sliders as the kernel does, draws only the latest held image, waits for ipympl's own frame, and
reports what it cannot show."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from adaptive_lr import viz
from adaptive_lr.viz import _page

NODE = shutil.which("node")
MODULE = Path(_page.__file__).with_name("page_images.js")
HARNESS = Path(__file__).with_name("page_images_harness.mjs")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs nodejs)")


def run(request: dict) -> dict:
    done = subprocess.run([NODE, str(HARNESS), str(MODULE)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Widget:
    model_id = "m"


def test_the_page_indexes_every_grid_value_as_the_kernel_does():
    controls = {
        "float": viz.slider(-1.0, 1.0, 0.0, 0.02),
        "int": viz.slider(1, 200, 10, 3, integer=True),
        "log": viz.log_slider(1e-8, 1.0, 1e-3),
        "choice": viz.choice([("a", 3), ("b", 1), ("c", 2)]),
        "toggle": viz.toggle(),
    }
    cases, expected = [], []
    for name, control in controls.items():
        spec = _page.control_spec(Widget(), control)
        for i, value in enumerate(control.grid()):
            state = {"value": value, "index": i}
            cases.append([spec, state])
            expected.append(control.index(value))
    spec = _page.control_spec(Widget(), controls["float"])
    cases += [[spec, {"value": 0.013}], [spec, {"value": 1.5}]]  # off the grid, beyond it
    expected += [None, None]
    assert run({"indices": cases})["indices"] == expected


@pytest.fixture(scope="module")
def events():
    return run({"scenario": True})["events"]


def test_a_held_image_is_drawn_on_the_slider_change_and_the_views_updated(events):
    assert events["held"] == {"drawn": [1], "updates": 1}
    assert events["offGrid"] == [1]  # a value off the grid has no image


def test_only_the_latest_move_is_drawn_when_an_earlier_decode_is_slower(events):
    assert events["latestWins"] == [1, 2]  # not [1, 2, 1]: the slow 0.5 gave way to 1.0


def test_an_image_of_another_size_is_reported_missing_and_not_drawn(events):
    assert events["wrongSize"]["drawn"] == [1, 2]
    assert events["wrongSize"]["sent"][-1] == {"type": "missing", "key": "3"}


def test_the_kernel_hears_of_an_image_it_asked_for_that_the_page_lacks(events):
    assert events["askedMissing"][0] == {"type": "hello"}
    assert events["askedMissing"][-2:] == [{"type": "missing", "key": "0"},
                                          {"type": "missing", "key": "1"}]  # "1" was dropped


def test_a_frame_ipympl_is_decoding_lands_first(events):
    assert events["waitsForFrame"] == {"before": [1, 2], "after": [1, 2, 2]}
    assert events["afterCleanup"] == [1, 2, 2, 4]  # a closed widget listens no more (4: below)


def test_the_page_says_when_the_figure_leaves_the_screen_and_comes_back(events):
    assert events["visibility"] == [{"type": "visible", "value": False},
                                    {"type": "visible", "value": True}]  # once per change


def test_an_image_that_arrives_after_its_sliders_moved_there_is_drawn(events):
    # The kernel counts an image as held once sent, so it leaves that move to the page.
    assert events["lateArrival"] == [4]


def test_the_images_one_step_away_are_decoded_ahead_and_only_while_on_screen():
    ahead = run({"ahead": True})["ahead"]
    # Image ids are 10 * (first slider's index) + the second's; the sliders start at "0,0".
    assert ahead["onArrival"] == [0, 1, 10]  # the current values and their two neighbours
    # "0,0" was drawn on arrival (the sliders were there); the move to "1,0" draws the bitmap
    # decoded ahead, then decodes what is one step from there and closes "0,1", two steps away.
    assert ahead["move"] == {"drawn": [0, 10], "decodes": [11, 20], "closed": [1]}
    # Off screen the neighbours' bitmaps are closed and none decoded; the one shown is left to
    # the garbage collector (it may be on its way to the canvas).
    assert ahead["offScreen"] == {"closed": [0, 11, 20], "decodes": []}
    assert ahead["backOnScreen"] == [0, 10, 11, 20]
