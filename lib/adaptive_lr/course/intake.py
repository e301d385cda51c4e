"""Classify each student's folder in ``submitted/`` before grading, without changing it.

nbgrader grades ``submitted/<student>/<assignment>/<notebook>.ipynb`` and
nothing else. When that file is missing, misnamed or broken, nbgrader either
skips the student with a warning deep in its log, gives 0 without a reason, or
fails the student with a traceback. Intake looks at every folder first and
says, in one line the instructor can paste to the student, what is wrong:

``ok``                 the notebook is where nbgrader looks and is a valid nbformat 4 notebook
``empty submission``   the student's folder (or its assignment folder) holds no files
``missing notebook``   files were handed in, but nothing that looks like the notebook
``wrong file name``    a file that looks like the notebook, under another name or in another
                       folder (``Exercises.ipynb``, ``exercises (1).ipynb``,
                       ``exercises.ipynb.txt``); the reason names the file and the expected name
``invalid notebook``   the file is there but is not a gradable notebook: not JSON, not text,
                       not a notebook, an old nbformat (3 or below), no cells, fails
                       nbformat's validation, too large, a symbolic link or not a regular file

Intake only reads. It never writes, renames or upgrades anything under
``submitted/`` (that folder must stay byte-identical across grading runs), it
does not follow symbolic links (a link could point at another student's
notebook or at a file outside the course), it never opens anything but a
regular file (a FIFO would block the reader forever), and it refuses files
above :data:`MAX_NOTEBOOK_BYTES` from their size alone, without reading them.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

ASSIGNMENT = "adaptive_lr"
NOTEBOOK = "exercises"

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
"""A notebook larger than this is refused unread (the release is about 0.2 MB; 50 MB means
huge outputs or an embedded data file, which the grader should not parse)."""

OK = "ok"
EMPTY = "empty submission"
MISSING = "missing notebook"
WRONG_NAME = "wrong file name"
INVALID = "invalid notebook"
STATUSES = (OK, EMPTY, MISSING, WRONG_NAME, INVALID)

# nbgrader writes timestamp.txt into every collected submission; it is not the student's work.
_NOT_WORK = {"timestamp.txt"}
# How far, and through how many entries, to look for a misplaced notebook: a student folder is
# small; a hostile one with millions of files must not stall the intake.
_MAX_DEPTH = 4
_MAX_ENTRIES = 5000
_RESAVE = "open it in JupyterLab, save it (File > Save Notebook) and submit it again"

# Magic numbers of files students hand in by mistake instead of the notebook.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or a Word/Excel file)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file"),
    (b"\x7fELF", "a Linux executable"),
    (b"\xff\xfe", "a text file encoded as UTF-16"),
    (b"\xfe\xff", "a text file encoded as UTF-16"),
)


@dataclass(frozen=True)
class Intake:
    """What intake found in one student's folder.

    ``notebook`` is the file the status is about: the expected notebook when ``ok`` or
    ``invalid notebook``, the file found under the wrong name or place for ``wrong file
    name``, ``None`` when there is no such file. Only ``ok`` submissions are gradable.
    """

    student: str
    status: str
    reason: str
    notebook: Path | None

    @property
    def ok(self) -> bool:
        return self.status == OK


def inspect_course(course_root: Path, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK) -> list[Intake]:
    """One :class:`Intake` per student folder in ``course_root/submitted``, sorted by student.

    Hidden entries (``.ipynb_checkpoints``, ``.DS_Store``) and stray files directly in
    ``submitted/`` are not students and are skipped. A missing ``submitted/`` gives ``[]``.
    """
    submitted = Path(course_root) / "submitted"
    try:
        entries = sorted(os.scandir(submitted), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    out = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or entry.is_dir(follow_symlinks=False):
            out.append(inspect_submission(Path(entry.path), assignment, notebook))
    return sorted(out, key=lambda i: i.student)


def inspect_submission(student_dir: Path, assignment: str = ASSIGNMENT, notebook: str = NOTEBOOK,
                       *, max_bytes: int = MAX_NOTEBOOK_BYTES) -> Intake:
    """Classify ``student_dir`` (``submitted/<student>``); reads the notebook, writes nothing."""
    student_dir = Path(student_dir)
    student = student_dir.name
    expected_name = f"{notebook}.ipynb"
    expected_rel = f"{assignment}/{expected_name}"
    assignment_dir = student_dir / assignment
    target = assignment_dir / expected_name

    def result(status, reason="", path=None):
        return Intake(student, status, reason, path)

    # A link anywhere on the path could lead outside the student's folder: refuse, do not follow.
    for path, what in ((student_dir, "the student's folder"), (assignment_dir, f"the folder {assignment}/"),
                       (target, expected_rel)):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            break
        except OSError as exc:
            return result(INVALID, f"{what} cannot be read: {exc.strerror or exc}", None)
        if stat.S_ISLNK(st.st_mode):
            return result(INVALID, f"{what} is a symbolic link (to {os.readlink(path)}), not the "
                          "submitted file itself; submit the notebook file", None)

    if not student_dir.is_dir():
        return result(MISSING, f"{student_dir} is not a folder", None)

    if target.exists():
        return _inspect_notebook(student, target, expected_rel, max_bytes)

    files, truncated = _walk(student_dir)  # paths relative to the student's folder
    work = [f for f in files if not _hidden(f) and f.name not in _NOT_WORK]
    candidate = _best_candidate(files, expected_name, notebook)
    if candidate is not None:
        found = candidate.as_posix()
        others = sum(1 for f in files if _rank(f, expected_name, notebook) is not None) - 1
        more = f" (and {others} other look-alike file{'s' if others > 1 else ''})" if others > 0 else ""
        if candidate.name == expected_name:
            how = f"move it to {expected_rel}"
        elif candidate.parent == Path(assignment):
            how = f"rename it to {expected_name}"
        else:
            how = f"rename or move it to {expected_rel}"
        return result(WRONG_NAME, f"found {found}{more} but expected {expected_rel}: {how} and submit again",
                      student_dir / candidate)

    checkpoint = next((f for f in files if f.name == f"{notebook}-checkpoint.ipynb"), None)
    if not work:
        where = f"{student}/{assignment}/" if assignment_dir.is_dir() else f"{student}/"
        if checkpoint is not None:
            return result(MISSING, f"{expected_rel} is missing; the folder holds only JupyterLab's "
                          f"autosave copy {checkpoint.as_posix()}, which is not "
                          "graded: submit the notebook itself", None)
        hidden = [f.as_posix() for f in files]
        extra = f" (only {', '.join(hidden[:3])})" if hidden else ""
        return result(EMPTY, f"the folder {where} is empty{extra}: nothing was handed in", None)

    names = [f.as_posix() for f in work]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    if truncated:
        shown += ", ... (too many files to list)"
    return result(MISSING, f"{expected_rel} is missing; the submission holds {shown}: "
                  f"submit the notebook {expected_name} itself (not an export or a copy)", None)


# -- the notebook itself ------------------------------------------------------------------


def _inspect_notebook(student: str, path: Path, name: str, max_bytes: int) -> Intake:
    """Check the file at the expected place: size, encoding, JSON, nbformat version, cells, schema."""

    def invalid(reason):
        return Intake(student, INVALID, reason, path)

    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        return invalid(f"{name} is a folder, not a notebook file")
    if not stat.S_ISREG(st.st_mode):
        return invalid(f"{name} is not a regular file (a device, socket or pipe); submit the notebook file")
    if st.st_size > max_bytes:
        return invalid(f"{name} is {_mb(st.st_size)}, more than the {_mb(max_bytes)} limit; clear the "
                       "outputs (Edit > Clear Outputs of All Cells), save and submit again")
    if st.st_size == 0:
        return invalid(f"{name} is empty (0 bytes); {_RESAVE}")
    try:
        # O_NOFOLLOW and O_NONBLOCK: the file was checked above, but it may be swapped for a link
        # or a FIFO in between; then the open fails instead of following or blocking.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(max_bytes + 1)  # bounded even if the file grew since the stat
    except OSError as exc:
        return invalid(f"{name} cannot be read: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return invalid(f"{name} is more than the {_mb(max_bytes)} limit; clear the outputs and submit again")

    if data.startswith(b"\xef\xbb\xbf"):
        return invalid(f"{name} starts with a byte-order mark (it was saved by a text editor, "
                       f"not by Jupyter); {_RESAVE}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        kind = next((what for magic, what in _MAGIC if data.startswith(magic)), None)
        what = f"it looks like {kind}" if kind else "it is binary data"
        return invalid(f"{name} is not a text notebook: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                       f"is not UTF-8 ({what}); submit the .ipynb file saved by JupyterLab")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if text.lstrip()[:1] == "<":
            hint = " (it looks like an HTML page: an export or a download page, not the notebook)"
        elif exc.pos >= len(text.rstrip()) or (text.lstrip()[:1] == "{" and not text.rstrip().endswith("}")):
            hint = " (the file ends early: it may have been cut off while saving or uploading)"
        return invalid(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}{hint}; "
                       f"{_RESAVE}")
    except RecursionError:
        return invalid(f"{name} is JSON nested too deeply to be a notebook")

    reason = _notebook_problem(doc, name)
    return Intake(student, INVALID, reason, path) if reason else Intake(student, OK, "", path)


def _notebook_problem(doc, name: str) -> str:
    """Why the parsed JSON ``doc`` is not a gradable nbformat 4 notebook, or ``""``."""
    if not isinstance(doc, dict):
        return (f"{name} is JSON but not a notebook: its top level is {_json_type(doc)}, "
                "not an object with cells")
    if "nbformat" not in doc:
        keys = ", ".join(sorted(map(str, doc))[:5]) or "none"
        return f"{name} is JSON but not a notebook: it has no 'nbformat' field (its keys: {keys})"
    version = doc["nbformat"]
    if not isinstance(version, int) or isinstance(version, bool):
        return f"{name} is JSON but not a notebook: its 'nbformat' field is {_short(version)}, not a number"
    if version <= 3:
        # nbformat could upgrade it, but silently grading a converted file would grade something
        # the student never saw; the student re-saves it and sees what is graded.
        return (f"{name} was saved in the old notebook format nbformat {version} (this course needs "
                f"nbformat 4); {_RESAVE} to convert it")
    if version > 4:
        return f"{name} uses nbformat {version}, newer than the grader reads (4); save it with JupyterLab 4"
    cells = doc.get("cells")
    if not isinstance(cells, list):
        return (f"{name} is not a valid notebook: it has no list of cells "
                f"({'no cells field' if cells is None else 'cells is ' + _json_type(cells)}); {_RESAVE}")
    if not cells:
        return f"{name} has no cells (an empty notebook); submit the notebook with your work"
    return _schema_problem(doc, name)


def _schema_problem(doc: dict, name: str) -> str:
    """nbformat's own validation, after the repairs nbformat does when nbgrader reads the file.

    nbformat fills in missing cell ids (and renames duplicate ones) when it reads a
    notebook, so those are not reported; everything it would still reject is.
    """
    import nbformat
    from nbformat.validator import ValidationError

    nb = copy.deepcopy(doc)
    minor = nb.get("nbformat_minor")
    if not isinstance(minor, int) or isinstance(minor, bool):
        return f"{name} is not a valid notebook: 'nbformat_minor' is {_short(minor)}, not a number; {_RESAVE}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about the ids it repairs
            nbformat.validate(nb)
    except ValidationError as exc:
        where = _json_path(list(getattr(exc, "absolute_path", [])))
        message = " ".join(str(getattr(exc, "message", exc)).split())
        if len(message) > 160:
            message = message[:157] + "..."
        return f"{name} fails nbformat validation{' at ' + where if where else ''}: {message}; {_RESAVE}"
    except Exception as exc:  # noqa: BLE001  (a hostile document may break the validator itself)
        return (f"{name} could not be validated as a notebook ({type(exc).__name__}: "
                f"{_short(str(exc))}); {_RESAVE}")
    return ""


# -- looking for the notebook elsewhere ---------------------------------------------------


def _walk(root: Path) -> tuple[list[Path], bool]:
    """Files under ``root`` relative to it (links listed, not followed), breadth-first, bounded.

    Returns the files and whether the walk stopped at :data:`_MAX_ENTRIES`.
    """
    files, queue, seen = [], [(root, 0)], 0
    while queue:
        folder, depth = queue.pop(0)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > _MAX_ENTRIES:
                return files, True
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 < _MAX_DEPTH:
                    queue.append((Path(entry.path), depth + 1))
            elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                files.append(Path(entry.path).relative_to(root))
    return files, False


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _rank(path: Path, expected: str, stem: str) -> int | None:
    """How much ``path`` looks like the expected notebook (lower is closer); None: not at all."""
    if _hidden(path) or path.name.endswith("-checkpoint.ipynb"):
        return None
    name = path.name.casefold()
    if path.name == expected:
        return 0  # the right name in the wrong folder
    if name == expected.casefold():
        return 1  # Exercises.ipynb
    if name.startswith(stem.casefold()) and ".ipynb" in name:
        return 2  # exercises (1).ipynb, exercises-Copy1.ipynb, exercises.ipynb.txt
    if name.endswith(".ipynb"):
        return 3  # some other notebook: probably the work under another name
    if name.startswith(stem.casefold()) and Path(name).suffix in ("", ".json", ".txt"):
        return 4  # exercises, exercises.json
    return None


def _best_candidate(files: list[Path], expected: str, stem: str) -> Path | None:
    ranked = [(r, len(f.parts), f.as_posix(), f) for f in files if (r := _rank(f, expected, stem)) is not None]
    return min(ranked)[3] if ranked else None


# -- formatting ---------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n % (1024 * 1024) else f"{n // (1024 * 1024)} MB"


def _json_type(value) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null", dict: "an object"}.get(type(value), type(value).__name__)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_path(parts: list) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
