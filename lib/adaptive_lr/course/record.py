"""One submission -> one :class:`GradingRecord`: every grading fact as a typed field.

Each stage of the batch writes its own fields as data (intake, restore, the
executor, the re-check, the gradebook); :func:`decide_status` is the one place
that turns them into a status and a reason; the CSV, the printed table and the
gradebook summary (:mod:`.report`) are rendered from records only. Nothing
here is read back out of a rendered message.

A record round-trips through JSON (:meth:`GradingRecord.to_json` /
:meth:`GradingRecord.from_json`): the batch keeps one per student so that a
killed batch resumes where it stopped (:mod:`.resume`).
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field


class Status(str, enum.Enum):
    """What happened to one submission; the value is the word in the report."""

    OK = "ok"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel died"
    ERROR_IN_ANSWER = "error in answer"
    TAMPERING = "tampering detected"
    INVALID_NOTEBOOK = "invalid notebook"
    WRONG_FILE_NAME = "wrong file name"
    EMPTY_SUBMISSION = "empty submission"
    MISSING_NOTEBOOK = "missing notebook"
    NOT_GRADED = "not graded"

    def __str__(self) -> str:
        return self.value


# Intake's verdicts (adaptive_lr.course.intake) that keep a notebook out of the batch.
INTAKE_STATUSES = (
    Status.INVALID_NOTEBOOK,
    Status.WRONG_FILE_NAME,
    Status.EMPTY_SUBMISSION,
    Status.MISSING_NOTEBOOK,
)
# The executor's verdicts on the run as a whole (adaptive_lr.course.execute).
RUN_STATUSES = (Status.OK, Status.TIMEOUT, Status.KERNEL_DIED)


@dataclass(frozen=True)
class CellResult:
    """One graded test cell: nbgrader's points, and the grader-side verdict when there is one.

    ``message`` and ``mistakes`` come from a verdict computed outside the
    student's kernel (the re-check), or, for a visible test, the name of the
    error the cell raised; ``source`` says which (``"recheck"``, ``"notebook"``
    or ``""`` when the cell passed without a verdict).
    """

    grade_id: str
    points: float
    max_points: float
    passed: bool
    message: str = ""
    mistakes: tuple[str, ...] = ()
    source: str = ""

    @property
    def exercise(self) -> int:
        return int(self.grade_id[:2])

    @property
    def lost(self) -> float:
        return self.max_points - self.points


@dataclass(frozen=True)
class Recheck:
    """The re-check outside the student's kernel (adaptive_lr.course.verify)."""

    ran: bool = False
    checked: tuple[str, ...] = ()  # grade ids re-run
    failed: tuple[str, ...] = ()  # passed in the notebook, failed outside it: 0 points there
    untrusted: tuple[str, ...] = ()  # visible tests of those exercises, failed as well


@dataclass(frozen=True)
class Timings:
    """Seconds spent in each stage of one submission (0.0 when the stage did not run)."""

    kernel_start: float = 0.0
    execution: float = 0.0
    recheck: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class GradingRecord:
    student: str
    sha256: str = ""  # of the submitted notebook file
    intake_status: Status = Status.OK
    intake_reason: str = ""
    graded: bool = False  # nbgrader produced an autograded notebook and grades
    not_graded_reason: str = ""
    run_status: Status = Status.OK  # the executor's verdict on the run
    run_reason: str = ""
    run_cell: str = ""
    truncated_cells: tuple[int, ...] = ()
    tampering: tuple[str, ...] = ()  # restore's findings about tests and metadata
    notes: tuple[str, ...] = ()  # restore's harmless findings (cells added, ...)
    answer_errors: tuple[str, ...] = ()  # "05d_solution raised SystemExit"
    unanswered: int = 0  # answer cells left with the release's NotImplementedError
    oracle_calls: tuple[str, ...] = ()  # grade ids whose verdict saw the reference called
    recheck: Recheck = field(default_factory=Recheck)
    cells: tuple[CellResult, ...] = ()
    timings: Timings = field(default_factory=Timings)
    key: str = ""  # checksum of submission, source/ and configuration (adaptive_lr.course.resume)

    # -- scores ----------------------------------------------------------------------
    def score(self, exercise: int | None = None) -> float:
        return sum(c.points for c in self.cells if exercise is None or c.exercise == exercise)

    def max_score(self, exercise: int | None = None) -> float:
        return sum(c.max_points for c in self.cells if exercise is None or c.exercise == exercise)

    @property
    def scores(self) -> dict:
        """exercise -> autograded points (the report's columns)."""
        return {e: self.score(e) for e in range(1, 11)}

    @property
    def auto(self) -> float:
        return self.score()

    @property
    def auto_max(self) -> float:
        return self.max_score()

    def lost_cells(self) -> list[CellResult]:
        return [c for c in self.cells if c.lost > 1e-9]

    # -- status ----------------------------------------------------------------------
    @property
    def status(self) -> Status:
        return decide_status(self)[0]

    @property
    def reason(self) -> str:
        return decide_status(self)[1]

    # -- JSON ------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GradingRecord":
        d = json.loads(text)
        d["intake_status"] = Status(d["intake_status"])
        d["run_status"] = Status(d["run_status"])
        d["recheck"] = Recheck(**{k: tuple(v) for k, v in d["recheck"].items() if k != "ran"},
                               ran=d["recheck"]["ran"])
        d["timings"] = Timings(**d["timings"])
        d["cells"] = tuple(
            CellResult(**{**c, "mistakes": tuple(c["mistakes"])}) for c in d["cells"]
        )
        for name in ("truncated_cells", "tampering", "notes", "answer_errors", "oracle_calls"):
            d[name] = tuple(d[name])
        return cls(**d)


def _tampering_findings(r: GradingRecord) -> list[str]:
    found = list(r.tampering)
    if r.oracle_calls:
        found.append(
            f"calls the reference implementation ({', '.join(r.oracle_calls)}: 0 points there)"
        )
    forged = [*r.recheck.failed, *r.recheck.untrusted]
    if forged:
        found.append(
            "hidden tests passed in the notebook but failed when re-run outside it "
            f"({', '.join(forged)}): 0 points there"
        )
    return found


def _lost_points(r: GradingRecord) -> str:
    lost = r.lost_cells()
    if not lost:
        return ""
    total = sum(c.lost for c in lost)
    if len(lost) > 8:  # a blank or broken notebook: by exercise, not 36 cells
        by_ex: dict = {}
        for c in lost:
            by_ex[c.exercise] = by_ex.get(c.exercise, 0.0) + c.lost
        shown = ", ".join(f"exercise {e} -{v:g}" for e, v in sorted(by_ex.items()))
        return f"lost {total:g} of {r.max_score():g} points in {len(lost)} test cells: {shown}"
    parts = []
    for c in lost:
        part = f"{c.grade_id} -{c.lost:g}"
        if c.mistakes:
            part += f" (likely: {', '.join(c.mistakes)})"
        parts.append(part)
    return f"lost {total:g} of {r.max_score():g} points: {', '.join(parts)}"


def decide_status(r: GradingRecord) -> tuple[Status, str]:
    """The status of a record and its reason; the one place that decides precedence.

    Precedence, first match wins:

    1. intake refused the file (invalid notebook, wrong file name, empty
       submission, missing notebook): it was never run;
    2. not graded: nbgrader produced no grades (a grader failure, not the
       student's);
    3. the run itself: timeout, kernel died;
    4. tampering detected: restore's findings, a call to the reference
       implementation, or a failed re-check;
    5. error in answer: an answer cell raised;
    6. ok.

    Every finding that does not decide the status is still in the reason, as
    are the points lost and the catalogued mistakes matched, so that every
    student who lost points or is not ok has a reason.
    """
    tampering = _tampering_findings(r)
    if r.intake_status != Status.OK:
        return r.intake_status, r.intake_reason
    if not r.graded:
        return Status.NOT_GRADED, r.not_graded_reason or "no grades in the gradebook"
    if r.run_status != Status.OK:
        status, reason = r.run_status, r.run_reason
    elif tampering:
        status, reason = Status.TAMPERING, "; ".join(tampering)
    elif r.answer_errors:
        status, reason = Status.ERROR_IN_ANSWER, "; ".join(r.answer_errors)
    else:
        status, reason = Status.OK, ""
    notes = []
    if r.truncated_cells:
        notes.append(f"output of {len(r.truncated_cells)} cell(s) truncated")
    if r.unanswered:
        notes.append(f"{r.unanswered} answer cell(s) not answered")
    if tampering and status != Status.TAMPERING:
        notes.append("tampering: " + "; ".join(tampering))
    if r.answer_errors and status != Status.ERROR_IN_ANSWER:
        notes.append("; ".join(r.answer_errors))
    notes.append(_lost_points(r))
    return status, "; ".join(x for x in [reason, *notes] if x)
