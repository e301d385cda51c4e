"""Move an assignment and one student's grades between nbgrader gradebooks, as plain data.

A parallel batch never lets two processes write to the course's gradebook:
each submission is graded by its own ``nbgrader autograde`` into a private
SQLite gradebook that holds only the assignment (:func:`export_assignment`),
and the coordinator, the only writer, copies the student's autograded grades
into the course's gradebook (:func:`read_submission`, :func:`write_submission`).
The course's gradebook may be SQLite or PostgreSQL; manual grades already
given in it are kept (only the automatic fields are written), as nbgrader's
own ``autograde --force`` keeps them.
"""

from __future__ import annotations

import datetime as _dt

COURSE_ID = "adaptive-lr"  # grader_config.py's CourseDirectory.course_id

_GRADE_FIELDS = ("auto_score", "needs_manual_grade")
_COMMENT_FIELDS = ("auto_comment",)


class AssignmentMissing(LookupError):
    """The gradebook does not hold the assignment (``nbgrader generate_assignment`` was not run)."""


def _gradebook(db_url: str):
    import os
    import sys

    from nbgrader.api import Gradebook

    # nbgrader runs `alembic` from PATH when it creates a gradebook: this environment's.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")

    return Gradebook(db_url, COURSE_ID)


def has_assignment(db_url: str, assignment: str) -> bool:
    """Whether the gradebook at ``db_url`` holds ``assignment``; never creates a SQLite file."""
    import os

    from nbgrader.api import MissingEntry

    if db_url.startswith("sqlite:///") and not os.path.isfile(db_url[len("sqlite:///") :]):
        return False
    with _gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False
    return True


def export_assignment(src_url: str, dst_url: str, assignment: str) -> dict:
    """Copy ``assignment`` (notebooks and every cell nbgrader records) into the gradebook ``dst_url``.

    Returns what was copied, as data (the resume key includes it: a hidden test
    changed in the gradebook regrades).
    """
    from nbgrader.api import MissingEntry

    with _gradebook(src_url) as src:
        try:
            a = src.find_assignment(assignment)
        except MissingEntry:
            raise AssignmentMissing(assignment) from None
        notebooks = []
        for nb in a.notebooks:
            notebooks.append(
                {
                    "name": nb.name,
                    "kernelspec": nb.kernelspec,
                    "grade": [(c.name, c.max_score, c.cell_type) for c in nb.grade_cells],
                    "task": [(c.name, c.max_score, c.cell_type) for c in nb.task_cells],
                    "solution": [c.name for c in nb.solution_cells],
                    "source": [(c.name, c.cell_type, c.locked, c.source, c.checksum) for c in nb.source_cells],
                }
            )
        duedate = a.duedate
    with _gradebook(dst_url) as dst:
        dst.update_or_create_assignment(assignment, duedate=duedate)
        for nb in notebooks:
            dst.update_or_create_notebook(nb["name"], assignment, kernelspec=nb["kernelspec"])
            for name, max_score, cell_type in nb["grade"]:
                dst.update_or_create_grade_cell(name, nb["name"], assignment, max_score=max_score,
                                                cell_type=cell_type)
            for name, max_score, cell_type in nb["task"]:
                dst.update_or_create_task_cell(name, nb["name"], assignment, max_score=max_score,
                                               cell_type=cell_type)
            for name in nb["solution"]:
                dst.update_or_create_solution_cell(name, nb["name"], assignment)
            for name, cell_type, locked, source, checksum in nb["source"]:
                dst.update_or_create_source_cell(name, nb["name"], assignment, cell_type=cell_type,
                                                 locked=locked, source=source, checksum=checksum)
    return {"duedate": duedate.isoformat() if duedate else None, "notebooks": notebooks}


def read_submission(db_url: str, assignment: str, student: str) -> dict | None:
    """The automatic grading of ``student``'s submission, as JSON-able data (None when absent)."""
    from nbgrader.api import MissingEntry

    with _gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        out = {
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
            "notebooks": {},
        }
        for nb in sub.notebooks:
            out["notebooks"][nb.name] = {
                "flagged": bool(nb.flagged),
                "late_submission_penalty": nb.late_submission_penalty,
                "grades": {
                    g.name: {k: getattr(g, k) for k in _GRADE_FIELDS}
                    | {"max_score": float(g.max_score), "cell_type": g.cell.cell_type}
                    for g in nb.grades
                },
                "comments": {c.name: {k: getattr(c, k) for k in _COMMENT_FIELDS} for c in nb.comments},
            }
    return out


def write_submission(db_url: str, assignment: str, student: str, data: dict) -> None:
    """Write ``data`` (from :func:`read_submission`) as ``student``'s automatic grades, in one transaction."""
    import warnings

    with _gradebook(db_url) as gb, warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy warn about its own autoflush; harmless.
        warnings.simplefilter("ignore")
        gb.update_or_create_student(student)
        stamp = _dt.datetime.fromisoformat(data["timestamp"]) if data.get("timestamp") else None
        kwargs = {"timestamp": stamp} if stamp else {}
        gb.update_or_create_submission(assignment, student, **kwargs)
        for name, nb in data["notebooks"].items():
            sub_nb = gb.find_submission_notebook(name, assignment, student)
            sub_nb.flagged = nb["flagged"]
            sub_nb.late_submission_penalty = nb["late_submission_penalty"]
            for cell, values in nb["grades"].items():
                grade = gb.find_grade(cell, name, assignment, student)
                for k in _GRADE_FIELDS:
                    setattr(grade, k, values[k])
            for cell, values in nb["comments"].items():
                comment = gb.find_comment(cell, name, assignment, student)
                for k in _COMMENT_FIELDS:
                    setattr(comment, k, values[k])
        gb.db.commit()
