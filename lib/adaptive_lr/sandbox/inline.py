"""How a grading kernel renders its inline figures: once each, uncropped.

A figure is rendered when the inline backend displays it at the end of its cell; that PNG is
what the feedback shows. Two more renders are thrown away in a default kernel, and grading
kernels skip both:

* pyplot's post-execute hook draws every stale figure after each cell (it is what keeps a GUI
  window up to date); with the inline backend nothing shows that render. This module is an
  IPython extension whose own post-execute hook runs first and marks the figures drawn, so
  pyplot's finds nothing to do and the display draws each figure once. pyplot's hook stays
  registered: ``plt.ioff()`` takes it out, and fails if it is not there.
* Cropping to the tight bounding box draws a figure twice more (once with rendering off, once
  to measure the box): figures are printed as drawn. The course's figure helpers place their
  axes at fixed margins (``adaptive_lr.viz.paths.fixed_axes``), so nothing is cut off.
"""

from __future__ import annotations

import sys

PRINT_FIGURE_KWARGS = {"bbox_inches": None}


def kernel_options() -> list[str]:
    """The ipykernel command-line options of a grading kernel that plots inline."""
    return [
        f"--InlineBackend.print_figure_kwargs={PRINT_FIGURE_KWARGS!r}",
        f"--IPKernelApp.extensions={[__name__]!r}",
    ]


def _leave_figures_to_their_display(*_) -> None:
    """Mark pyplot's open figures as drawn: its redraw hook, which runs next, then skips them;
    their display renders them (it draws whether a figure is marked or not)."""
    if "matplotlib.pyplot" not in sys.modules:
        return
    from matplotlib._pylab_helpers import Gcf

    for manager in Gcf.get_all_fig_managers():
        manager.canvas.figure.stale = False


def load_ipython_extension(shell) -> None:
    """Put :func:`_leave_figures_to_their_display` first among the post-execute hooks."""
    shell.events.register("post_execute", _leave_figures_to_their_display)
    hooks = shell.events.callbacks["post_execute"]
    hooks.insert(0, hooks.pop(hooks.index(_leave_figures_to_their_display)))
