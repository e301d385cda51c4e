"""Plots and widgets for the course: the only module that imports matplotlib and ipywidgets.

Every helper draws on a matplotlib ``Axes`` (made for you when ``ax=None``),
gives it a title, labelled axes and a legend (or a labelled colour bar), and
returns the ``Axes``. :func:`figure_problems` checks exactly that, and the
course's tests run it on every figure.

=====================  ==========================================================
``paths``              trajectories over the contours of a 2-D objective
``curves``             loss curves (log scale), any labelled family of curves
``heatmaps``           per-coordinate quantities over time (effective learning rate)
``widgets``            ipywidgets controls that redraw a figure; the same code
                       renders a static figure when no widget frontend exists
=====================  ==========================================================
"""

from .checks import control_text_problems, figure_problems
from .curves import plot_curves, plot_loss_curves
from .heatmaps import plot_effective_lr, plot_heatmap
from .paths import contour_grid, plot_paths
from .widgets import (
    InteractiveFigure,
    choice,
    instances,
    interactive_plot,
    log_slider,
    slider,
    static_plot,
    toggle,
)

__all__ = [
    "InteractiveFigure",
    "choice",
    "contour_grid",
    "control_text_problems",
    "figure_problems",
    "instances",
    "interactive_plot",
    "log_slider",
    "plot_curves",
    "plot_effective_lr",
    "plot_heatmap",
    "plot_loss_curves",
    "plot_paths",
    "slider",
    "static_plot",
    "toggle",
]
