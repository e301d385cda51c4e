"""The producers of a :class:`~.record.GradingRecord`: each reads what one stage wrote, as data.

* intake (:mod:`.intake`): its status and reason;
* restore (:mod:`.restore`): ``metadata["adaptive_lr"]["tampering"]`` and ``["notes"]``;
* the executor (:mod:`.execute`): ``metadata["adaptive_lr"]["execution"]``, the run's
  status, the truncated cells, the timings, and the re-check's outcome and
  grader-side verdicts;
* the answer cells: the error *type* each raised (``ename``), not its message;
* the test cells: an :class:`~adaptive_lr.grading.guard.OracleCallError` failure
  is a call to the reference implementation;
* the gradebook (:func:`.transfer.read_submission`): points per test cell.

The autograded notebook's metadata is written by the grader's processes
(restore, the executor), never by the student's kernel; a per-cell message and
the catalogued mistakes come from the re-check's verdicts, computed outside
the kernel.
"""

from __future__ import annotations

from .record import CellResult, GradingRecord, Recheck, Status, Timings

ORACLE_ERROR = "OracleCallError"  # adaptive_lr.grading.guard.OracleCallError.__name__
NOT_IMPLEMENTED = "NotImplementedError"  # the release's placeholder in an untouched answer
NOT_RUN = "NotRun"  # the executor's mark on cells after a dead kernel


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _first_error(cell) -> dict | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out
    return None


def intake_fields(intake) -> dict:
    return {"intake_status": Status(intake.status), "intake_reason": intake.reason}


def restore_fields(nb) -> dict:
    meta = nb.metadata.get("adaptive_lr", {})
    return {
        "tampering": tuple(meta.get("tampering") or ()),
        "notes": tuple(meta.get("notes") or ()),
    }


def execution_fields(nb) -> dict:
    ex = nb.metadata.get("adaptive_lr", {}).get("execution", {})
    t = ex.get("timings", {})
    rc = ex.get("recheck", {})
    return {
        "run_status": Status(ex.get("status", "ok")),
        "run_reason": ex.get("reason", ""),
        "run_cell": ex.get("cell", ""),
        "truncated_cells": tuple(ex.get("truncated_cells") or ()),
        "recheck": Recheck(
            bool(rc.get("ran")),
            tuple(rc.get("checked", ())),
            tuple(rc.get("failed", ())),
            tuple(rc.get("untrusted", ())),
        ),
        "timings": Timings(
            float(t.get("kernel_start", 0.0)),
            float(t.get("execution", 0.0)),
            float(t.get("recheck", 0.0)),
            float(ex.get("seconds", 0.0)),
        ),
    }


def answer_fields(nb) -> dict:
    """Errors raised in the student's answer cells, and how many were left unanswered."""
    errors, unanswered = [], 0
    for cell in nb.cells:
        md = _nbgrader(cell)
        if cell.cell_type != "code" or not md.get("solution"):
            continue
        err = _first_error(cell)
        if err is None or err.get("ename") == NOT_RUN:
            continue
        if err.get("ename") == NOT_IMPLEMENTED:
            unanswered += 1
        else:
            errors.append(f"{md.get('grade_id')} raised {err.get('ename')}")
    return {"answer_errors": tuple(errors), "unanswered": unanswered}


def oracle_fields(nb) -> dict:
    calls = []
    for cell in nb.cells:
        md = _nbgrader(cell)
        err = _first_error(cell)
        if cell.cell_type == "code" and md.get("grade") and err and err.get("ename") == ORACLE_ERROR:
            calls.append(md.get("grade_id", ""))
    return {"oracle_calls": tuple(calls)}


def _mistake_keys(verdict: dict) -> tuple[str, ...]:
    keys = []
    for m in verdict.get("mistakes") or ():
        key = m.get("key") if isinstance(m, dict) else m
        if isinstance(key, str) and key not in keys:
            keys.append(key)
    return tuple(keys)


def cell_fields(nb, grades: dict, notebook: str) -> dict:
    """One :class:`CellResult` per autograded test cell, in notebook order."""
    verdicts = nb.metadata.get("adaptive_lr", {}).get("execution", {}).get("recheck", {}).get(
        "verdicts", {}
    )
    scored = grades["notebooks"][notebook]["grades"]
    order = [_nbgrader(c).get("grade_id") for c in nb.cells]
    cells_by_id = {_nbgrader(c).get("grade_id"): c for c in nb.cells}
    out = []
    for gid in sorted(scored, key=lambda g: order.index(g) if g in order else len(order)):
        g = scored[gid]
        if g["cell_type"] != "code":
            continue  # written answers are graded by hand
        points = float(g["auto_score"] or 0.0)
        passed = points >= g["max_score"] - 1e-9
        verdict = verdicts.get(gid)
        message, mistakes, source = "", (), ""
        if verdict is not None:
            message, mistakes, source = verdict.get("message", ""), _mistake_keys(verdict), "recheck"
        elif not passed and gid in cells_by_id:
            err = _first_error(cells_by_id[gid])
            if err is not None:
                message = f"{err.get('ename')}: {err.get('evalue', '')}"[:500]
                source = "notebook"
        out.append(CellResult(gid, points, float(g["max_score"]), passed, message, mistakes, source))
    return {"cells": tuple(out)}


def graded_record(student: str, nb, grades: dict, notebook: str, **extra) -> GradingRecord:
    """The record of a notebook nbgrader graded: every producer above, together."""
    fields = {}
    for produce in (restore_fields, execution_fields, answer_fields, oracle_fields):
        fields.update(produce(nb))
    fields.update(cell_fields(nb, grades, notebook))
    return GradingRecord(student, graded=True, **fields, **extra)
