"""Interactive figures: headless rendering and widget callbacks without a frontend."""

import numpy as np
import pytest

from adaptive_lr import viz


def draw_line(ax, slope, kind="line", show=True):
    x = np.linspace(0, 1, 20)
    ax.plot(x, slope * x, label=f"{kind}, slope {slope:g}")
    ax.set(title="a line", xlabel="x", ylabel="y")
    ax.legend()


def make():
    return viz.interactive_plot(
        draw_line,
        slope=viz.log_slider(0.01, 10, 1.0),
        kind=viz.choice(["line", "ray"]),
        show=viz.toggle(True),
    )


def test_renders_static_png_at_defaults():
    w = make()
    assert w.png().startswith(b"\x89PNG")
    assert w.values == {"slope": 1.0, "kind": "line", "show": True}
    assert viz.figure_problems(w.fig) == []


def test_widget_change_redraws_headless():
    w = make()
    widgets = w.build_widgets()
    assert set(widgets) == {"slope", "kind", "show"}
    before = w.png()
    widgets["slope"].value = 3.0
    assert w.values["slope"] == pytest.approx(3.0)
    assert w.png() != before
    assert w.axes.get_legend().get_texts()[0].get_text() == "line, slope 3"
    widgets["kind"].value = "ray"
    assert w.axes.get_legend().get_texts()[0].get_text() == "ray, slope 3"


def test_callback_error_is_shown_not_lost():
    def draw(ax, x):
        if x > 0.5:
            raise ValueError("x too large")
        draw_line(ax, x)

    w = viz.interactive_plot(draw, x=(0.0, 1.0, 0.2))
    widgets = w.build_widgets()
    widgets["x"].value = 0.9
    assert "x too large" in w._status.value
    widgets["x"].value = 0.3
    assert w._status.value == ""


def test_display_without_frontend(capsys):
    w = make()
    w.show()  # outside IPython: prints reprs, must not raise
    assert "InteractiveFigure" not in capsys.readouterr().err


def test_redraw_rejects_unknown_control():
    with pytest.raises(KeyError, match="unknown control"):
        make().redraw(lr=1.0)


def test_tuple_and_list_specs():
    w = viz.interactive_plot(lambda ax, n, s: draw_line(ax, n), n=(1, 5, 2), s=["a", "b"])
    assert w.controls["n"].kind == "int" and w.controls["s"].kind == "choice"
    with pytest.raises(ValueError, match="outside"):
        viz.slider(0, 1, 2)


def test_multi_axes_static_plot():
    def draw(axes):
        for k, ax in enumerate(axes):
            draw_line(ax, k + 1)

    w = viz.static_plot(draw, ncols=2)
    assert len(w.axes) == 2 and viz.figure_problems(w.fig) == []


def test_time_redraw_and_registry():
    w = make()
    times = w.time_redraw()
    assert len(times) == 6 and all(t > 0 for t in times)
    assert w in viz.instances()


def test_time_redraw_cpu_clock():
    w = make()
    assert all(t >= 0 for t in w.time_redraw(clock="cpu"))
    with pytest.raises(ValueError, match="clock"):
        w.time_redraw(clock="gpu")


def test_slider_move_updates_the_artists_in_place():
    w = make()
    line = w.axes.lines[0]
    w.redraw(slope=0.8)  # inside the view: same artists, new data, only they are redrawn
    assert w.last_mode == "in place"
    assert w.axes.lines[0] is line and line.get_ydata()[-1] == pytest.approx(0.8)
    assert w.axes.get_legend().get_texts()[0].get_text() == "line, slope 0.8"
    assert viz.figure_problems(w.fig) == []


def test_data_outside_the_view_rescale_and_a_new_structure_redraws_fully():
    w = make()
    line = w.axes.lines[0]
    w.redraw(slope=5.0)  # leaves the view: same artists, new limits, the canvas renders again
    assert w.last_mode == "rescaled" and w.axes.lines[0] is line
    assert w.axes.get_ylim()[1] >= 5.0

    def draw(ax, log):
        x = np.linspace(0.1, 1, 20)
        ax.plot(x, x, label="y = x")
        if log:
            ax.set_yscale("log")
        ax.set(title="scale", xlabel="x", ylabel="y")
        ax.legend()

    v = viz.interactive_plot(draw, log=viz.toggle(False))
    v.redraw(log=True)
    assert v.last_mode == "full" and v.axes.get_yscale() == "log"


def test_in_place_frame_matches_a_full_render():
    """Blitting the moved artists over the background gives what a full render of that state gives."""
    w = make()
    w.redraw(slope=0.7)
    assert w.last_mode == "in place"
    blitted = np.array(w.fig.canvas.buffer_rgba())
    w.fig.canvas.draw()
    full = np.asarray(w.fig.canvas.buffer_rgba())
    assert blitted.shape == full.shape and np.mean(blitted != full) < 0.001


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_rescaled_heat_map_matches_a_figure_drawn_afresh():
    """New view limits, pixels, colour limits and colour-bar label, without drawing it again."""

    def draw(ax, scale, top):
        viz.plot_heatmap(np.outer(np.linspace(1, top, 30), [1.0, 10.0, 100.0]) * scale, ax,
                         title=f"scale {scale:g}", colorbar_label=f"value x {scale:g}")
        ax.plot([1, 30], [0, 2 * top / 10], label="a line")
        ax.legend(loc="upper left")

    controls = {"scale": viz.log_slider(1e-3, 1e3, 1.0), "top": viz.slider(2, 20, 10)}
    w = viz.interactive_plot(draw, **controls)
    image = w.axes.images[0]
    w.redraw(scale=100.0, top=20)
    assert w.last_mode == "rescaled" and w.axes.images[0] is image
    assert image.get_clim() == pytest.approx((100.0, 200000.0))
    fresh = viz.interactive_plot(draw, **controls)
    fresh.values.update(scale=100.0, top=20)
    assert fresh._redraw_in_place()  # drawn by draw, at the places of the first layout
    fresh._blitter.attach(fresh._main_axes(), fresh.nrows, fresh.ncols)
    moved, drawn = _pixels(w.fig), _pixels(fresh.fig)
    assert moved.shape == drawn.shape and np.mean(np.any(moved != drawn, axis=-1)) < 0.001


@pytest.mark.slow
def test_in_a_kernel_the_figure_is_a_widget_canvas_with_a_static_png():
    """In a kernel the figure is an ipympl canvas (its static form a PNG); a move updates its artists."""
    import os

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from adaptive_lr import viz\n"
            "def draw(ax, slope):\n"
            "    ax.plot([0, 1], [0, slope], label=f'slope {slope:g}')\n"
            "    ax.set(title='a line', xlabel='x', ylabel='y'); ax.legend()\n"
            "w = viz.interactive_plot(draw, slope=(0.0, 2.0, 1.0))\n"
            "w"
        ),
        nbformat.v4.new_code_cell(
            "line = w.axes.lines[0]\nw.build_widgets()['slope'].value = 0.9\n"
            "print(type(w.fig.canvas).__name__, w.last_mode, w.axes.lines[0] is line, line.get_ydata()[-1])"
        ),
    ]
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        client.execute_cell(nb.cells[1], 1)
    shown = [o for o in nb.cells[0].outputs if o.get("output_type") == "display_data"]
    kinds = [set(o["data"]) for o in shown]
    assert any("application/vnd.jupyter.widget-view+json" in k and "image/png" in k for k in kinds), kinds
    assert nb.cells[1].outputs[0]["text"].split() == ["Canvas", "in", "place", "True", "0.9"]


def test_slider_grid_and_snap_follow_the_frontend_steps():
    log = viz.log_slider(0.01, 10, 1.0)
    grid = log.grid()
    assert len(grid) == 31 and grid[0] == pytest.approx(0.01) and grid[-1] == pytest.approx(10.0)
    assert log.snap(10 ** (-1.3 + 1e-12)) == grid[7]  # a browser's rounding stands for the step
    assert log.snap(0.0123) == 0.0123  # off the grid: kept exact
    lin = viz.slider(0.9, 0.9999, 0.999, 0.0001)
    assert lin.snap(0.9 + 0.0001 * 3) == lin.grid()[3] and len(lin.grid()) == 1000
    assert viz.slider(50, 2000, 500, 50, integer=True).grid()[:2] == [50, 100]
    assert viz.choice(["a", ("B", "b")]).grid() == ["a", "b"] and viz.toggle().grid() == [False, True]


def test_a_precomputed_frame_is_used_and_matches_drawing_it():
    calls = []

    def draw(ax, slope, kind="line", show=True):
        calls.append(slope)
        draw_line(ax, slope, kind, show)

    w = viz.interactive_plot(draw, slope=viz.log_slider(0.01, 10, 1.0), kind=viz.choice(["line", "ray"]))
    assert w.precompute(steps=2) == 5  # two steps each way along the slope, the other kind
    calls.clear()
    step = w.controls["slope"].grid()[19]  # a step down: inside the view
    w.redraw(slope=step)
    assert calls == [] and w.frame_hits == 1 and w.last_mode == "in place"
    moved = np.array(w.fig.canvas.buffer_rgba())
    assert np.mean(np.any(moved != _pixels(w.fig), axis=-1)) < 0.001  # what a full render gives
    fresh = viz.interactive_plot(draw, slope=viz.log_slider(0.01, 10, step), kind=viz.choice(["line", "ray"]))
    assert np.array_equal(w.axes.lines[0].get_ydata(), fresh.axes.lines[0].get_ydata())
    assert w.axes.get_legend().get_texts()[0].get_text() == fresh.axes.get_legend().get_texts()[0].get_text()
    calls.clear()
    w.redraw(slope=0.0123)  # off the grid: drawn for exactly that value
    assert calls == [0.0123] and w.frame_misses == 1


def test_only_the_axes_that_changed_are_rendered_and_the_result_is_the_full_render():
    def draw(axes, a, b):
        x = np.linspace(0, 1, 30)
        axes[0].plot(x, a * x, label=f"a = {a:g}")
        axes[1].plot(x, np.exp(b * x), label=f"b = {b:g}")
        for ax, name in zip(axes, "ab"):
            ax.set(title=f"panel {name}", xlabel="x", ylabel="y")
            ax.legend(loc="upper left")

    w = viz.interactive_plot(draw, ncols=2, a=viz.slider(0, 2, 1, 0.1), b=viz.slider(0, 3, 1, 0.1))
    right = w.axes[1]
    w.redraw(b=2.5)  # the right panel's view grows; the left one is left alone
    assert w.last_mode == "rescaled" and w.axes[1] is right
    left_cell = w._blitter._cells[0]
    assert left_cell.x1 <= w._blitter._cells[1].x0 + 1
    moved = _pixels_now(w.fig)
    assert np.mean(np.any(moved != _pixels(w.fig), axis=-1)) < 0.001
    w.redraw(a=0.9)
    assert w.last_mode == "in place"
    moved = _pixels_now(w.fig)
    assert np.mean(np.any(moved != _pixels(w.fig), axis=-1)) < 0.001


def _pixels_now(fig):
    return np.array(fig.canvas.buffer_rgba())


@pytest.mark.skipif(not __import__("adaptive_lr.viz._precompute", fromlist=["x"]).available(),
                    reason="frames are computed ahead only where os.fork is usable")
def test_a_forked_process_computes_the_next_frames_and_stops_when_asked():
    import time

    w = make()
    w._start_precompute()
    deadline = time.monotonic() + 60
    while len(w._frames) < 32 and time.monotonic() < deadline:  # 30 slopes, 1 kind, 1 toggle
        time.sleep(0.1)
    assert len(w._frames) >= 32
    w.redraw(slope=w.controls["slope"].grid()[25])
    assert w.frame_hits == 1 and w.frame_misses == 0
    w._precomputer.stop()
    w._precomputer.join(timeout=30)
    assert not w._precomputer.alive
