"""Slider-to-figure latency in Chromium: ``python benchmarks/notebooks.py --browser [notebook ...]``.

For each theory notebook given (default ``course/03_algorithms.ipynb``):
JupyterLab on a scratch copy of ``course/`` (``tests/browser/lab.py``), Run
All in Chromium, then for every interactive figure and each of its sliders,
ten moves of one step (five right, five left), one at a time. In the page, a
move is a key press on the slider's handle; its latency is the time from that
input event to the first new image drawn on the figure's canvas (ipympl draws
every frame it receives with ``drawImage``, which the page wraps to note the
time). After Run All, each figure in turn is scrolled into view and its
first move comes ``--settle=SECONDS`` (default 10) later, as a student reads
a figure before moving its slider (JupyterLab creates a figure's view only
near the screen; from then on the frames and images of the neighbouring
values are made in the background). Prints the median and maximum per
figure, and what the kernel counted per figure: images made ahead, moves the
page showed itself from the images it holds (``viz._page``), moves that sent
the kernel's image, frames found cached and frames drawn on a move. The machine's load
average is printed at the start and the end, as other programs competing
for the cores slow everything.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import lab as _lab  # noqa: E402
from tests.browser import ui  # noqa: E402

SETTLE_S = 10.0  # seconds a figure is in view before its first move (--settle=SECONDS)
SLOW_MS = 120  # the budget's maximum: each move above it is printed

HOOK = """
window.__draws = [];
const _drawImage = CanvasRenderingContext2D.prototype.drawImage;
CanvasRenderingContext2D.prototype.drawImage = function (...args) {
  window.__draws.push({canvas: this.canvas, t: performance.now()});
  return _drawImage.apply(this, args);
};
"""

MOVE = """async ([handle, key, timeout]) => {
  const figure = handle.closest('.jp-Cell').querySelector('.jupyter-matplotlib-figure canvas');
  const start = performance.now();
  const seen = window.__draws.length;
  handle.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
  while (performance.now() - start < timeout) {
    const hit = window.__draws.slice(seen).find(d => d.canvas === figure && d.t >= start);
    if (hit) return hit.t - start;
    await new Promise(r => requestAnimationFrame(r));
  }
  return null;
}"""


def measure(page, settle_s=SETTLE_S, moves_per_slider=10, timeout_ms=5000):
    """``{figure name: [ms per move]}`` for every interactive figure of the open notebook.

    Each figure is scrolled into view and read for ``settle_s`` seconds before
    its first move: JupyterLab creates a figure's view (and the figure starts
    rendering ahead) only once it is near the screen.
    """
    results = {}
    cells = page.locator(".jp-Notebook:visible .jp-Cell", has=page.locator(".jupyter-matplotlib-figure"))
    for i in range(cells.count()):
        cell = cells.nth(i)
        cell.locator(".jupyter-matplotlib-figure").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1000 * settle_s)
        # The editor's own lines (CodeMirror renders only those in view, so not inner_text).
        source = cell.locator(".jp-InputArea .cm-content").evaluate(
            "(el) => { try { return el.cmView.view.state.doc.toString(); } catch (e) { return el.textContent; } }")
        found = re.search(r"interactive_plot\((\w+)", source) or re.search(r"def (draw\w*)\(ax", source)
        name = found.group(1) if found else f"figure {i + 1}"
        handles = cell.locator(".widget-slider .noUi-handle")
        times = []
        for k in range(handles.count()):
            handle = handles.nth(k)
            handle.scroll_into_view_if_needed()
            for j in range(moves_per_slider):
                key = "ArrowRight" if j < moves_per_slider // 2 else "ArrowLeft"
                ms = page.evaluate(MOVE, [handle.element_handle(), key, timeout_ms])
                times.append(ms if ms is not None else float(timeout_ms))
                if ms is None:  # which move: a slider at its end, or an image that never came
                    print(f"  no new image within {timeout_ms} ms: {name}, slider {k + 1}, {key} "
                          f"(move {j + 1}), value {handle.get_attribute('aria-valuenow')}")
                elif ms > SLOW_MS:  # over the budget's maximum: which move, to see why
                    print(f"  {ms:.0f} ms: {name}, slider {k + 1}, {key} (move {j + 1}), "
                          f"value {handle.get_attribute('aria-valuenow')}")
                page.wait_for_timeout(100)  # let the kernel settle before the next move
        results[name] = times
    return results


CACHE_REPORT = """from adaptive_lr.viz import widgets as _widgets
for _f in _widgets.instances():
    if _f.controls:
        print(f"{getattr(_f.draw_fn, '__name__', 'draw'):<24} {len(_f._images):>6} {_f.page_hits:>6} "
              f"{_f.image_hits:>6} {_f.frame_hits:>6} {_f.frame_misses:>6}")"""


def cache_report(page) -> str:
    """Per figure, as the kernel counted: images cached, moves sent a cached image, frames found
    cached or computed on the move (the last code cell of the scratch copy is replaced to ask)."""
    last = page.locator(".jp-Notebook:visible .jp-CodeCell").last
    ui.set_source(page, last, CACHE_REPORT)
    ui.run(page, last)
    header = f"  {'figure':<24} {'images':>6} {'page':>6} {'sent':>6} {'frames':>6} {'drawn':>6}"
    return header + "\n" + "\n".join("  " + line for line in ui.output_text(last).splitlines())


def main(argv: list[str]) -> int:
    missing = _lab.browser_missing()
    if missing:
        print(f"browser benchmark skipped: {missing}")
        return 0
    settle = next((float(a.split("=", 1)[1]) for a in argv if a.startswith("--settle=")), SETTLE_S)
    names = [Path(a).name for a in argv if not a.startswith("--")] or ["03_algorithms.ipynb"]
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "root", Path(tmp) / "home"
        root.mkdir()
        home.mkdir()
        shutil.copytree(ROOT / "course", root / "course")
        server = _lab.Lab(root, home).start()
        try:
            with _lab.chromium(home / "profile") as context:
                page = context.new_page()
                page.add_init_script(HOOK)
                page.on("console", lambda m: m.type == "error" and print(f"  [console] {m.text[:200]}"))
                print(f"{'notebook / figure':<40} {'moves':>5} {'median ms':>9} {'max ms':>7} {'timeouts':>8}")
                for name in names:
                    ui.open_from_file_browser(page, server, "course", name)
                    ui.run_all(page)
                    print(name)
                    for figure, times in measure(page, settle).items():
                        if not times:  # no slider (a dropdown or checkbox only)
                            continue
                        late = sum(t >= 5000 for t in times)
                        print(f"  {figure:<38} {len(times):>5} {statistics.median(times):>9.0f} "
                              f"{max(times):>7.0f} {late:>8}")
                    print(cache_report(page))
        finally:
            server.stop()
    load = os.getloadavg()[0]
    print(f"\nlatency from the key press on a slider to the new image on the figure's canvas; "
          f"cores {os.cpu_count()}, load average {load:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
