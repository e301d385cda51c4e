"""The part (d) figures drawn with the reference implementation, for the feedback.

Each exercise's part (d) ends with a figure cell (its first line reads
``# Exercise N (d): ...``) that runs the student's functions on a small
problem, a path on the two-dimensional valley or whatever the part plots.
The feedback shows, under the student's own figure, the same cell's figure
computed by ``adaptive_lr.optim``: the same problem, the same
hyperparameters, so the student sees where their result departs.

The grader runs the *release's* version of the setup cell and of each figure
cell (the instructor's code, never the student's), in a fresh namespace where
every exercise function is the reference's, with Matplotlib's Agg backend,
and keeps each figure as a PNG.
"""

from __future__ import annotations

import base64
import io
import re

HEADER = re.compile(r"\A# Exercise (\d+) \(d\):")
SETUP_ID = "00_setup"


def exercise_of(cell) -> int | None:
    """The exercise whose part (d) figure ``cell`` draws, or ``None``."""
    if cell.get("cell_type") != "code":
        return None
    found = HEADER.match(cell.get("source", ""))
    return int(found.group(1)) if found else None


def _setup(release) -> str:
    for cell in release.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == SETUP_ID:
            return cell.source
    raise ValueError(f"the release notebook has no {SETUP_ID} cell")


def reference_figures(release) -> dict:
    """Exercise -> list of base64 PNGs of its part (d) figure cell, drawn with the reference."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from adaptive_lr import optim
    from adaptive_lr.grading.api import FUNCTIONS

    namespace: dict = {"__name__": "__reference_figures__"}
    exec(compile(_setup(release), "<release setup>", "exec"), namespace)  # noqa: S102  (instructor's code)
    figures = {}
    for cell in release.cells:
        exercise = exercise_of(cell)
        if exercise is None:
            continue
        namespace.update({name: getattr(optim, name) for name in FUNCTIONS})
        plt.close("all")
        exec(compile(cell.source, f"<figure of exercise {exercise}>", "exec"), namespace)  # noqa: S102
        pngs = []
        for number in plt.get_fignums():
            buf = io.BytesIO()
            fig = plt.figure(number)
            fig.suptitle("The reference implementation, same problem", fontsize=10, color="dimgray")
            fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
            pngs.append(base64.b64encode(buf.getvalue()).decode("ascii"))
        plt.close("all")
        figures[exercise] = pngs
    return figures
