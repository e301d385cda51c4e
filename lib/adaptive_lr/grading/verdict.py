"""The referee's verdict on one hidden test, as a typed record.

Every grading fact is a field here, written once by the referee
(:mod:`.referee`) and read from the field: the message is for the student,
the other fields are for the grader (the report's ``reason`` column, the
class statistics). Nothing reads a fact back out of ``message``.

This module imports only the standard library: the kernel side receives a
verdict over the wire (:meth:`Verdict.to_wire`, :meth:`Verdict.from_wire`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str
    mistakes: tuple[str, ...] = ()
    """Catalogue ids (``Mistake.key`` of :mod:`.mistakes`/:mod:`.conventions`) the results
    match on more than one case: the diagnosed mistakes."""
    guesses: tuple[str, ...] = ()
    """Catalogue ids that match, but on a single failing case only (the message says it is a guess)."""
    precision: str = ""
    """``"bfloat16"`` or ``"float16"`` when the results carry only that precision, else ``""``."""
    substituted: str = ""
    """The graded function called by this one (``newton_schulz`` for ``muon_update``) whose
    correct values replaced the student's because the student's fails its own test; else ``""``."""
    failed_cases: int = 0
    cases: int = 0

    def to_wire(self) -> dict:
        return {
            "passed": self.passed,
            "message": self.message,
            "mistakes": list(self.mistakes),
            "guesses": list(self.guesses),
            "precision": self.precision,
            "substituted": self.substituted,
            "failed_cases": self.failed_cases,
            "cases": self.cases,
        }

    @classmethod
    def from_wire(cls, tree: dict) -> "Verdict":
        return cls(
            passed=bool(tree["passed"]),
            message=str(tree["message"]),
            mistakes=tuple(str(k) for k in tree.get("mistakes", ())),
            guesses=tuple(str(k) for k in tree.get("guesses", ())),
            precision=str(tree.get("precision", "")),
            substituted=str(tree.get("substituted", "")),
            failed_cases=int(tree.get("failed_cases", 0)),
            cases=int(tree.get("cases", 0)),
        )


def to_metadata(verdicts: dict) -> dict:
    """grade_id -> Verdict as the JSON stored in ``nb.metadata["adaptive_lr"]["verdicts"]``
    (the message stays in the cell's output)."""
    return {gid: {k: v for k, v in verdict.to_wire().items() if k != "message"}
            for gid, verdict in verdicts.items()}


def from_metadata(metadata: dict) -> dict:
    """grade_id -> Verdict (message empty) from an autograded notebook's metadata; ``{}`` when the
    notebook has none (no hidden test was judged outside the kernel)."""
    stored = (metadata or {}).get("adaptive_lr", {}).get("verdicts", {}) or {}
    return {gid: Verdict.from_wire({"message": "", **tree}) for gid, tree in stored.items()}
