"""Grades out: totals from the gradebook, a CSV Canvas imports, and a plain CSV per exercise.

:func:`totals` reads, for every student in the gradebook, the autograded and
hand-graded points per exercise, the late penalty nbgrader stored
(:mod:`.late`) and the total out of 100 (``None`` while a written answer is
still ungraded). :func:`write_canvas` writes Canvas's gradebook import
format: the columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
``Section`` and one column per assignment, with a ``Points Possible`` row.
``ID`` is the Canvas user id (nbgrader's ``lms_user_id``: from the zip
names, :mod:`.lms`, or from ``nbgrader db student import``); ``SIS Login ID``
is the nbgrader student id (the Unix login on a hub). A Canvas gradebook
export given as ``roster`` fills in names, SIS ids and sections, matched on
``ID`` or ``SIS Login ID``. :func:`write_plain` writes one row per student:
points per exercise, written and autograded points, penalty, total, status.

A student in the gradebook without a submission scores 0 (as ``nbgrader
export`` does). :func:`export` refuses while written answers are ungraded or
scores are off the 0.5 grid, unless ``allow_pending`` (then ungraded parts
count 0 and the plain CSV says ``pending``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .gradebook import EXERCISES
from .pipeline import ASSIGNMENT, NOTEBOOK

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class ExportRefused(RuntimeError):
    """The grades are not final (ungraded written answers, scores off the 0.5 grid)."""


@dataclass
class Total:
    student: str
    first_name: str = ""
    last_name: str = ""
    lms_user_id: str = ""
    submitted: bool = False
    timestamp: str = ""
    auto: dict = field(default_factory=dict)  # exercise -> autograded points
    manual: dict = field(default_factory=dict)  # exercise -> hand-graded points
    pending: list = field(default_factory=list)  # grade ids of ungraded written answers
    penalty: float = 0.0
    max_score: float = 0.0

    @property
    def raw(self) -> float:
        return sum(self.auto.values()) + sum(self.manual.values())

    @property
    def score(self) -> float:
        """Autograded + hand-graded points minus the late penalty (never below 0)."""
        return max(0.0, self.raw - self.penalty)

    @property
    def final(self) -> bool:
        return self.submitted and not self.pending

    def exercise(self, e: int) -> float:
        return self.auto.get(e, 0.0) + self.manual.get(e, 0.0)

    @property
    def display_name(self) -> str:
        if self.last_name or self.first_name:
            return ", ".join(x for x in (self.last_name, self.first_name) if x)
        return self.student


def totals(db_url: str, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK) -> dict:
    """student id -> :class:`Total`, for every student in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(db_url) as gb:
        max_score = float(gb.find_assignment(assignment).max_score)
        for student in gb.students:
            t = out[student.id] = Total(student.id, student.first_name or "", student.last_name or "",
                                        student.lms_user_id or "", max_score=max_score)
            try:
                submission = gb.find_submission(assignment, student.id)
                nb = gb.find_submission_notebook(notebook, assignment, student.id)
            except MissingEntry:
                continue
            t.submitted = True
            t.timestamp = submission.timestamp.isoformat(" ") if submission.timestamp else ""
            t.penalty = float(submission.late_submission_penalty or 0.0)
            for grade in nb.grades:
                e = int(grade.name[:2])
                if grade.cell.cell_type == "markdown":
                    if grade.manual_score is None:
                        t.pending.append(grade.name)
                    t.manual[e] = t.manual.get(e, 0.0) + float(grade.manual_score or 0.0)
                else:
                    score = grade.manual_score if grade.manual_score is not None else grade.auto_score
                    t.auto[e] = t.auto.get(e, 0.0) + float(score or 0.0)
    return out


def _num(x: float) -> str:
    return f"{x:g}"


def read_roster(path) -> list[dict]:
    """The rows of a Canvas gradebook export (its ``Points Possible`` row dropped)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in ("Student", "ID") if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"{path} is not a Canvas gradebook export: no column {', '.join(missing)}")
    return [r for r in rows if "Points Possible" not in (r.get("Student") or "")]


def write_canvas(all_totals: dict, path, column: str = ASSIGNMENT, roster=None) -> Path:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, ``column``."""
    by_id = {r["ID"]: r for r in roster or [] if r.get("ID")}
    by_login = {r["SIS Login ID"]: r for r in roster or [] if r.get("SIS Login ID")}
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_COLUMNS, column])
        any_total = next(iter(all_totals.values()), None)
        writer.writerow(["    Points Possible", "", "", "", "", _num(any_total.max_score if any_total else 100)])
        for t in sorted(all_totals.values(), key=lambda t: t.student):
            r = by_id.get(t.lms_user_id) or by_login.get(t.student) or {}
            writer.writerow([r.get("Student") or t.display_name, r.get("ID") or t.lms_user_id,
                             r.get("SIS User ID", ""), r.get("SIS Login ID") or t.student,
                             r.get("Section", ""), _num(t.score)])
    return path


def write_plain(all_totals: dict, path, statuses=None) -> Path:
    """One row per student: points per exercise, written, autograded, penalty, total, status."""
    statuses = statuses or {}
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lms_user_id", *(f"ex{e:02d}" for e in EXERCISES), "written", "auto",
                         "late_penalty", "total", "max", "submitted_at", "status"])
        for t in sorted(all_totals.values(), key=lambda t: t.student):
            status = ("not submitted" if not t.submitted else "pending" if t.pending
                      else statuses.get(t.student, "graded"))
            writer.writerow([t.student, t.lms_user_id, *(_num(t.exercise(e)) for e in EXERCISES),
                             _num(sum(t.manual.values())), _num(sum(t.auto.values())), _num(t.penalty),
                             _num(t.score), _num(t.max_score), t.timestamp, status])
    return path


def plain_path(canvas_path) -> Path:
    p = Path(canvas_path)
    return p.with_name(p.stem + "_per_exercise.csv")


def export(course, out, roster=None, allow_pending: bool = False, column: str = ASSIGNMENT) -> tuple[Path, Path]:
    """Write ``out`` (Canvas) and ``<out>_per_exercise.csv`` (plain); returns both paths."""
    from .manual import off_grid

    all_totals = totals(course.db_url)
    problems = off_grid(course.db_url)
    pending = [f"{t.student}: {len(t.pending)} written answer(s) not graded ({', '.join(t.pending[:3])}"
               f"{', ...' if len(t.pending) > 3 else ''})" for t in all_totals.values() if t.pending]
    if problems or (pending and not allow_pending):
        raise ExportRefused("the grades are not final:\n  " + "\n  ".join(problems + pending)
                            + ("\ngrade them in the formgrader (or pass --allow-pending)" if pending else ""))
    statuses = _statuses(course.root)
    canvas = write_canvas(all_totals, out, column, read_roster(roster) if roster else None)
    return canvas, write_plain(all_totals, plain_path(out), statuses)


def _statuses(course_root) -> dict:
    """student -> status from the last batch's ``grading_report.csv`` (when there is one)."""
    report = Path(course_root) / "grading_report.csv"
    if not report.is_file():
        return {}
    with open(report, newline="", encoding="utf-8") as f:
        return {r["student"]: r["status"] for r in csv.DictReader(f)}
