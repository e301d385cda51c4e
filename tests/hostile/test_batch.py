"""The hostile batch: every hostile and broken submission graded in ONE batch beside a correct one.

Checks scores, statuses, reasons and file checksums, not only that the
command exits 0; then grades the same batch again and expects the same
report, with ``submitted/`` byte-identical throughout, and generates the
feedback. The probes (adaptive_lr.course.probes) run with secrets in the
grader's environment and host listeners open throughout: what they printed
is checked, and that no secret is in any file under the course and no
listener heard from a kernel (the grading kernels' or the re-check's).
"""

from __future__ import annotations

import csv
import hashlib
import os
import pwd

import nbformat
import pytest

from adaptive_lr.course import batch
from adaptive_lr.course import submissions as subs
from adaptive_lr.course.hostile import BROKEN, EXERCISE, HOSTILE, forging_submission, submit_hostile
from adaptive_lr.course.pipeline import Course, repo_root
from adaptive_lr.course.probes import PROBES, PRINTS_ENVIRONMENT, HostServices, probe_lines
from adaptive_lr.sandbox.users import _live_pids_of

from ..sandbox.probe_checks import SECRETS, check
from ..sandbox.test_network import ODD_FOLDER

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

CELL_TIMEOUT = "8"
ROOT = os.geteuid() == 0
USER = f"adaptive-lr-grader-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-hostile"
# In the grader's environment while it grades (the gradebook URL is the course's own setting).
GRADER_SECRETS = {k: v for k, v in SECRETS.items() if k != "ADAPTIVE_LR_GRADEBOOK_URL"}


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    names = ("ADAPTIVE_LR_CELL_TIMEOUT", "ADAPTIVE_LR_SANDBOX_USER", *GRADER_SECRETS)
    saved = {k: os.environ.get(k) for k in names}
    os.environ["ADAPTIVE_LR_CELL_TIMEOUT"] = CELL_TIMEOUT
    os.environ["ADAPTIVE_LR_SANDBOX_USER"] = USER
    os.environ.update(GRADER_SECRETS)
    services = HostServices(odd_folder=ODD_FOLDER).__enter__()
    try:
        course = Course(tmp_path_factory.mktemp("hostile") / "course", repo_root()).create()
        course.generate_release()
        solved = subs.solution(
            subs.read(course.source_notebook), subs.read(course.release_notebook)
        )
        course.submit("solution", solved)
        course.submit("cheat-calls-oracle", subs.with_cheat(solved, subs.CHEATS[0]))
        course.submit("blank", subs.blank(subs.read(course.release_notebook)))
        course.submit(
            "cheat-forges-results", forging_submission(subs.read(course.release_notebook))
        )
        expected = submit_hostile(
            course, solved, other_student="solution", targets=services.targets()
        )
        guarded = {
            "source": course.source_notebook,
            "other student": course.submitted_notebook("solution"),
        }
        before = {name: _sha(p) for name, p in guarded.items()}
        submitted_before = batch.checksums(course.root / "submitted")
        first = {r.student: r for r in batch.grade(course, say=lambda *_: None)}
        report = list(csv.DictReader(open(course.root / batch.REPORT_NAME)))
        second = {r.student: r for r in batch.grade(course, say=lambda *_: None)}
        course.generate_feedback()
        reached = services.reached()
        services.ping()
        yield {
            "reached": reached,
            "pinged": services.reached(),
            "sockets": list(services.unix_paths),
            "course": course,
            "expected": expected,
            "first": first,
            "second": second,
            "report": report,
            "guarded": guarded,
            "before": before,
            "submitted_before": submitted_before,
        }
    finally:
        services.__exit__(None, None, None)
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_correct_submission_gets_full_marks(graded):
    row = graded["first"]["solution"]
    assert (row.status, row.auto, row.auto_max) == ("ok", 50, 50), row


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.slug for h in HOSTILE])
def test_hostile_submission_gets_its_status_and_the_points_of_what_completed(graded, hostile):
    row = graded["first"][f"hostile-{hostile.slug}"]
    assert row.status == hostile.status, (row.status, row.reason)
    for e in range(1, EXERCISE):
        assert row.scores[e] == 5, (
            f"exercise {e} ran before the hostile code and must keep its points"
        )
    assert row.scores[EXERCISE] < 5 or hostile.status == "ok"
    later = [row.scores[e] for e in range(EXERCISE + 1, 11)]
    if hostile.keeps_later_exercises:
        assert later == [5] * len(later), f"the kernel survived: exercises 6-10 score ({later})"
    else:
        assert later == [0] * len(later), f"nothing ran after the kernel stopped ({later})"
    if hostile.status != "ok":
        assert row.reason, "every non-ok status carries a reason"


@pytest.mark.parametrize("broken", BROKEN, ids=[b.slug for b in BROKEN])
def test_broken_file_gets_zero_and_a_reason(graded, broken):
    row = graded["first"][f"broken-{broken.slug}"]
    assert row.status == broken.status and row.auto == 0 and row.reason, row


def test_calling_the_oracle_is_reported_as_tampering(graded):
    row = graded["first"]["cheat-calls-oracle"]
    assert row.status == "tampering detected" and "calls the reference implementation" in row.reason
    assert row.scores[3] < 5 and row.auto < 50


def test_forged_test_results_are_caught_by_the_recheck(graded):
    # A blank notebook that makes every test cell "pass" in its kernel.
    row = graded["first"]["cheat-forges-results"]
    assert row.auto == 0, f"forged results scored {row.auto}"
    assert row.status == "tampering detected" and "re-run outside" in row.reason, row


def test_blank_release_is_ok_with_zero_and_says_unanswered(graded):
    row = graded["first"]["blank"]
    assert (row.status, row.auto) == ("ok", 0) and "not answered" in row.reason, row


def test_timeout_reasons_name_the_cell(graded):
    for slug in ("infinite-loop", "stubborn-loop"):
        assert "05d_solution" in graded["first"][f"hostile-{slug}"].reason


def test_kernel_death_reason_names_the_cell(graded):
    for slug in ("os-exit", "kill-9"):
        row = graded["first"][f"hostile-{slug}"]
        assert "kernel died" in row.reason and "05d_solution" in row.reason, row.reason


def test_errors_in_answers_are_named(graded):
    names = {
        "sys-exit": "SystemExit",
        "raise-systemexit": "SystemExit",
        "memory-bomb": "MemoryError",
        "fork-bomb": "BlockingIOError",
    }
    for slug, ename in names.items():
        assert f"05d_solution raised {ename}" in graded["first"][f"hostile-{slug}"].reason


def test_huge_output_is_truncated_not_stored(graded):
    row = graded["first"]["hostile-huge-output"]
    assert "truncated" in row.reason
    path = graded["course"].autograded_notebook("hostile-huge-output")
    assert path.stat().st_size < 3 * 2**20, f"{path.stat().st_size} bytes stored"
    nb = nbformat.read(path, as_version=4)
    assert any(
        "[output truncated by the grader" in o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def test_nothing_outside_the_students_copy_changed(graded):
    for name, path in graded["guarded"].items():
        assert _sha(path) == graded["before"][name], f"the {name} changed during grading"
    assert not (graded["course"].root / "planted.txt").exists()
    # The gradebook changes (grades are written) but never by a submission.
    gradebook = graded["course"].root / "gradebook.db"
    assert b"tampered" not in gradebook.read_bytes()
    import sqlite3

    with sqlite3.connect(gradebook) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)


def test_submitted_files_are_byte_identical_after_two_runs(graded):
    assert batch.checksums(graded["course"].root / "submitted") == graded["submitted_before"]


def test_second_run_gives_the_same_report(graded):
    first, second = graded["first"], graded["second"]
    assert sorted(first) == sorted(second)
    for student in first:
        a, b = first[student], second[student]
        assert (a.status, a.scores, a.auto) == (b.status, b.scores, b.auto), student


def test_csv_report_has_every_student_and_a_status(graded):
    report = {r["student"]: r for r in graded["report"]}
    assert set(report) == set(graded["first"])
    assert report["solution"]["auto"] == "50" and report["solution"]["status"] == "ok"
    assert report["cheat-calls-oracle"]["status"] == "tampering detected"
    for student, status in graded["expected"].items():
        assert report[student]["status"] == status, student


@pytest.mark.skipif(not ROOT, reason="the dedicated grading user exists only when grading as root")
def test_no_process_of_the_grading_user_survives(graded):
    assert not _live_pids_of(pwd.getpwnam(USER).pw_uid)


def _probe_output(graded, slug) -> list[str]:
    path = graded["course"].autograded_notebook(f"hostile-{slug}")
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == subs.solution_cell_id(EXERCISE))
    return probe_lines("".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout"))


@pytest.mark.parametrize("probe", PROBES, ids=[p.slug for p in PROBES])
def test_probe_sees_only_what_the_sandbox_allows(graded, probe):
    if not ROOT and probe is not PRINTS_ENVIRONMENT:
        pytest.skip("the network and socket isolation needs root")
    check(probe.slug, _probe_output(graded, probe.slug), graded["sockets"])


def test_no_secret_in_any_file_under_the_course(graded):
    root = graded["course"].root
    feedback = graded["course"].feedback_html(f"hostile-{PRINTS_ENVIRONMENT.slug}")
    assert "probe env HOME=" in feedback.read_text(), "the feedback shows the probe's printout"
    assert (root / batch.REPORT_NAME).is_file() and (root / "gradebook.db").is_file()
    leaks = [
        (str(path.relative_to(root)), name)
        for path in root.rglob("*")
        if path.is_file()
        for name, value in GRADER_SECRETS.items()
        if value.encode() in path.read_bytes()
    ]
    assert not leaks, f"a grader's secret is in {leaks}"


@pytest.mark.skipif(not ROOT, reason="the network and socket isolation needs root")
def test_no_listener_heard_from_a_grading_or_recheck_kernel(graded):
    assert graded["reached"] == {}, f"a kernel reached {sorted(graded['reached'])}"
    assert len(graded["pinged"]) == 1 + len(graded["sockets"]), "every listener was listening"
