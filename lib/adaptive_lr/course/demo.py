"""``make demo``: the instructor's whole job, headless, in a scratch course folder.

1. copy ``source/`` into a scratch course and ``nbgrader generate_assignment``;
2. make sample submissions: the full solution, the blank release, a few common
   mistakes (from :mod:`adaptive_lr.grading.mistakes`) and one attempt to call
   the reference implementation;
   and a few hostile or broken ones (:mod:`.hostile`: a dead kernel, a runaway
   loop, writes into the course, an invalid file, a misnamed notebook);
3. grade them in one batch in the grading sandbox (:mod:`.batch`: intake,
   ``nbgrader autograde``, the report with a status per student, saved as
   ``grading_report.csv``), then ``nbgrader generate_feedback``;
4. print the gradebook (autograded points per exercise, totals);
5. copy ``autograded/`` and ``feedback/`` to the repository root to look at;
6. grade the written answers through nbgrader's gradebook API (full marks for
   the sample answers, 0 where unanswered), write the grading sheets (:mod:`.manual`) and the
   class report (:mod:`.class_report`, ``demo_output/course/report/index.html``),
   and print where the report is.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ..grading.mistakes import MISTAKES
from . import batch, class_report, report
from . import submissions as subs
from .hostile import BROKEN, HOSTILE, with_hostile_code
from .gradebook import read_grades, table
from .manual import enter_grades, written_parts, write_sheets
from .pipeline import Course, repo_root
from .release import committed_release, differences

DEMO_MISTAKES = (
    "01-adagrad_update-eps-inside-sqrt",
    "03-adam_update-no-bias-correction",
    "04-amsgrad_update-max-over-corrected-v",
    "05-adamw_update-coupled-decay",
    "06-adafactor_update-no-update-clipping",
    "08-trust_ratio-inverted",
    "10-newton_schulz-no-normalization",
)
DEMO_CHEATS = ("calls-oracle",)
DEMO_HOSTILE = ("os-exit", "infinite-loop", "writes-course")
DEMO_BROKEN = ("invalid-json", "wrong-name")


def student_id(key: str) -> str:
    """``03-adam_update-no-bias-correction`` -> ``ex03-no-bias-correction``."""
    exercise, _, rest = key.partition("-")
    return f"ex{exercise}-{rest.split('-', 1)[1]}"


def make_submissions(course: Course, mistakes=DEMO_MISTAKES, cheats=DEMO_CHEATS) -> list[str]:
    source_nb, release_nb = subs.read(course.source_notebook), subs.read(course.release_notebook)
    solved = subs.solution(source_nb, release_nb)
    made = {"solution": solved, "blank": subs.blank(release_nb)}
    by_key = {m.key: m for m in MISTAKES}
    for key in mistakes:
        made[student_id(key)] = subs.with_mistake(solved, by_key[key])
    for slug in cheats:
        cheat = next(c for c in subs.CHEATS if c.slug == slug)
        made[f"cheat-{slug}"] = subs.with_cheat(solved, cheat)
    other = course.root / "submitted" / "solution" / "adaptive_lr"
    for h in HOSTILE:
        if h.slug in DEMO_HOSTILE:
            made[f"hostile-{h.slug}"] = with_hostile_code(solved, h, course.root, other)
    for student, nb in made.items():
        course.submit(student, nb)
    for b in BROKEN:
        if b.slug in DEMO_BROKEN:
            b.write(course.root / "submitted" / f"broken-{b.slug}" / "adaptive_lr", solved)
            made[f"broken-{b.slug}"] = None
    return list(made)


def grade_written_answers(course: Course) -> int:
    """Grade every written answer as a grader would in the formgrader, through the gradebook API.

    The demo's sample answers are the model answers (full marks) or the release's
    placeholder (0). Returns how many students were graded.
    """
    import nbformat

    parts = written_parts(nbformat.read(course.source_notebook, as_version=4))
    graded = 0
    for student in read_grades(course.db_url):
        path = course.autograded_notebook(student)
        if not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells
                   if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")}
        todo = []
        for p in parts:
            answered = answers.get(p.grade_id, "").strip() not in ("", "YOUR ANSWER HERE")
            todo.append((student, p.grade_id, p.points if answered else 0.0, None))
        enter_grades(course.db_url, todo)
        graded += 1
    return graded


def _copy_back(course: Course, repo: Path) -> None:
    autograded = repo / "autograded"
    autograded.mkdir(exist_ok=True)
    for child in autograded.iterdir():
        if child.name != "README.md":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for child in (course.root / "autograded").iterdir():
        shutil.copytree(child, autograded / child.name)
    feedback = repo / "feedback"
    if feedback.exists():
        shutil.rmtree(feedback)
    shutil.copytree(course.root / "feedback", feedback)


def run(out=None, copy_back: bool = True, say=print) -> dict:
    repo = repo_root()
    out = Path(out) if out else repo / "demo_output"
    # The demo's runaway loop would otherwise hold the batch for the full minute of
    # grader_config.py's cell limit; an instructor's own setting is kept.
    os.environ.setdefault("ADAPTIVE_LR_CELL_TIMEOUT", "15")
    course = Course(out / "course", repo).create()
    say(f"Scratch course: {course.root}")

    say("1/5 nbgrader generate_assignment ...")
    fresh = course.generate_release()
    stale = differences(committed_release(repo), fresh)
    if stale:
        say("    WARNING: release/adaptive_lr/exercises.ipynb is out of date "
            f"({stale[0]}...); run `python -m adaptive_lr.cli release` to update it.")
    else:
        say("    the committed release matches the source.")

    students = make_submissions(course)
    say(f"2/5 {len(students)} sample submissions: {', '.join(students)}")

    say("3/5 grading the batch in the sandbox (intake, nbgrader autograde, report) ...\n")
    start = time.perf_counter()
    rows = batch.grade(course, say=say)
    seconds = time.perf_counter() - start
    say(f"\n    {seconds:.1f} s, {seconds / len(students):.1f} s per submission; "
        f"report: {course.root / batch.REPORT_NAME}")

    graded_by_hand = grade_written_answers(course)
    say(f"    written answers graded through nbgrader's gradebook API for {graded_by_hand} students "
        "(the demo's stand-in for the formgrader)")
    say("4/5 nbgrader generate_feedback ...")
    course.generate_feedback()

    grades = read_grades(course.db_url)
    say("5/5 the gradebook (students with a gradable notebook)\n")
    say(table(grades, order=[s for s in students if s in grades]))
    say("\n" + report.summary(rows))
    if copy_back:
        _copy_back(course, repo)
        say(f"\nAutograded notebooks: {repo / 'autograded'}\nFeedback (HTML):      {repo / 'feedback'}")
    say(f"Gradebook: {course.db_url} (not committed, not released); log: {course.log_path}")
    sheets = write_sheets(course)
    say(f"Grading sheets for the written answers (model answers, rubrics; graders only): {sheets[0]}")
    page = class_report.write(course, rows)
    say(f"\nClass report: {page}")
    return {"course": course, "grades": grades, "students": students, "seconds": seconds, "rows": rows,
            "report": page}
