"""GradingRecord: status precedence, reasons, and the JSON round trip (no kernels, no nbgrader)."""

from __future__ import annotations

import dataclasses

import pytest

from adaptive_lr.course.record import (
    CellResult,
    GradingRecord,
    Recheck,
    Status,
    Timings,
    decide_status,
)


def _cells(lost=()):
    return tuple(
        CellResult(f"{e:02d}a_test", 0.0 if e in lost else 5.0, 5.0, e not in lost)
        for e in range(1, 11)
    )


def _graded(**kw):
    return GradingRecord("s", graded=True, cells=_cells(), **kw)


def test_clean_record_is_ok_without_reason():
    assert decide_status(_graded()) == (Status.OK, "")


def test_status_words_are_the_report_words():
    assert [s.value for s in Status] == [
        "ok", "timeout", "kernel died", "error in answer", "tampering detected",
        "invalid notebook", "wrong file name", "empty submission", "missing notebook", "not graded",
    ]
    assert str(Status.KERNEL_DIED) == "kernel died" and Status("timeout") is Status.TIMEOUT


def test_intake_refusal_wins_over_everything():
    r = GradingRecord("s", intake_status=Status.WRONG_FILE_NAME, intake_reason="Exercises.ipynb",
                      graded=False, tampering=("x",))
    assert decide_status(r) == (Status.WRONG_FILE_NAME, "Exercises.ipynb")


def test_not_graded_when_nbgrader_gave_no_grades():
    status, reason = decide_status(GradingRecord("s", not_graded_reason="see nbgrader.log"))
    assert status is Status.NOT_GRADED and reason == "see nbgrader.log"
    assert decide_status(GradingRecord("s"))[1], "not graded always has a reason"


def test_run_status_beats_tampering_and_errors_which_stay_in_the_reason():
    r = _graded(run_status=Status.KERNEL_DIED, run_reason="died in 05d_solution",
                tampering=("test cell 03 was deleted (restored)",),
                answer_errors=("04d_solution raised KeyError",))
    status, reason = decide_status(r)
    assert status is Status.KERNEL_DIED
    assert reason.startswith("died in 05d_solution")
    assert "tampering: test cell 03 was deleted" in reason and "KeyError" in reason


@pytest.mark.parametrize(
    "field, value, needle",
    [
        ("tampering", ("points of 01a changed",), "points of 01a changed"),
        ("oracle_calls", ("03d_adam_update_hidden",), "calls the reference implementation"),
        ("recheck", Recheck(True, ("03d",), ("03d",), ()), "re-run outside"),
        ("recheck", Recheck(True, ("03d",), (), ("03a",)), "03a"),
    ],
)
def test_each_tampering_producer_gives_tampering(field, value, needle):
    r = _graded(answer_errors=("05d_solution raised ValueError",), **{field: value})
    status, reason = decide_status(r)
    assert status is Status.TAMPERING and needle in reason
    assert "ValueError" in reason  # the lower-precedence finding is kept


def test_error_in_answer_beats_ok():
    r = _graded(answer_errors=("05d_solution raised SystemExit",))
    assert decide_status(r) == (Status.ERROR_IN_ANSWER, "05d_solution raised SystemExit")


def test_ok_student_who_lost_points_has_a_reason_with_cells_and_mistakes():
    cells = list(_cells(lost=(3,)))
    cells[2] = dataclasses.replace(cells[2], mistakes=("03-adam_update-no-bias-correction",))
    r = GradingRecord("s", graded=True, cells=tuple(cells))
    status, reason = decide_status(r)
    assert status is Status.OK
    assert "lost 5 of 50 points" in reason and "03a_test -5" in reason
    assert "no-bias-correction" in reason


def test_notes_truncation_and_unanswered():
    reason = decide_status(_graded(truncated_cells=(4, 7), unanswered=2))[1]
    assert "output of 2 cell(s) truncated" in reason and "2 answer cell(s) not answered" in reason


def test_scores_per_exercise():
    r = GradingRecord("s", graded=True, cells=_cells(lost=(2, 9)))
    assert (r.score(), r.max_score(), r.score(2), r.max_score(2)) == (40, 50, 0, 5)
    assert [c.grade_id for c in r.lost_cells()] == ["02a_test", "09a_test"]


def test_json_round_trip_keeps_types():
    r = _graded(
        sha256="ab" * 32, run_status=Status.TIMEOUT, tampering=("x",), truncated_cells=(3,),
        recheck=Recheck(True, ("a", "b"), ("a",), ()), timings=Timings(0.7, 5.1, 1.2, 7.4),
        key="k",
    )
    back = GradingRecord.from_json(r.to_json())
    assert back == r and back.run_status is Status.TIMEOUT and isinstance(back.cells[0], CellResult)

