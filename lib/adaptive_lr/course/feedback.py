"""Feedback that shows each hidden test's result and message, never its code.

nbgrader's feedback HTML is rendered from the *autograded* notebook, into
which the hidden tests were restored to be run. :class:`HideHiddenTests`
runs in ``nbgrader generate_feedback`` (see ``grader_config.py``) and, in
every cell,

* removes the ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region
  (and any ``BEGIN MARK SCHEME`` region) from the source, leaving the
  docstring that says what the test checks and a one-line note;
* shortens the traceback of an error raised in a cell that had hidden tests
  to ``ErrorName: message``: IPython prints the failing line of the cell, and
  that line is hidden code.

The outputs (the one-line success, or the referee's message) are kept.
:class:`ReferenceFigures` adds, under each part (d) figure, the same figure
drawn by the reference implementation.
"""

from __future__ import annotations

from typing import ClassVar

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool

from .figures import exercise_of, reference_figures
from .restore import RestoreStructure

HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
SCHEME_BEGIN, SCHEME_END = "BEGIN MARK SCHEME", "END MARK SCHEME"
NOTE = "# (hidden tests ran here; their code is not shown, their result is below)"


def strip_regions(source: str) -> tuple[str, bool]:
    """``source`` without hidden-test and mark-scheme regions, and whether any were removed."""
    out, removed, inside = [], False, None
    for line in source.split("\n"):
        if inside is None and HIDDEN_BEGIN in line:
            inside, removed = HIDDEN_END, True
            out.append(line[: len(line) - len(line.lstrip())] + NOTE)
            continue
        if inside is None and SCHEME_BEGIN in line:
            inside, removed = SCHEME_END, True
            continue
        if inside is not None:
            if inside in line:
                inside = None
            continue
        out.append(line)
    return "\n".join(out), removed


class HideHiddenTests(Preprocessor):
    """Remove hidden tests (and mark schemes) from a notebook before it becomes feedback."""

    # nbconvert preprocessors are off unless enabled; this one must always run.
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        source, removed = strip_regions(cell.source)
        if removed:
            cell.source = source
            if cell.cell_type == "code":
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


class ReferenceFigures(RestoreStructure):
    """Under each part (d) figure of the feedback, the same figure drawn by the reference.

    Reuses :class:`~adaptive_lr.course.restore.RestoreStructure`'s lookup of the
    release notebook (``release_path``); the figures come from the release's own
    cells (:mod:`adaptive_lr.course.figures`), drawn once per release.
    """

    enabled = Bool(True).tag(config=True)
    _figures: ClassVar[dict] = {}  # release path -> exercise -> PNGs

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader") or {}
        if not info.get("assignment") or not info.get("notebook"):
            return nb, resources
        path = self.release_notebook(info["assignment"], info["notebook"])
        key = str(path)
        if key not in self._figures:
            self._figures.clear()
            self._figures[key] = reference_figures(self._read(path))
        figures = self._figures[key]
        for cell in nb.cells:
            pngs = figures.get(exercise_of(cell) or 0)
            if not pngs:
                continue
            cell.setdefault("outputs", []).append(new_output("stream", name="stdout", text=CAPTION))
            for png in pngs:
                cell.outputs.append(new_output("display_data", data={
                    "image/png": png, "text/plain": "<the reference implementation's figure>"}))
        return nb, resources


CAPTION = ("The same figure, computed with the reference implementation (adaptive_lr.optim) on the same "
           "problem and hyperparameters: compare it with your figure above.\n")
