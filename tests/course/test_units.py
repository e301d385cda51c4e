"""The lifecycle's small parts: late penalty, scores on the 0.5 grid, similarity, Canvas CSV, bundle."""

from __future__ import annotations

import csv
import os
import shutil
import sys

import nbformat
import pytest

from adaptive_lr.course import bundle, export, late, manual, similarity
from adaptive_lr.course.pipeline import repo_root

REPO = repo_root()
SOURCE = REPO / "source" / "adaptive_lr" / "exercises.ipynb"


# -- late penalty --------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, points", [(0, 0), (1, 10), (86400, 10), (86401, 20), (3 * 86400, 30)])
def test_penalty_per_started_day(seconds, points):
    assert late.penalty_points(seconds, 10.0) == points


def test_penalty_refuses_nonsense():
    with pytest.raises(ValueError, match="seconds_late"):
        late.penalty_points(-1, 10)
    with pytest.raises(ValueError, match="points_per_day"):
        late.penalty_points(10, -1)


def test_plugin_never_takes_more_than_the_score():
    plugin = late.PointsPerDayLate(points_per_day=10.0)
    assert plugin.late_submission_penalty("s", 42.0, 5 * 86400) == 42.0
    assert plugin.late_submission_penalty("s", 42.0, 3600) == 10.0


def test_due_date_is_configured_and_checked(tmp_path, monkeypatch):
    from adaptive_lr.course import schedule
    from adaptive_lr.course.pipeline import Course

    course = Course(tmp_path / "c", REPO).create()
    monkeypatch.setenv("ADAPTIVE_LR_DUE_DATE", "2027-01-31 23:59:00 UTC")
    assert schedule.due_date(course.root) == "2027-01-31 23:59:00 UTC"
    monkeypatch.setenv("ADAPTIVE_LR_DUE_DATE", "next tuesday-ish")
    with pytest.raises(ValueError, match="CourseSchedule.due_date"):
        schedule.due_date(course.root)


def test_due_date_lands_on_the_assignment_in_the_gradebook(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    from adaptive_lr.course import schedule
    from adaptive_lr.course.pipeline import ASSIGNMENT, Course

    course = Course(tmp_path / "c", REPO).create()
    # nbgrader runs alembic from PATH when it creates a gradebook
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    with Gradebook(course.db_url) as gb:
        gb.add_assignment(ASSIGNMENT)
    monkeypatch.setenv("ADAPTIVE_LR_DUE_DATE", "2027-01-31 23:59:00 Europe/Berlin")
    assert schedule.apply_due_date(course) == "2027-01-31 23:59:00 Europe/Berlin"
    with Gradebook(course.db_url) as gb:  # stored in UTC, as nbgrader's own command stores it
        assert gb.find_assignment(ASSIGNMENT).duedate == parse_utc("2027-01-31 22:59:00 UTC")
    monkeypatch.setenv("ADAPTIVE_LR_DUE_DATE", "")
    assert schedule.apply_due_date(course) == ""
    with Gradebook(course.db_url) as gb:
        assert gb.find_assignment(ASSIGNMENT).duedate is None


# -- hand grading ----------------------------------------------------------------------------------

@pytest.mark.parametrize("score", [0, 0.5, 1.5, 2])
def test_scores_on_the_grid(score):
    assert manual.check_score(score, 2) == score


@pytest.mark.parametrize("score, message", [(0.3, "multiple of 0.5"), (2.5, "between 0 and 2"),
                                            (-0.5, "between 0 and 2"), (float("nan"), "a number"),
                                            (True, "a number")])
def test_scores_off_the_grid_are_refused(score, message):
    with pytest.raises(ValueError, match=message):
        manual.check_score(score, 2)


def test_written_parts_carry_question_model_answer_and_rubric():
    parts = manual.written_parts(nbformat.read(SOURCE, as_version=4))
    assert len(parts) == 40 and sum(p.points for p in parts) == 50
    for p in parts:
        assert p.model_answer and p.rubric.startswith("**Rubric") and "Model answer" not in p.model_answer
        assert p.question.startswith("**(") and p.rubric not in p.model_answer


# -- similarity ------------------------------------------------------------------------------------

ADAM = '''def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Mine."""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
'''
RENAMED = '''def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    # copied, then renamed
    first = beta1 * m + (1 - beta1) * grad
    second = beta2 * v + (1 - beta2) * grad ** 2
    a = first / (1 - beta1 ** t)
    b = second / (1 - beta2 ** t)
    return theta - lr * a / (np.sqrt(b) + eps), first, second
'''
OTHER = '''def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    new_m = m.copy()
    new_v = v.copy()
    for i in range(grad.size):
        new_m.flat[i] = beta1 * m.flat[i] + (1.0 - beta1) * grad.flat[i]
        new_v.flat[i] = beta2 * v.flat[i] + (1.0 - beta2) * grad.flat[i] * grad.flat[i]
    correction = math.sqrt(1 - beta2**t) / (1 - beta1**t)
    return theta - lr * correction * new_m / (np.sqrt(new_v) + eps * math.sqrt(1 - beta2**t)), new_m, new_v
'''


def test_renamed_copy_is_flagged_and_a_different_solution_is_not():
    pairs = similarity.compare_all({"ann": {"adam_update": ADAM}, "ben": {"adam_update": RENAMED},
                                    "cat": {"adam_update": OTHER}}, {}, ["adam_update"])
    by = {(p.a, p.b): p for p in pairs}
    assert by[("ann", "ben")].flagged and by[("ann", "ben")].similarity == 1.0
    assert not by[("ann", "cat")].flagged and not by[("ben", "cat")].flagged


def test_a_pasted_reference_is_flagged():
    ref = similarity.reference_source("adam_update")
    pairs = similarity.compare_all({"dan": {"adam_update": ref}, "ann": {"adam_update": ADAM}}, {},
                                   ["adam_update"])
    by = {(p.a, p.b): p for p in pairs}
    assert by[("dan", similarity.REFERENCE)].flagged
    assert not by[("ann", similarity.REFERENCE)].flagged


def test_one_line_functions_are_not_compared():
    short = "def ema_update(m, grad, beta):\n    return beta * m + (1 - beta) * grad\n"
    assert similarity.compare_all({"a": {"ema_update": short}, "b": {"ema_update": short}}, {},
                                  ["ema_update"]) == []


def test_release_skeleton_does_not_count():
    skeleton = {"adam_update": ADAM}
    pairs = similarity.compare_all({"a": {"adam_update": ADAM}, "b": {"adam_update": ADAM}}, skeleton,
                                   ["adam_update"])
    assert pairs == []


# -- Canvas CSV ------------------------------------------------------------------------------------

def test_canvas_csv_takes_names_and_sections_from_a_roster(tmp_path):
    roster = tmp_path / "canvas.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Old (1)\n"
                      "    Points Possible,,,,,10\n"
                      '"Smith, Jo",12345,S001,smithj,Section A,5\n')
    t = export.Total("smithj", lms_user_id="12345", submitted=True, auto={1: 5.0}, manual={1: 4.5},
                     penalty=1.0, max_score=100.0)
    u = export.Total("nobody", max_score=100.0)
    path = export.write_canvas({"smithj": t, "nobody": u}, tmp_path / "out.csv",
                               roster=export.read_roster(roster))
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "adaptive_lr"]
    assert rows[2] == ["nobody", "", "", "nobody", "", "0"]
    assert rows[3] == ["Smith, Jo", "12345", "S001", "smithj", "Section A", "8.5"]


def test_roster_must_be_a_canvas_export(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\nx,1\n")
    with pytest.raises(ValueError, match="not a Canvas gradebook export"):
        export.read_roster(bad)


# -- the student bundle ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def student_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "student"
    return out, bundle.build(out)


def test_bundle_lists_what_students_get(student_bundle):
    out, files = student_bundle
    names = {str(f.relative_to(out)) for f in files}
    assert "release/adaptive_lr/exercises.ipynb" in names
    assert {"course/notes.md", "course/notation.md"} <= names
    assert any(n.startswith("course/") and n.endswith(".ipynb") for n in names)
    assert "lib/adaptive_lr/optim/adam.py" in names and "lib/adaptive_lr/grading/check.py" in names
    assert {"pyproject.toml", "README.md", "Makefile"} <= names
    forbidden = [n for n in names if n.startswith(("source", "lib/adaptive_lr/course/", "lib/adaptive_lr/sandbox/"))
                 or n.endswith(".db") or "/grading/" in n.replace("lib/adaptive_lr/grading/", "")]
    assert forbidden == []
    assert bundle.find_leaks(out, SOURCE) == []


def test_leak_check_objects_to_source_answers_and_gradebooks(student_bundle, tmp_path):
    out, _ = student_bundle
    leaky = tmp_path / "leaky"
    shutil.copytree(out, leaky)
    shutil.copyfile(SOURCE, leaky / "release" / "adaptive_lr" / "copy.ipynb")
    (leaky / "gradebook.db").write_bytes(b"SQLite format 3\x00")
    (leaky / "course" / "answers.md").write_text(
        manual.written_parts(nbformat.read(SOURCE, as_version=4))[5].rubric)
    leaks = "\n".join(bundle.find_leaks(leaky, SOURCE))
    assert "gradebook.db" in leaks
    assert "copy.ipynb: contains 'BEGIN HIDDEN TESTS'" in leaks and "hidden seed" in leaks
    assert "copy.ipynb: contains the model answer" in leaks
    assert "course/answers.md: contains the rubric" in leaks


def test_student_bundle_command(tmp_path, capsys):
    from adaptive_lr import cli

    assert cli.main(["student-bundle", "--out", str(tmp_path / "b")]) == 0
    assert "no source/, model answers, rubrics, hidden tests or gradebook" in capsys.readouterr().out
    assert (tmp_path / "b" / "release" / "adaptive_lr" / "exercises.ipynb").is_file()


def test_bundle_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        bundle.build(tmp_path / "x")


# -- the class report's mistake counts ----------------------------------------------------------

def test_mistakes_are_counted_per_student_with_the_catalogue_name():
    from adaptive_lr.course.class_report import Student, mistake_counts, mistake_title

    assert mistake_title("03-adam_update-no-bias-correction") == "bias correction missing"
    assert mistake_title("not-in-the-catalogue") == "not-in-the-catalogue"
    students = [Student("ann", "ok", mistakes={"03-adam_update-no-bias-correction": ["03d_adam_update_hidden"]}),
                Student("ben", "ok", mistakes={"03-adam_update-no-bias-correction": ["03d_adam_update_hidden"],
                                               "01-adagrad_update-eps-inside-sqrt": ["01d_adagrad_update_hidden"]}),
                Student("cat", "ok")]
    counts = mistake_counts(students)
    assert counts[0] == ("03-adam_update-no-bias-correction", "bias correction missing", ["ann", "ben"])
    assert counts[1][1:] == ("epsilon inside the square root", ["ben"])
