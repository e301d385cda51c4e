"""The assignment's due date: set in ``grader_config.py``, stored where nbgrader reads it.

nbgrader keeps the due date on the assignment in the gradebook (``nbgrader db
assignment add ... --duedate``), not in its configuration. The course states
it once, in ``grader_config.py`` (``c.CourseSchedule.due_date``, overridden by
``ADAPTIVE_LR_DUE_DATE``), and :func:`apply_due_date` writes it into the
gradebook through nbgrader's API before every autograde, so ``collect
--before-duedate``, the late penalty (:mod:`.late`) and ``nbgrader export``
all see the same date. An empty due date means none (nothing is late).
"""

from __future__ import annotations

from pathlib import Path

from .pipeline import ASSIGNMENT


def read_config(course_root):
    """The traitlets configuration of the course folder (its ``nbgrader_config.py``)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(Path(course_root))).load_config()


def due_date(course_root) -> str:
    """The configured due date (an nbgrader timestamp string), or ``""`` for none."""
    value = read_config(course_root).get("CourseSchedule", {}).get("due_date", "")
    value = str(value or "").strip()
    if value:
        from nbgrader.utils import parse_utc

        try:
            parse_utc(value)
        except ValueError as exc:
            raise ValueError(
                f"CourseSchedule.due_date must be a date such as '2027-01-31 23:59:00 UTC', got {value!r}"
            ) from exc
    return value


def apply_due_date(course) -> str:
    """Write the configured due date onto the assignment in ``course``'s gradebook; returns it.

    In this process, through nbgrader's gradebook API: the very call ``nbgrader db
    assignment add ASSIGNMENT --duedate=...`` makes, without starting nbgrader for it.
    """
    from nbgrader.api import Gradebook

    value = due_date(course.root)
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=value or None)
    return value
