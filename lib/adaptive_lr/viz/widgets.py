"""Widget-driven figures that update in place, and render a static figure when no frontend exists.

One call builds both::

    def draw(ax, lr, beta1):
        ...                       # plot on ax with these values

    viz.interactive_plot(draw, lr=viz.log_slider(1e-3, 1.0, 0.1), beta1=viz.slider(0.0, 0.99, 0.9))

In JupyterLab the controls appear above the figure, which is an ``ipympl``
widget canvas; sliders send their values while they are dragged. A move takes
the *frame* of the new values (the drawing reduced to data,
``viz._inplace.Frame``): cached, because a forked low-priority process
(``viz._precompute``) computes the frames of the slider grid values next to
the current ones once a browser shows the figure, or else drawn on scratch
axes now (no rendering). Per axes, it then leaves an axes that shows the
same alone, draws changed lines, titles, legend labels and annotations that
fit the view over the axes' saved background, or, when the view limits or an
image's pixels or colour limits changed, renders that axes again with the new
values (without drawing it again); a different structure (new contours,
scale, lines) redraws the figure on its first layout. Executed headless
(nbclient, nbval, nbconvert, a test), the same cell leaves a PNG of the
figure at the default values in the notebook's outputs and forks nothing.
Nothing needs to detect whether a frontend is present.

The figure is a bare ``matplotlib.figure.Figure`` (not a pyplot figure), so
the inline backend does not show it a second time, and the figure is rendered
the same way whatever ``MPLBACKEND`` says.
"""

from __future__ import annotations

import gc
import io
import os
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _images, _inplace, _precompute

_INSTANCES: list = []
_MAX_INSTANCES = 64
_MAX_FRAMES = 512  # cached frames per figure (a frame is the lines' data: tens of kB)
_MAX_IMAGE_BYTES = 48 * 2**20  # cached images per figure (one is 50-200 kB)
_MAX_AHEAD = 400  # frames a precomputing process lists around one centre
# Values ahead of a moving slider count as this fraction of their distance (viz: _order): the
# fourth step ahead comes with the other controls' first, so a drag finds its next images made.
_AHEAD_WEIGHT = 0.25
_WORKERS: list = []  # the precomputing processes, oldest first
_MAX_WORKERS = 6  # figures whose frames are computed ahead at the same time
# Processes per figure: a drag outruns one (a playground image costs about 80 ms of a core),
# and only the figure in view computes, so two use both cores of a student's laptop.
_CHILDREN_PER_FIGURE = max(1, min(2, os.cpu_count() or 1))


def instances() -> list:
    """The interactive figures created in this process, oldest first (for benchmarks)."""
    return list(_INSTANCES)


@dataclass
class Control:
    """A control's specification; the ipywidgets widget is built only when displayed."""

    kind: str
    default: Any
    options: dict = field(default_factory=dict)
    description: str | None = None

    def build(self, name: str):
        import ipywidgets as w

        desc = self.description or name
        style = {"description_width": "initial"}
        layout = w.Layout(width="320px")
        o = self.options
        if self.kind == "float":
            return w.FloatSlider(
                value=self.default,
                min=o["min"],
                max=o["max"],
                step=o["step"],
                description=desc,
                continuous_update=True,
                style=style,
                layout=layout,
                readout_format=o.get("fmt", ".3g"),
            )
        if self.kind == "int":
            return w.IntSlider(
                value=self.default,
                min=o["min"],
                max=o["max"],
                step=o["step"],
                description=desc,
                continuous_update=True,
                style=style,
                layout=layout,
            )
        if self.kind == "log":
            return w.FloatLogSlider(
                value=self.default,
                base=10,
                min=np.log10(o["min"]),
                max=np.log10(o["max"]),
                step=o["step"],
                description=desc,
                continuous_update=True,
                style=style,
                layout=layout,
                readout_format=".2e",
            )
        if self.kind == "choice":
            return w.Dropdown(
                options=o["options"],
                value=self.default,
                description=desc,
                style=style,
                layout=layout,
            )
        if self.kind == "toggle":
            return w.Checkbox(
                value=self.default, description=desc, style=style, indent=False, layout=layout
            )
        raise ValueError(f"unknown control kind {self.kind!r}")

    def grid(self) -> list:
        """Every value the control can send: a slider's steps from ``min``, a dropdown's options."""
        o = self.options
        if self.kind in ("float", "int", "log"):
            lo, hi = (np.log10(o["min"]), np.log10(o["max"])) if self.kind == "log" else (o["min"], o["max"])
            n = int(np.floor((hi - lo) / o["step"] + 1e-9))
            points = lo + o["step"] * np.arange(n + 1)
            if self.kind == "log":
                return [float(v) for v in 10.0**points]
            return [int(round(v)) for v in points] if self.kind == "int" else [float(v) for v in points]
        if self.kind == "choice":
            return [v[1] if isinstance(v, tuple) else v for v in o["options"]]
        return [False, True]

    def position(self, value) -> float:
        """Where ``value`` lies on :meth:`grid`, in steps (a whole number on the grid)."""
        o = self.options
        if self.kind in ("float", "int"):
            return (value - o["min"]) / o["step"]
        if self.kind == "log":
            return (np.log10(value) - np.log10(o["min"])) / o["step"]
        grid = self.grid()
        return float(grid.index(value)) if value in grid else float("nan")

    def snap(self, value):
        """The grid value ``value`` stands for (they differ in rounding only), else ``value`` itself."""
        if self.kind in ("choice", "toggle"):
            return value
        grid = self.grid()
        i = self._index_on(grid, value)
        return grid[i] if i is not None else value

    def index(self, value) -> int | None:
        """``value``'s index on :meth:`grid`, None off the grid (the page computes the same from
        the widget's model: ``viz/page_images.js``)."""
        if self.kind == "toggle":
            return int(bool(value))
        return self._index_on(self.grid(), value)

    def _index_on(self, grid, value) -> int | None:
        k = self.position(value)
        if k != k:  # NaN: not one of the options
            return None
        i = int(round(k))
        return i if abs(k - i) < 1e-6 and 0 <= i < len(grid) else None

    def alternative(self):
        """A valid value other than the default (what a benchmark moves the control to)."""
        o = self.options
        if self.kind in ("float", "int"):
            mid = o["min"] + 0.5 * (o["max"] - o["min"])
            value = mid if abs(mid - self.default) > 1e-12 else o["min"]
            return round(value) if self.kind == "int" else float(value)
        if self.kind == "log":
            mid = float(np.sqrt(o["min"] * o["max"]))
            return mid if not np.isclose(mid, self.default) else float(o["min"])
        if self.kind == "choice":
            opts = [v if not isinstance(v, tuple) else v[1] for v in o["options"]]
            return opts[(opts.index(self.default) + 1) % len(opts)]
        return not self.default


def slider(min, max, default, step=None, *, description=None, integer=False, fmt=".3g"):
    """A linear slider from ``min`` to ``max`` starting at ``default``."""
    if not min <= default <= max:
        raise ValueError(f"default {default} is outside [{min}, {max}]")
    if integer:
        return Control(
            "int",
            int(default),
            {"min": int(min), "max": int(max), "step": int(step or 1)},
            description,
        )
    step = step if step is not None else (max - min) / 100
    return Control(
        "float",
        float(default),
        {"min": float(min), "max": float(max), "step": float(step), "fmt": fmt},
        description,
    )


def log_slider(min, max, default, *, description=None, steps_per_decade=10):
    """A logarithmic slider over ``[min, max]`` (values, not exponents) starting at ``default``."""
    if not 0 < min <= default <= max:
        raise ValueError(f"need 0 < min <= default <= max, got {min}, {default}, {max}")
    return Control(
        "log",
        float(default),
        {"min": float(min), "max": float(max), "step": 1.0 / steps_per_decade},
        description,
    )


def choice(options, default=None, *, description=None):
    """A dropdown; ``options`` is a list of values or of ``(label, value)`` pairs."""
    options = list(options)
    values = [v[1] if isinstance(v, tuple) else v for v in options]
    default = values[0] if default is None else default
    if default not in values:
        raise ValueError(f"default {default!r} is not one of {values}")
    return Control("choice", default, {"options": options}, description)


def toggle(default=False, *, description=None):
    """A checkbox."""
    return Control("toggle", bool(default), {}, description)


def _as_control(name, spec) -> Control:
    if isinstance(spec, Control):
        return spec
    if isinstance(spec, bool):
        return toggle(spec)
    if (
        isinstance(spec, tuple)
        and len(spec) in (3, 4)
        and all(isinstance(x, (int, float)) for x in spec)
    ):
        lo, hi, default = spec[:3]
        step = spec[3] if len(spec) == 4 else None
        integer = all(isinstance(x, int) for x in spec)
        return slider(lo, hi, default, step, integer=integer)
    if isinstance(spec, (list, tuple)):
        return choice(spec)
    raise TypeError(
        f"control {name!r}: use slider(...), log_slider(...), choice(...), toggle(...), "
        f"a (min, max, default[, step]) tuple or a list of options; got {spec!r}"
    )


def _image_size(made) -> int:
    """Bytes of what the precomputing process made for a value: its image's PNG."""
    return len(made[1].png)


def _running_loop():
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class InteractiveFigure:
    """A matplotlib figure redrawn by ``draw(ax, **values)`` whenever a control moves.

    Parameters
    ----------
    draw : callable
        ``draw(ax, **values)`` plots on ``ax`` (one ``Axes``, or an array of
        them when ``nrows * ncols > 1``) for the current control values. It is
        called on freshly cleared axes; ``ax.figure`` is the figure (for colour bars).
    controls : dict[str, Control or tuple or list]
        Keyword name of ``draw`` -> its control.
    nrows, ncols, figsize, dpi
        The figure's layout and resolution.

    Attributes: ``fig`` (the ``Figure``), ``axes``, ``values`` (the current
    control values), ``widgets`` (built on first display), ``last_ms`` and
    ``last_cpu_ms`` (the wall-clock and CPU duration of the last redraw,
    rendering included).
    """

    def __init__(
        self,
        draw: Callable,
        controls: dict | None = None,
        *,
        nrows=1,
        ncols=1,
        figsize=None,
        dpi=90,
    ):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.draw_fn = draw
        self.controls = {k: _as_control(k, v) for k, v in (controls or {}).items()}
        self.values = {k: c.default for k, c in self.controls.items()}
        self.nrows, self.ncols, self.dpi = nrows, ncols, dpi
        if figsize is None:
            figsize = (5.2 * ncols + 0.6, 4.2 * nrows)
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)  # replaced by the ipympl canvas when displayed in a kernel
        self.axes = None
        self._layout = None
        self._scratch = None
        self._blitter = _inplace.Blitter(self.fig)
        self.widgets: dict = {}
        self._handle = None
        self._canvas = None
        self._status = None
        self._sync = False
        self._pending: dict = {}
        self._flush_scheduled = False
        self.last_ms = self.last_cpu_ms = float("nan")
        self.last_mode = ""
        self._png = None
        self._frames: OrderedDict = OrderedDict()
        self._frames_lock = threading.Lock()
        # The kernel may handle the canvas's messages (a render the browser asks for) on another
        # thread than the controls' (ipykernel's subshells): one change of the figure at a time.
        self._figure_lock = threading.RLock()
        self._precomputer = None
        self.frame_hits = self.frame_misses = self.image_hits = 0
        self._images = _images.Cache(lambda image: len(image.png))
        self._behind = False  # the browser shows a cached image of values the artists do not show yet
        self._page = None  # viz._page.PageImages: the images the page holds (once displayed)
        self._page_covered = False  # the kernel drew on the canvas since the page last showed its own
        self.page_hits = 0
        self._visible = True  # as the page last said (viz._page); until it says, assume so
        self._modes = None  # how each axes took the last values (viz._inplace.axes_modes)
        self.redraw()
        _INSTANCES.append(self)
        del _INSTANCES[:-_MAX_INSTANCES]

    # -- drawing ---------------------------------------------------------------------------
    def redraw(self, **changes):
        """Set the given control values, update the figure, and show it where it is displayed.

        Returns the ``Figure``. Unknown names raise ``KeyError``. This is what
        a widget callback runs; calling it directly is how tests and
        benchmarks move a control without a frontend. ``last_mode`` says how:
        ``"image"`` (an image rendered ahead sent to the browser as it is; the
        artists follow when something needs them, see :meth:`_catch_up`),
        ``"in place"`` (artists updated and blitted), ``"rescaled"`` (artists,
        view limits and images updated, the canvas rendered again, the figure
        not drawn again) or ``"full"`` (drawn again by ``draw``).
        """
        unknown = set(changes) - set(self.values)
        if unknown:
            raise KeyError(f"unknown control(s) {sorted(unknown)}; have {sorted(self.values)}")
        with self._figure_lock:
            self._move(changes)
        return self.fig

    def _move(self, changes) -> None:
        self.values.update(changes)
        start, cpu_start = time.perf_counter(), time.process_time()
        if self._shown_by_page():
            self.last_mode = "page"
        elif self._send_cached_image():
            self.last_mode = "image"
        else:
            # A full garbage collection in the middle of a redraw (matplotlib makes many reference
            # cycles) can double its duration; postpone it until the new figure is on screen.
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                self.last_mode = self._apply()
                self._render_canvas(self.last_mode)
            finally:
                if gc_was_enabled:
                    gc.enable()
        self.last_ms = 1e3 * (time.perf_counter() - start)
        self.last_cpu_ms = 1e3 * (time.process_time() - cpu_start)

    def _apply(self) -> str:
        """Give the live figure the current values without rendering it; return the mode."""
        self._behind = False
        self._png = None
        self._modes = self._update_in_place() if self._layout is not None else None
        if self._modes is not None:
            return _inplace.overall(self._modes)
        if self._layout is None or not self._redraw_in_place():
            self._redraw_with_layout()
        self._blitter.attach(self._main_axes(), self.nrows, self.ncols)
        return "full"

    def _render_canvas(self, mode) -> None:
        self._page_covered = True
        if mode == "full" or not self._blitter.render(self._modes):
            self._blitter.background = None  # saved again when the canvas has drawn
            self._draw_canvas()
        else:
            self._keep_kernel_image()
        if self._handle is not None:
            self._handle.update(self._image())

    def _keep_kernel_image(self) -> None:
        """Once the widget canvas has sent a frame of the current values, keep its image and give
        it to the page: a slider coming back to these values is then shown by the page (the
        process rendering ahead may not have made them, which is why the kernel drew them)."""
        if self._canvas is None or self._sync or self._behind:
            return
        key, geometry = self._key(self.values), _images.geometry(self.fig)
        with self._frames_lock:
            cached = self._images.get(key)
        if cached is not None and cached.geometry == geometry:
            return
        image = _images.encode(self.fig)  # the canvas's buffer: the frame just sent
        with self._frames_lock:
            self._images.put(key, image, _MAX_IMAGE_BYTES)
        self._offer_to_page(key, image)

    def _catch_up(self) -> None:
        """Bring the artists to the values a cached image showed (before anything renders them)."""
        if not self._behind:
            return
        if self._apply() == "rescaled":
            self._blitter.background = None  # the saved one has the old ticks

    def _send_cached_image(self) -> bool:
        """Send the browser the image rendered ahead for the current values, if there is one."""
        if self._canvas is None or self._sync:
            return False
        with self._frames_lock:
            image = self._images.get(self._key(self.values))
        if image is None or image.geometry != _images.geometry(self.fig):
            return False
        if not _images.send(self._canvas, image):
            return False
        self._page_covered = True
        self._behind = True
        self.image_hits += 1
        return True

    def _shown_by_page(self) -> bool:
        """Whether the page holds the image of the current values, and so showed it itself when
        the slider moved (``viz._page``); ask it to show it again if a kernel frame came since."""
        if self._page is None or self._sync:
            return False
        key = self._page_key(self.values)
        if key is None or not self._page.holds(key, _images.geometry(self.fig)):
            return False
        _images.expect_full(self._canvas)
        if self._page_covered:
            self._page.show(key)
            self._page_covered = False
        self._behind = True
        self.page_hits += 1
        return True

    def _page_key(self, values) -> str | None:
        indices = [c.index(values[k]) for k, c in self.controls.items()]
        return None if None in indices else ",".join(map(str, indices))

    def _main_axes(self) -> list:
        return list(np.atleast_1d(self.axes).ravel())

    def _draw_canvas(self):
        """Render now (no widget canvas, or a benchmark), or when the browser asks (ipympl)."""
        if self._canvas is not None and not self._sync:
            self._canvas.draw_idle()
        else:
            self.fig.canvas.draw()

    def _redraw_with_layout(self):
        """Draw on a fresh figure, let constrained layout place everything, remember the places."""
        self.fig.clear()
        self.fig.set_layout_engine("constrained")
        self.axes = self.fig.subplots(self.nrows, self.ncols, squeeze=True)
        self.draw_fn(self.axes, **self.values)
        self.fig.draw_without_rendering()  # runs the layout
        self._layout = [ax.get_position().frozen() for ax in self.fig.axes]
        self.fig.set_layout_engine(None)  # not "none": a placeholder engine makes savefig draw twice
        self._scratch = None

    def _redraw_in_place(self) -> bool:
        """Redraw on the same axes at the positions the first layout found.

        Constrained layout measures every tick label and costs about as much as
        the rest of a redraw; a control that moves rarely changes the margins it
        needs, so later redraws reuse the first layout. Colour bars are removed
        and re-created by ``draw``; if the number of axes changes, returns False
        and the caller lays the figure out afresh.
        """
        main = self._main_axes()
        for ax in list(self.fig.axes):
            if not any(ax is m for m in main):
                self.fig.delaxes(ax)
        self.fig.set_layout_engine(None)
        for ax in main:
            ax.clear()
        self.draw_fn(self.axes, **self.values)
        if len(self.fig.axes) != len(self._layout):
            return False
        for ax, pos in zip(self.fig.axes, self._layout):
            ax.set_position(pos)
        return True

    def _scratch_axes(self):
        """Axes of an unrendered copy of the layout, for drawing the new values on."""
        from matplotlib.figure import Figure

        if self._scratch is None:
            fig = Figure(figsize=self.fig.get_size_inches(), dpi=self.dpi)
            axes = fig.subplots(self.nrows, self.ncols, squeeze=True)
            for ax, pos in zip(np.atleast_1d(axes).ravel(), self._layout):
                ax.set_position(pos)
            self._scratch = (fig, axes)
        fig, axes = self._scratch
        for ax in list(fig.axes):
            if not any(ax is a for a in np.atleast_1d(axes).ravel()):
                fig.delaxes(ax)
        for ax in np.atleast_1d(axes).ravel():
            ax.clear()
        return fig, axes

    def _update_in_place(self) -> list | None:
        """Take the frame of the new values (cached, or drawn on scratch axes); give the live
        figure what changed if possible.

        Returns :func:`viz._inplace.axes_modes` (how each axes changed), or None
        when the figure must be drawn again (another structure: new contours,
        scale, lines).
        """
        main = self._main_axes()
        frame = self._frame()
        if frame.n_axes != len(self.fig.axes):  # colour bars come and go with their images
            return None
        modes = _inplace.axes_modes(main, frame, self._blitter.signatures, self._blitter.shown)
        if modes is not None:
            _inplace.update(main, frame, modes)
            self._blitter.shown = list(frame.axes)
        return modes

    # -- frames: drawings reduced to data, cached, computed ahead -------------------------------
    def _key(self, values) -> tuple:
        return tuple(c.snap(values[k]) for k, c in self.controls.items())

    def _compute_frame(self, values) -> _inplace.Frame:
        fig, axes = self._scratch_axes()
        self.draw_fn(axes, **values)
        return _inplace.capture(fig, list(np.atleast_1d(axes).ravel()))

    def _store(self, key, frame) -> None:
        with self._frames_lock:
            self._frames[key] = frame
            self._frames.move_to_end(key)
            while len(self._frames) > _MAX_FRAMES:
                self._frames.popitem(last=False)

    def _store_ahead(self, key, made) -> None:
        """Cache what the forked process made for ``key``: its frame and its image."""
        frame, image = made
        self._store(key, frame)
        with self._frames_lock:
            self._images.put(key, image, _MAX_IMAGE_BYTES)
        self._offer_to_page(key, image)

    @property
    def _image_bytes(self) -> int:
        return self._images.nbytes

    def _offer_to_page(self, key, image) -> None:
        page = self._page
        if page is not None and self._canvas is not None and image.geometry == _images.geometry(self.fig):
            page.offer(self._page_key(dict(zip(self.controls, key))), image)

    def _become_precomputer(self) -> None:
        """In the forked process: render on an Agg canvas of its own.

        The widget canvas, the display handle and the status line belong to
        the kernel; a message sent through them from here would go out on the
        kernel's sockets.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # Locks a thread of the kernel may have held at the fork: no such thread exists here.
        Figure._render_lock = threading.RLock()  # one for all figures
        self._frames_lock, self._figure_lock = threading.Lock(), threading.RLock()
        self._canvas = self._handle = self._status = self._precomputer = self._page = None
        FigureCanvasAgg(self.fig)
        self._blitter.attach(self._main_axes(), self.nrows, self.ncols)
        self._sync = True

    def _make_ahead(self, values) -> tuple:
        """(frame, image) of ``values``: the figure moved there as a move would, then encoded."""
        self.redraw(**values)
        with self._frames_lock:
            frame = self._frames[self._key(values)]
        return frame, _images.encode(self.fig)

    def _frame(self) -> _inplace.Frame:
        """The frame of the current values: cached (computed ahead), else drawn now."""
        key = self._key(self.values)
        with self._frames_lock:
            frame = self._frames.get(key)
            if frame is not None:
                self._frames.move_to_end(key)
        if frame is not None:
            self.frame_hits += 1
            return frame
        self.frame_misses += 1
        frame = self._compute_frame(self.values)
        self._store(key, frame)
        return frame

    def _order(self, centre, steps=None, heading=None) -> list:
        """``(key, values)`` of the grid values along each control from ``centre``, nearest first
        (at most ``steps`` steps away, when given).

        ``heading`` is ``(control name, +1 or -1)`` of a slider that just moved: a dragged slider
        goes on the way it went, so the values ahead of it count as :data:`_AHEAD_WEIGHT` times
        as far as they are (the first few come before the other controls' nearest).
        """
        base = {k: c.snap(centre[k]) for k, c in self.controls.items()}
        ranked = []
        for rank, (name, control) in enumerate(self.controls.items()):
            here = control.position(base[name])
            for i, value in enumerate(control.grid()):
                distance = abs(i - here) if here == here else 1.0  # NaN: not on the grid
                if distance > 1e-6 and (steps is None or distance <= steps + 1e-6):
                    ahead = heading is not None and heading[0] == name and (i - here) * heading[1] > 0
                    ranked.append((distance * (_AHEAD_WEIGHT if ahead else 1.0), rank, name, value))
        ranked.sort(key=lambda r: (r[0], r[1]))
        out = []
        for _, _, name, value in ranked[:_MAX_AHEAD]:
            values = {**base, name: value}
            out.append((self._key(values), values))
        return out

    def _heading(self, previous, centre):
        """``(name, +1 or -1)`` when one slider alone moved from ``previous`` to ``centre``."""
        if previous is None:
            return None
        moved = [(name, c) for name, c in self.controls.items()
                 if c.snap(previous[name]) != c.snap(centre[name])]
        if len(moved) != 1 or moved[0][1].kind not in ("float", "int", "log"):
            return None
        name, control = moved[0]
        step = control.position(control.snap(centre[name])) - control.position(control.snap(previous[name]))
        return (name, 1 if step > 0 else -1) if step == step else None  # NaN: off the grid

    def _order_ahead(self, centre, previous=None) -> list:
        """What the forked process makes around ``centre`` (``previous``: the centre before it,
        None at the start): its image too, for a slider that comes back to where it was, then
        :meth:`_order`, ahead of a slider that moved first."""
        base = {k: c.snap(centre[k]) for k, c in self.controls.items()}
        return [(self._key(base), base)] + self._order(centre, heading=self._heading(previous, centre))

    def precompute(self, steps=None) -> int:
        """Compute (here, now) the frames up to ``steps`` grid steps along each control from the
        current values, all when None; return how many were computed (cached ones are skipped).

        In JupyterLab a forked process does this in the background once the figure is shown;
        this is for benchmarks and tests.
        """
        done = 0
        for key, values in self._order(self.values, steps):
            with self._frames_lock:
                if key in self._frames:
                    continue
            self._store(key, self._compute_frame(values))
            done += 1
        return done

    def precompute_images(self, steps=None) -> int:
        """Render and cache (here, now) the images of the values up to ``steps`` grid steps along
        each control, as the forked process does once a browser shows the figure; return how
        many were made. The figure ends at the values it had. For benchmarks and tests.
        """
        start, sync = dict(self.values), self._sync
        done = 0
        self._sync = True
        try:
            for key, values in self._order(start, steps):
                if key not in self._images:
                    self._store_ahead(key, self._make_ahead(values))
                    done += 1
            self.redraw(**start)
        finally:
            self._sync = sync
        return done

    def _start_precompute(self) -> None:
        """Fork the process that computes frames ahead (once, when a browser shows the figure)."""
        if not self.controls or not _precompute.available():
            return
        if self._precomputer is not None and self._precomputer.alive:
            return
        while len(_WORKERS) >= _MAX_WORKERS:
            _WORKERS.pop(0).stop()
        with self._frames_lock:
            known = set(self._images)  # a frame cached without its image is made again
        self._precomputer = _precompute.Team(
            _CHILDREN_PER_FIGURE, self._make_ahead, self._order_ahead, self._store_ahead,
            dict(self.values), known, setup=self._become_precomputer,
            budget=(_image_size, self._page.max_bytes if self._page is not None else _MAX_IMAGE_BYTES))
        if not self._visible:
            self._precomputer.pause()
        _WORKERS.append(self._precomputer)

    def _on_canvas_message(self, widget, content, buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "initialized":
            self._start_precompute()  # a view of the canvas exists: moves will follow

    def _render(self) -> bytes:
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi)
        return buf.getvalue()

    def png(self) -> bytes:
        """The PNG bytes of the figure as last drawn."""
        with self._figure_lock:
            self._catch_up()
            if self._png is None:
                self._png = self._render()
            return self._png

    def _image(self):
        from IPython.display import Image

        return Image(data=self.png(), format="png")

    # -- widgets ---------------------------------------------------------------------------
    def _on_change(self, name):
        def callback(change):
            self._pending[name] = change["new"]
            widget = change.get("owner")
            loop = _running_loop()
            # A value sent by the browser while a slider is dragged: redraw once the kernel has
            # read the values queued behind it, with the latest of them, instead of once per value
            # (which falls further behind the slider with every move).
            if loop is not None and getattr(widget, "_property_lock", None):
                if not self._flush_scheduled:
                    self._flush_scheduled = True
                    loop.call_later(0.005, self._flush)
                return
            self._flush()

        return callback

    def _flush(self):
        self._flush_scheduled = False
        changes, self._pending = self._pending, {}
        if not changes:
            return
        try:
            self.redraw(**changes)
            if self._precomputer is not None:
                self._precomputer.recentre(dict(self.values))
            if self._status is not None and self._status.value:
                self._status.value = ""
        except Exception as err:  # shown under the controls instead of lost in a log
            if self._status is None:
                raise
            self._status.value = (
                f"<pre style='color:#b00'>{type(err).__name__}: {err}\n"
                f"{traceback.format_exc(limit=-2)}</pre>"
            )

    def build_widgets(self):
        """Build (once) the ipywidgets controls and connect them to :meth:`redraw`."""
        if self.widgets or not self.controls:
            return self.widgets
        import ipywidgets as w

        for name, control in self.controls.items():
            widget = control.build(name)
            widget.value = self.values[name]
            widget.observe(self._on_change(name), names="value")
            self.widgets[name] = widget
        self._status = w.HTML("")
        return self.widgets

    def _widget_canvas(self):
        """The ipympl canvas of the figure (made once), or None outside a kernel or without ipympl."""
        if self._canvas is not None:
            return self._canvas
        try:
            from IPython import get_ipython

            if getattr(get_ipython(), "kernel", None) is None:
                return None
            from ipympl.backend_nbagg import Canvas, FigureManager
        except ImportError:
            return None
        canvas = Canvas(self.fig)
        canvas.header_visible = canvas.footer_visible = canvas.resizable = False
        canvas.toolbar_visible = False  # it covers the y label; the sliders are the controls
        FigureManager(canvas, 0)
        self._attach_canvas(canvas)
        return canvas

    def _attach_canvas(self, canvas) -> None:
        """Draw on the widget ``canvas`` from now on; a render it asks for shows the current values."""
        canvas.on_msg(self._on_canvas_message)
        drawn_by_canvas = canvas.handle_draw

        def handle_draw(event):  # the browser asks for a render (a new view, a resize)
            with self._figure_lock:
                self._catch_up()
                self._page_covered = True
                drawn_by_canvas(event)
                self._keep_kernel_image()

        canvas.handle_draw = handle_draw
        self._canvas = canvas
        self._blitter.attach(self._main_axes(), self.nrows, self.ncols)

    def _attach_page(self, canvas) -> None:
        """Let the page keep this figure's images and show them itself on a move (``viz._page``)."""
        if self._page is not None or not self.widgets:
            return
        try:
            from . import _page
        except ImportError:  # without anywidget every move goes through the kernel
            return
        specs = [_page.control_spec(self.widgets[name], c) for name, c in self.controls.items()]
        self._page = _page.PageImages(canvas, specs, on_missing=self._on_page_missing,
                                      on_hello=self._offer_all_to_page, on_visible=self._on_visible)

    def _on_visible(self, visible) -> None:
        """Pause the process rendering ahead while no view of the figure is on screen."""
        self._visible = visible
        worker = self._precomputer
        if worker is None:
            return
        if visible:
            worker.resume()
        else:
            worker.pause()

    def _on_page_missing(self, key) -> None:
        """The page could not show ``key``'s image: if the sliders are there, render it here."""
        with self._figure_lock:
            if key is not None and key == self._page_key(self.values):
                self._catch_up()
                self._render_canvas("full")

    def _offer_all_to_page(self) -> None:
        """Send a new page the newest images that fit its cap (older ones it would drop at once)."""
        with self._frames_lock:
            cached = list(self._images.items())
        fit, total = [], 0
        for key, image in reversed(cached):
            total += len(image.png)
            if total > self._page.max_bytes and fit:
                break
            fit.append((key, image))
        for key, image in reversed(fit):
            self._offer_to_page(key, image)

    def _ipython_display_(self):
        from IPython.display import display

        if self.controls:
            import ipywidgets as w

            self.build_widgets()
            box = w.Box(
                list(self.widgets.values()), layout=w.Layout(display="flex", flex_flow="row wrap")
            )
            display(w.VBox([box, self._status]))
        canvas = self._widget_canvas()
        if canvas is not None:
            self._attach_page(canvas)
            display(canvas)  # its static form (nbconvert, nbval) is the PNG of the figure
        else:
            self._handle = display(self._image(), display_id=True)

    def show(self):
        """Display the controls and the figure (what ending a cell with this object does)."""
        self._ipython_display_()

    # -- benchmarks ------------------------------------------------------------------------
    def time_redraw(self, repeats=1, clock="wall") -> list[float]:
        """Move each control in turn to another value and back; return each redraw's ms.

        ``clock="wall"`` measures elapsed time (what a user waits for);
        ``clock="cpu"`` the CPU time of this process, which other programs
        competing for the cores do not inflate.
        """
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
        attr = "last_ms" if clock == "wall" else "last_cpu_ms"
        times = []
        self.timed_modes = []
        self._sync = True  # a full redraw renders now, as the browser would make it do
        try:
            self._time_moves(repeats, attr, times)
        finally:
            self._sync = False
        return times

    def time_steps(self, steps=3, clock="cpu") -> list[float]:
        """Move each control one grid step at a time ``steps`` steps away and back (a dropdown
        or checkbox to its next value and back), as a user nudging a slider does; return each
        move's ms. ``timed_modes`` gets each move's mode. Frames are computed ahead first
        (:meth:`precompute`), as the background process does in JupyterLab, and not timed.
        """
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
        attr = "last_ms" if clock == "wall" else "last_cpu_ms"
        self.precompute(steps)
        times, self.timed_modes = [], []
        self._sync = True
        try:
            for name, control in self.controls.items():
                grid, start = control.grid(), self.values[name]
                here = control.position(control.snap(start))
                if control.kind in ("choice", "toggle"):
                    path = [control.alternative(), start]
                else:
                    i = int(round(here))
                    sign = 1 if i + steps < len(grid) else -1
                    away = [grid[i + sign * k] for k in range(1, steps + 1) if 0 <= i + sign * k < len(grid)]
                    path = away + away[-2::-1] + [start]
                for value in path:
                    self.redraw(**{name: value})
                    times.append(getattr(self, attr))
                    self.timed_modes.append(self.last_mode)
        finally:
            self._sync = False
        return times

    def _time_moves(self, repeats, attr, times):
        controls = self.controls or {None: None}
        for _ in range(repeats):
            for name, control in controls.items():
                if name is None:
                    self.redraw()
                    times.append(getattr(self, attr))
                    self.timed_modes.append(self.last_mode)
                    continue
                original = self.values[name]
                for value in (control.alternative(), original):
                    self.redraw(**{name: value})
                    times.append(getattr(self, attr))
                    self.timed_modes.append(self.last_mode)

    def __repr__(self):
        values = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"<InteractiveFigure {getattr(self.draw_fn, '__name__', 'draw')}({values})>"


def interactive_plot(draw, *, nrows=1, ncols=1, figsize=None, dpi=90, **controls):
    """An :class:`InteractiveFigure` for ``draw`` with the keyword ``controls``.

    End a cell with it to display the controls and the figure; headless, the
    figure at the default values is left in the outputs.
    """
    return InteractiveFigure(draw, controls, nrows=nrows, ncols=ncols, figsize=figsize, dpi=dpi)


def static_plot(draw, *, nrows=1, ncols=1, figsize=None, dpi=90):
    """A figure drawn once by ``draw(ax)``, displayed the same way as the interactive ones."""
    return InteractiveFigure(draw, {}, nrows=nrows, ncols=ncols, figsize=figsize, dpi=dpi)
