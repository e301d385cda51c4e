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
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

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
