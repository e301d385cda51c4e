"""Grading the written answers by hand: what the grader needs in front of them, and the grades.

The 40 written parts (a definition, examples, a derivation and a metric per
exercise; 50 points) are graded in nbgrader's formgrader, which shows the
student's answer but not the source notebook's model answer and rubric. So
:func:`write_sheets` makes one **grading sheet per exercise**
(``COURSE/grading/ex01.html`` ...): for each written part, the question, the
model answer, the rubric and the scores allowed (0 to the part's points in
steps of 0.5), then every student's answer with the score the gradebook holds
and a link to that submission in the formgrader. The sheets are for the
grader only: they live in the course folder, never in the release, the
exchange or feedback.

Grades go into nbgrader's gradebook (``manual_score`` of the cell's grade,
``manual_comment`` of its comment), by the formgrader or by
:func:`enter_grade`, which refuses a score outside ``0 .. points`` or off
the 0.5 grid. :func:`off_grid` finds scores typed into the formgrader that
are not on it; ``adaptive-lr export`` refuses to export while there are any.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .gradebook import EXERCISES
from .pipeline import ASSIGNMENT, NOTEBOOK

STEP = 0.5
MODEL, RUBRIC = "**Model answer.**", "**Rubric"


@dataclass(frozen=True)
class WrittenPart:
    grade_id: str
    exercise: int
    points: float
    question: str
    model_answer: str
    rubric: str


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def split_answer(source: str) -> tuple[str, str]:
    """A written cell of the source -> (model answer, rubric)."""
    body, _, rubric = source.partition(RUBRIC)
    return body.replace(MODEL, "").strip(), (RUBRIC + rubric).strip() if rubric else ""


def written_parts(source_nb) -> list[WrittenPart]:
    """The hand-graded cells of the source notebook, each with its question, model answer and rubric."""
    parts, question = [], ""
    for cell in source_nb.cells:
        md = _nbgrader(cell)
        if cell.cell_type == "markdown" and md.get("locked") and not md.get("grade"):
            question = cell.source
        if cell.cell_type == "markdown" and md.get("grade") and md.get("solution"):
            model, rubric = split_answer(cell.source)
            parts.append(WrittenPart(md["grade_id"], int(md["grade_id"][:2]), float(md["points"]),
                                     question, model, rubric))
    return parts


def allowed_scores(points: float) -> list[float]:
    return [i * STEP for i in range(round(points / STEP) + 1)]


def check_score(score: float, points: float, where: str = "") -> float:
    """``score`` if it is in ``0 .. points`` on the 0.5 grid; else a ValueError naming the cell."""
    at = f" for {where}" if where else ""
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score):
        raise ValueError(f"score{at} must be a number, got {score!r}")
    if not 0 <= score <= points:
        raise ValueError(f"score{at} must be between 0 and {points:g}, got {score:g}")
    if abs(score / STEP - round(score / STEP)) > 1e-9:
        raise ValueError(f"score{at} must be a multiple of {STEP:g} (partial credit in steps of "
                         f"{STEP:g}), got {score:g}")
    return float(score)


def enter_grade(db_url: str, student: str, grade_id: str, score: float, comment: str | None = None,
                assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK) -> None:
    """Set a hand-graded cell's score (and the comment the student will see) in the gradebook."""
    enter_grades(db_url, [(student, grade_id, score, comment)], assignment, notebook)


def enter_grades(db_url: str, grades, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK) -> None:
    """:func:`enter_grade` for many ``(student, grade_id, score, comment)`` in one gradebook session.

    Every score is checked before any is written: one bad score leaves the gradebook as it was.
    """
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        todo = []
        for student, grade_id, score, comment in grades:
            grade = gb.find_grade(grade_id, notebook, assignment, student)
            if grade.cell.cell_type != "markdown":
                raise ValueError(f"{grade_id} is autograded; only written answers are graded by hand")
            todo.append((grade, check_score(score, float(grade.max_score), f"{student}/{grade_id}"),
                         student, grade_id, comment))
        for grade, score, student, grade_id, comment in todo:
            grade.manual_score = score
            if comment is not None:
                gb.find_comment(grade_id, notebook, assignment, student).manual_comment = comment
        gb.db.commit()


def _written_grades(gb, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK):
    """``(student, submission notebook, its written answers' grades)`` for each submission.

    Students who have no submitted notebook of ``assignment`` are skipped.
    """
    from nbgrader.api import MissingEntry

    for submission in gb.assignment_submissions(assignment):
        try:
            nb = gb.find_submission_notebook(notebook, assignment, submission.student_id)
        except MissingEntry:
            continue
        yield submission.student_id, nb, [g for g in nb.grades if g.cell.cell_type == "markdown"]


def off_grid(db_url: str, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK) -> list[str]:
    """Hand-entered scores not in ``0 .. points`` on the 0.5 grid, as ``student/grade_id: score``."""
    from nbgrader.api import Gradebook

    out = []
    with Gradebook(db_url) as gb:
        for student, _, grades in _written_grades(gb, assignment, notebook):
            for grade in (g for g in grades if g.manual_score is not None):
                try:
                    check_score(grade.manual_score, float(grade.max_score))
                except ValueError as exc:
                    out.append(f"{student}/{grade.name}: {exc}")
    return sorted(out)


# -- the grading sheets ---------------------------------------------------------------------


def _md(text: str) -> str:
    """Markdown to HTML, its math as MathML as on the feedback pages (no MathJax, no network)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from .offline_html import render_math

    return markdown2html_mistune(render_math(text))


_CSS = """body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
.part{border-top:3px solid #345;margin-top:2em;padding-top:.5em}
.key{background:#fff8e1;border-left:5px solid #f0a500;padding:.3em 1em;margin:.5em 0}
.answer{border:1px solid #ccc;border-radius:4px;padding:.3em 1em;margin:.6em 0}
.answer h4{margin:.3em 0}.empty{color:#a00}.score{float:right;font-weight:bold}
code{background:#f3f3f3}"""


def _student_answers(course, students) -> dict:
    """student -> {grade_id: their answer's markdown}, from the autograded notebooks."""
    out = {}
    for student in students:
        path = course.autograded_notebook(student)
        if path.is_file():
            nb = nbformat.read(path, as_version=4)
            out[student] = {_nbgrader(c).get("grade_id"): c.source for c in nb.cells
                            if c.cell_type == "markdown" and _nbgrader(c).get("solution")}
    return out


def _gradebook_state(db_url) -> dict:
    """student -> {grade_id: (manual score or None, submission notebook id)}."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {student: {g.name: (g.manual_score, nb.id) for g in grades}
                for student, nb, grades in _written_grades(gb)}


def write_sheets(course, formgrader_url: str = "http://localhost:8888") -> list[Path]:
    """``COURSE/grading/exNN.html`` for every exercise and an ``index.html``; returns the paths."""
    parts = written_parts(nbformat.read(course.source_notebook, as_version=4))
    state = _gradebook_state(course.db_url)
    students = sorted(state)
    answers = _student_answers(course, students)
    folder = course.root / "grading"
    folder.mkdir(exist_ok=True)
    written = []
    for exercise in EXERCISES:
        mine = [p for p in parts if p.exercise == exercise]
        if not mine:
            continue
        body = [f"<h1>Exercise {exercise}: grading sheet for the written answers</h1>",
                (f"<p>{len(students)} submission(s). Scores in steps of {STEP:g}; enter them in the "
                 f"formgrader (links below) or with <code>adaptive_lr.course.manual.enter_grade</code>. "
                 "For graders only: never hand this page to students.</p>")]
        for p in mine:
            steps = ", ".join(f"{s:g}" for s in allowed_scores(p.points))
            unit = "point" if p.points == 1 else "points"
            body += [f'<div class="part" id="{p.grade_id}"><h2>{p.grade_id} ({p.points:g} {unit})</h2>',
                     _md(p.question),
                     f'<div class="key"><h3>Model answer</h3>{_md(p.model_answer)}',
                     f"{_md(p.rubric)}<p><b>Allowed scores:</b> {steps}</p></div>"]
            for student in students:
                score, nb_id = state[student].get(p.grade_id, (None, None))
                text = answers.get(student, {}).get(p.grade_id, "")
                shown = (_md(text) if text.strip() and text.strip() != "YOUR ANSWER HERE"
                         else '<p class="empty">(not answered)</p>')
                mark = "not graded yet" if score is None else f"{score:g} / {p.points:g}"
                link = f"{formgrader_url.rstrip('/')}/formgrader/submissions/{nb_id}" if nb_id else ""
                body.append(f'<div class="answer"><span class="score">{mark}</span>'
                            f"<h4>{html.escape(student)}"
                            + (f' (<a href="{html.escape(link)}">formgrader</a>)' if link else "")
                            + f"</h4>{shown}</div>")
            body.append("</div>")
        path = folder / f"ex{exercise:02d}.html"
        path.write_text(_page(f"Exercise {exercise}: grading sheet", "\n".join(body)), encoding="utf-8")
        written.append(path)
    links = "".join(f'<li><a href="{p.name}">{p.stem}</a></li>' for p in written)
    index = folder / "index.html"
    index.write_text(_page("Grading sheets", f"<h1>Grading sheets</h1><ul>{links}</ul>"), encoding="utf-8")
    return [index, *written]


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
            f"</title><style>{_CSS}</style></head><body>{body}</body></html>")
