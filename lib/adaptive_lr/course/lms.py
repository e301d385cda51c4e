"""Submissions downloaded from an LMS (Canvas): ``nbgrader zip_collect`` with two plugins.

Canvas's "Download Submissions" gives one zip archive whose files are named
``<name>_<user id>_<attachment id>_<file name>`` (``smithj_12345_67890_exercises.ipynb``),
with ``late_`` after the name when Canvas marked the submission late, and with
``-1``, ``-2`` ... before the extension when a student uploaded the file again
(``exercises-1.ipynb``). nbgrader's ``zip_collect`` extracts the archive and
asks a collector plugin, file by file, whose submission it is
(``grader_config.py`` configures both plugins):

* :class:`TimedExtractor` is nbgrader's extractor, and also records the time
  each file has in the archive (nbgrader's extraction loses it);
* :class:`CanvasCollector` reads the student and the notebook from the name,
  keeps each student's **latest attempt** (the latest archive time; without
  times, the highest attachment id, which Canvas allocates in increasing
  order) and hands nbgrader that attempt's time as the submission timestamp,
  which is what the late penalty (:mod:`.late`) is computed from.

Times: a zip entry stores a local date and time without a time zone; they
are read as UTC (Canvas's servers write UTC). A file with no time in the
archive (a 1980-01-01 placeholder, or a file placed in the archive folder by
hand) gets no timestamp: nbgrader then treats the submission as on time, and
:func:`collect_archive` says so for every such student, with Canvas's own
late mark when the name carries one.

Student ids: the name part of the file name (``smithj``); when two Canvas users
share it, ``<name>-<user id>``. The Canvas user id goes into the gradebook as
the student's ``lms_user_id`` (nbgrader's field), which ``adaptive-lr export``
writes into Canvas's ``ID`` column. A file whose name is not in Canvas's form
(a stray ``.DS_Store``, an instructor's note) is skipped and listed.

After ``zip_collect``, :func:`collect_archive` runs the project's intake
(:mod:`.intake`): a notebook handed in under another name, a broken file or a
submission that holds no notebook gets its status and reason as always.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin

from .pipeline import ASSIGNMENT

CANVAS_NAME = re.compile(
    r"^(?P<name>[^_/]+)_(?P<late>late_)?(?P<user_id>\d+)_(?P<attachment_id>\d+)_(?P<file_name>.+)$"
)
_ATTEMPT_SUFFIX = re.compile(r"-(\d+)(?=\.[^.]+$)")
TIMES_FILE = "archive_times.json"
SUMMARY_FILE = "canvas_collect.json"
_NO_TIME = (1980, 1, 1, 0, 0, 0)  # what zip writers store when a file has no time


@dataclass(frozen=True)
class CanvasFile:
    """One file of a Canvas download, read from its name."""

    path: str
    name: str
    user_id: str
    attachment_id: int
    file_name: str  # as uploaded, with Canvas's -N attempt suffix
    canvas_late: bool

    @property
    def file_id(self) -> str:
        """The file's name without Canvas's attempt suffix: ``exercises-1.ipynb`` -> ``exercises.ipynb``."""
        return _ATTEMPT_SUFFIX.sub("", self.file_name)


def parse_canvas_name(path) -> CanvasFile | None:
    """The Canvas fields of ``path``'s file name, or None when it is not a Canvas submission file."""
    match = CANVAS_NAME.match(os.path.basename(str(path)))
    if not match:
        return None
    g = match.groupdict()
    return CanvasFile(str(path), g["name"], g["user_id"], int(g["attachment_id"]), g["file_name"],
                      bool(g["late"]))


class TimedExtractor(ExtractorPlugin):
    """nbgrader's extractor; also writes each extracted file's archive time to ``archive_times.json``."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        super().extract(archive_path, extracted_path)
        times = {}
        for root, _, files in os.walk(archive_path):
            for name in files:
                stem, ext = os.path.splitext(name)
                if ext != ".zip":
                    continue
                into = Path(extracted_path) / os.path.relpath(root, archive_path) / stem
                try:
                    with zipfile.ZipFile(os.path.join(root, name)) as archive:
                        for info in archive.infolist():
                            if not info.is_dir() and tuple(info.date_time) != _NO_TIME:
                                y, mo, d, h, mi, s = info.date_time
                                times[str((into / info.filename).resolve())] = (
                                    f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d} UTC")
                except zipfile.BadZipFile:
                    self.log.warning("%s is not a zip archive; no submission times from it", name)
        Path(extracted_path).parent.joinpath(TIMES_FILE).write_text(json.dumps(times, indent=1))


@dataclass
class CollectedStudent:
    """What the archive held for one student."""

    student_id: str
    lms_user_id: str
    files: list = field(default_factory=list)  # kept files (their names in the archive)
    superseded: list = field(default_factory=list)  # earlier attempts, not graded
    timestamp: str | None = None
    canvas_late: bool = False


class CanvasCollector(FileNameCollectorPlugin):
    """Student and notebook from a Canvas file name; only each student's latest attempt is kept."""

    def _extracted_dir(self) -> Path:
        app = self.parent
        return Path(app._format_collect_path(app.extracted_directory))

    def _plan(self) -> dict:
        if getattr(self, "_decisions", None) is not None:
            return self._decisions
        extracted = self._extracted_dir()
        times_path = extracted.parent / TIMES_FILE
        times = json.loads(times_path.read_text()) if times_path.is_file() else {}
        files = sorted(str(Path(root, f).resolve()) for root, _, fs in os.walk(extracted) for f in fs)
        parsed = [p for p in map(parse_canvas_name, files) if p is not None]
        slugs: dict = {}
        for p in parsed:
            slugs.setdefault(p.name, set()).add(p.user_id)
        student_of = {p.user_id: (p.name if len(slugs[p.name]) == 1 else f"{p.name}-{p.user_id}") for p in parsed}
        latest: dict = {}
        for p in parsed:
            key = (p.user_id, p.file_id)
            order = (times.get(p.path) or "", p.attachment_id)
            if key not in latest or order > latest[key][0]:
                latest[key] = (order, p)
        decisions, students = {}, {}
        for p in parsed:
            sid = student_of[p.user_id]
            record = students.setdefault(sid, CollectedStudent(sid, p.user_id))
            kept = latest[(p.user_id, p.file_id)][1]
            record.canvas_late = record.canvas_late or (kept is p and p.canvas_late)
            if kept is not p:
                record.superseded.append(os.path.basename(p.path))
                decisions[p.path] = None
                continue
            record.files.append(os.path.basename(p.path))
            stamp = times.get(p.path)
            if stamp and (record.timestamp is None or stamp > record.timestamp):
                record.timestamp = stamp
            decisions[p.path] = {"student_id": sid, "file_id": p.file_id, "timestamp": stamp}
        skipped = [os.path.relpath(f, extracted) for f in files if parse_canvas_name(f) is None]
        summary = {"students": [asdict(s) for s in sorted(students.values(), key=lambda s: s.student_id)],
                   "skipped": skipped}
        (extracted.parent / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
        self._decisions = decisions
        return decisions

    def collect(self, submitted_file: str):
        decision = self._plan().get(str(Path(submitted_file).resolve()))
        if decision is None:
            if parse_canvas_name(submitted_file) is None:
                self.log.warning("Not a Canvas submission file name, skipped: %s", submitted_file)
            else:
                self.log.info("An earlier attempt, superseded by a later one: %s", submitted_file)
            return None
        out = {"student_id": decision["student_id"], "file_id": decision["file_id"]}
        if decision["timestamp"]:
            out["timestamp"] = decision["timestamp"]
        return out


@dataclass
class ArchiveIntake:
    """The result of :func:`collect_archive`: what Canvas delivered and what intake found."""

    students: list  # CollectedStudent
    skipped: list  # files in the archive that are no Canvas submission
    intakes: list  # adaptive_lr.course.intake.Intake, one per student folder

    def lines(self) -> list[str]:
        by_id = {s.student_id: s for s in self.students}
        out = []
        for i in self.intakes:
            s = by_id.get(i.student)
            notes = []
            if s is not None:
                if s.superseded:
                    notes.append(f"latest attempt kept; earlier: {', '.join(s.superseded)}")
                if s.timestamp is None:
                    notes.append("no submission time in the archive: treated as on time"
                                 + (" (Canvas marked it late: check by hand)" if s.canvas_late else ""))
            text = f"{i.student}: {i.status}" + (f": {i.reason}" if i.reason else "")
            out.append(text + (f" ({'; '.join(notes)})" if notes else ""))
        out += [f"skipped (not a Canvas submission file): {name}" for name in self.skipped]
        return out


def collect_archive(course, archive) -> ArchiveIntake:
    """Put a Canvas archive into ``downloaded/``, ``nbgrader zip_collect`` it, record the
    Canvas ids in the gradebook and run the intake on ``submitted/``."""
    from nbgrader.api import Gradebook

    from .intake import inspect_course

    folder = course.root / "downloaded" / ASSIGNMENT / "archive"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy2(archive, folder / Path(archive).name)
    course.nbgrader("zip_collect", "--force", ASSIGNMENT)
    summary = json.loads((folder.parent / SUMMARY_FILE).read_text())
    students = [CollectedStudent(**s) for s in summary["students"]]
    # nbgrader creates a missing gradebook with `alembic` from PATH: let its own process do it.
    course.nbgrader("db", "student", "list")
    with Gradebook(course.db_url) as gb:
        for s in students:
            gb.update_or_create_student(s.student_id, lms_user_id=s.lms_user_id)
    return ArchiveIntake(students, summary["skipped"], inspect_course(course.root, ASSIGNMENT))
