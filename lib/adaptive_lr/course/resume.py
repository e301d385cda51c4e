"""Resume a killed batch: one record file per graded student, keyed by what decides the grade.

A student's key is the sha256 of their submitted folder together with the
batch digest: the course's ``source/`` and release, ``grader_config.py``, the
parsed hidden checks, the assignment's cells in the gradebook and the grading
settings from the environment. An unchanged submission whose stored record has
the same key (and whose autograded notebook is still there) is not graded
again; change a hidden test, a timeout or the submission, and it is. Records
are written atomically (a temporary file, then a rename) after the student's
grades are in the gradebook, so a batch killed at any point (Ctrl-C or
SIGKILL) leaves only complete records.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .record import GradingRecord

STATE_DIR = ".adaptive-lr"


def digest(parts: dict) -> str:
    """sha256 over named byte strings, independent of dict order."""
    h = hashlib.sha256()
    for name in sorted(parts):
        data = parts[name]
        data = data.encode() if isinstance(data, str) else data
        h.update(name.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def key(submission_files: dict, batch_digest: str) -> str:
    return digest({"batch": batch_digest, **{f"submitted/{k}": v for k, v in submission_files.items()}})


class RecordStore:
    """``COURSE/.adaptive-lr/records/<student>.json``, one per graded student."""

    def __init__(self, course_root: Path):
        self.folder = Path(course_root) / STATE_DIR / "records"

    def path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def load(self, student: str) -> GradingRecord | None:
        try:
            return GradingRecord.from_json(self.path(student).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent, or from an older version: grade again

    def save(self, record: GradingRecord) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path(record.student).with_suffix(".tmp")
        tmp.write_text(record.to_json(), encoding="utf-8")
        os.replace(tmp, self.path(record.student))

    def done(self, student: str, key_: str, autograded: Path) -> GradingRecord | None:
        """The stored record when it is for this exact submission and configuration."""
        record = self.load(student)
        if record is None or record.key != key_:
            return None
        if record.graded and not autograded.is_file():
            return None
        return record
