"""Grade a whole batch of submissions and report on every student, whatever they handed in.

:func:`grade` is what an instructor runs (``adaptive-lr grade COURSE``):

1. checksums of every file under ``submitted/`` (they must not change);
2. intake (:mod:`.intake`): folders that hold no gradable notebook get 0 and
   the reason, and are left out of nbgrader's batch;
3. ``nbgrader autograde`` of the rest in one batch, in the grading sandbox
   (:mod:`.execute`): timeouts and dead kernels are graded, not fatal;
4. the report: one row per student with the score per exercise, the total
   and a status (``ok``, ``timeout``, ``kernel died``, ``error in answer``,
   ``tampering detected``, ``invalid notebook``, ``wrong file name``,
   ``empty submission``, ``missing notebook``, ``not graded``) with its
   reason, printed and written to ``grading_report.csv``;
5. the checksums again: a changed file under ``submitted/`` is an error.

Nothing fails silently: a student nbgrader could not grade is reported as
``not graded`` with the end of nbgrader's log about them.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .gradebook import EXERCISES, read_grades
from .pipeline import ASSIGNMENT, Course

REPORT_NAME = "grading_report.csv"


class SubmissionsChanged(RuntimeError):
    """Grading modified a file under submitted/ (it never should)."""


@dataclass
class Row:
    student: str
    status: str
    reason: str = ""
    scores: dict = field(default_factory=dict)  # exercise -> autograded points
    auto: float = 0.0
    auto_max: float = 0.0

    def as_csv(self) -> dict:
        row = {"student": self.student}
        row.update({f"ex{e:02d}": f"{self.scores.get(e, 0):g}" for e in EXERCISES})
        row.update(
            {
                "auto": f"{self.auto:g}",
                "auto_max": f"{self.auto_max:g}",
                "status": self.status,
                "reason": self.reason,
            }
        )
        return row


def checksums(folder: Path) -> dict:
    """relative path -> sha256 of every file below ``folder``."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# The hidden tests' message when a submission calls the reference implementation
# (adaptive_lr.grading.guard): the function scores 0 there, and the report says why.
ORACLE_CALL = "calls the reference implementation"


def _answer_errors(nb) -> tuple[list[str], int]:
    """Errors raised in the student's own answer cells, and how many were left unanswered."""
    found, unanswered = [], 0
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not md.get("solution"):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error" or out.get("ename") == "NotRun":
                continue
            if out.get("ename") == "NotImplementedError":  # the release's placeholder, untouched
                unanswered += 1
            else:
                found.append(f"{md.get('grade_id')} raised {out.get('ename')}")
            break
    return found, unanswered


def _oracle_calls(nb) -> list[str]:
    cells = []
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if (
            cell.cell_type == "code"
            and md.get("grade")
            and any(
                out.get("output_type") == "error" and ORACLE_CALL in out.get("evalue", "")
                for out in cell.get("outputs", [])
            )
        ):
            cells.append(md.get("grade_id"))
    return [f"{ORACLE_CALL} ({', '.join(cells)}: 0 points there)"] if cells else []


def _status_of(course: Course, student: str) -> tuple[str, str]:
    path = course.autograded_notebook(student)
    if not path.is_file():
        return "not graded", "nbgrader could not grade this notebook; see nbgrader.log"
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("adaptive_lr", {})
    execution = meta.get("execution", {})
    notes = []
    truncated = execution.get("truncated_cells")
    if truncated:
        notes.append(f"output of {len(truncated)} cell(s) truncated")
    tampering = (meta.get("tampering") or []) + _oracle_calls(nb)
    forged = execution.get("recheck_failed")
    if forged:
        tampering.append(
            f"hidden tests passed in the notebook but failed when re-run outside it ({', '.join(forged)}): 0 points there"
        )
    errors, unanswered = _answer_errors(nb)
    if unanswered:
        notes.append(f"{unanswered} answer cell(s) not answered")
    if execution.get("status", "ok") != "ok":
        status, reason = execution["status"], execution.get("reason", "")
    elif tampering:
        status, reason = "tampering detected", "; ".join(tampering)
    elif errors:
        status, reason = "error in answer", "; ".join(errors)
    else:
        status, reason = "ok", ""
    if tampering and status != "tampering detected":
        notes.append("tampering: " + "; ".join(tampering))
    if errors and status not in ("error in answer",):
        notes.append("; ".join(errors))
    return status, "; ".join(x for x in [reason, *notes] if x)


def grade(course: Course, say=print) -> list[Row]:
    """Grade every submission of ``course``; returns the report rows (also printed and saved as CSV)."""
    import os

    from .intake import inspect_course

    submitted = course.root / "submitted"
    if os.environ.get("ADAPTIVE_LR_SANDBOX", "1") == "0":
        say("sandbox: off (ADAPTIVE_LR_SANDBOX=0): kernels run as the grader, without limits")
    elif os.geteuid() != 0:
        say(
            "sandbox: limits and scratch folder only; not root, so no separate user and no read-only view"
        )
    before = checksums(submitted)
    intakes = inspect_course(course.root, ASSIGNMENT)
    gradable = [i.student for i in intakes if i.status == "ok"]
    refused = [i for i in intakes if i.status != "ok"]
    for i in refused:
        say(f"  {i.student}: {i.status}: {i.reason}")
    from .schedule import apply_due_date

    apply_due_date(course)  # the configured due date, where nbgrader's late penalty reads it
    if gradable:
        args = ["autograde", "--force"]
        if refused:
            args.append(
                "--CourseDirectory.student_id_exclude=" + ",".join(i.student for i in refused)
            )
        course.nbgrader(*args, check=False)
    grades = read_grades(course.db_url)
    rows = []
    for i in intakes:
        if i.status != "ok":
            rows.append(Row(i.student, i.status, i.reason))
            continue
        g = grades.get(i.student)
        status, reason = _status_of(course, i.student)
        if g is None:
            rows.append(Row(i.student, "not graded", reason or "no grades in the gradebook"))
            continue
        rows.append(
            Row(
                i.student,
                status,
                reason,
                {e: g.auto_score(e) for e in EXERCISES},
                g.auto_score(),
                g.auto_max(),
            )
        )
    after = checksums(submitted)
    if after != before:
        changed = sorted(set(before.items()) ^ set(after.items()))
        raise SubmissionsChanged(f"grading changed files under submitted/: {changed[:5]}")
    write_report(rows, course.root / REPORT_NAME)
    say(report_table(rows))
    return rows


def write_report(rows, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].as_csv()) if rows else ["student"])
        writer.writeheader()
        for row in rows:
            writer.writerow(row.as_csv())
    return path


def report_table(rows) -> str:
    head = ["student"] + [f"{e}" for e in EXERCISES] + ["auto", "status"]
    body = [
        [r.student]
        + [f"{r.scores.get(e, 0):g}" for e in EXERCISES]
        + [f"{r.auto:g}/{r.auto_max:g}" if r.auto_max else "0", r.status]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = lambda r: "  ".join(
        x.ljust(w) if j in (0, len(r) - 1) else x.rjust(w)
        for j, (x, w) in enumerate(zip(r, widths))
    )
    lines = [fmt(head), "-" * len(fmt(head))] + [fmt(r) for r in body]
    reasons = [f"  {r.student}: {r.reason}" for r in rows if r.reason]
    if reasons:
        lines += ["", "Reasons:"] + reasons
    return "\n".join(lines)
