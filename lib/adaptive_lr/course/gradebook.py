"""Read the gradebook: scores per student, per exercise and per test cell, and print the table.

Every grade id starts with the exercise number (``03d_adam_update_hidden``),
so a cell's exercise is read from its first two characters.
"""

from __future__ import annotations

from typing import NamedTuple

from .pipeline import ASSIGNMENT, NOTEBOOK

EXERCISES = tuple(range(1, 11))


class CellGrade(NamedTuple):
    grade_id: str
    exercise: int
    auto: bool
    score: float | None
    max_score: float


class StudentGrades(NamedTuple):
    student: str
    cells: dict  # grade_id -> CellGrade

    def auto_score(self, exercise=None) -> float:
        return sum(c.score or 0.0 for c in self.cells.values()
                   if c.auto and (exercise is None or c.exercise == exercise))

    def auto_max(self, exercise=None) -> float:
        return sum(c.max_score for c in self.cells.values()
                   if c.auto and (exercise is None or c.exercise == exercise))

    def manual_score(self):
        manual = [c for c in self.cells.values() if not c.auto]
        if any(c.score is None for c in manual):
            return None
        return sum(c.score for c in manual)

    def manual_max(self) -> float:
        return sum(c.max_score for c in self.cells.values() if not c.auto)

    def lost(self) -> dict:
        """exercise -> autograded points lost."""
        return {e: self.auto_max(e) - self.auto_score(e) for e in EXERCISES
                if self.auto_max(e) - self.auto_score(e) > 1e-9}


def read_grades(db_url: str, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK) -> dict:
    """student id -> :class:`StudentGrades`, from the gradebook at ``db_url``."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(db_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            student = submission.student_id
            try:
                nb = gb.find_submission_notebook(notebook, assignment, student)
            except MissingEntry:
                continue
            cells = {}
            for grade in nb.grades:
                auto = grade.cell.cell_type == "code"
                score = grade.manual_score if grade.manual_score is not None else grade.auto_score
                cells[grade.name] = CellGrade(grade.name, int(grade.name[:2]), auto, score,
                                              float(grade.max_score))
            out[student] = StudentGrades(student, cells)
    return out


def table(grades: dict, order=None) -> str:
    """The gradebook as text: autograded points per exercise, then the totals."""
    students = list(order) if order else sorted(grades)
    head = ["student"] + [f"{e:>4d}" for e in EXERCISES] + ["auto", "manual", "total"]
    rows = []
    for s in students:
        g = grades[s]
        manual = g.manual_score()
        auto = g.auto_score()
        rows.append(
            [s]
            + [f"{g.auto_score(e):g}" for e in EXERCISES]
            + [f"{auto:g}/{g.auto_max():g}",
               "pending" if manual is None else f"{manual:g}/{g.manual_max():g}",
               f"{auto + (manual or 0):g}/{g.auto_max() + g.manual_max():g}"]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(r, widths)))
             for r in [head] + rows]
    lines.insert(1, "-" * len(lines[0]))
    if grades:
        any_student = grades[students[0]]
        per = {e: any_student.auto_max(e) for e in EXERCISES}
        lines.append("")
        lines.append(
            f"Columns 1-10: autograded points per exercise (of {per[1]:g} each); 'manual': the written "
            "answers, graded by hand in the formgrader ('pending' until then)."
        )
    return "\n".join(lines)
