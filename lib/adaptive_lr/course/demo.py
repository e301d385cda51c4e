"""``make demo``: the instructor's whole job, headless, in a scratch course folder.

1. copy ``source/`` into a scratch course and ``nbgrader generate_assignment``;
2. make sample submissions: the full solution, the blank release, a few common
   mistakes (from :mod:`adaptive_lr.grading.mistakes`) and one attempt to call
   the reference implementation;
3. ``nbgrader autograde`` them in one batch and ``nbgrader generate_feedback``;
4. print the gradebook (autograded points per exercise, totals);
5. copy ``autograded/`` and ``feedback/`` to the repository root to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..grading.mistakes import MISTAKES
from . import submissions as subs
from .gradebook import read_grades, table
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
    for student, nb in made.items():
        course.submit(student, nb)
    return list(made)


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

    say("3/5 nbgrader autograde (one batch) ...")
    seconds = course.autograde()
    say(f"    {seconds:.1f} s, {seconds / len(students):.1f} s per submission")

    say("4/5 nbgrader generate_feedback ...")
    course.generate_feedback()

    grades = read_grades(course.db_url)
    say("5/5 the gradebook\n")
    say(table(grades, order=students))
    if copy_back:
        _copy_back(course, repo)
        say(f"\nAutograded notebooks: {repo / 'autograded'}\nFeedback (HTML):      {repo / 'feedback'}")
    say(f"Gradebook: {course.db_url} (not committed, not released); log: {course.log_path}")
    return {"course": course, "grades": grades, "students": students, "seconds": seconds}
