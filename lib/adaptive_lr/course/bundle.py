"""What students receive: ``adaptive-lr student-bundle --out DIR``, and the check that it leaks nothing.

The bundle is a folder a student can install and work in (``pip install -e
'.[course]'`` then ``make lab``, as its README says):

* ``course/``: the notes, the notation table and the theory notebooks;
* ``release/adaptive_lr/exercises.ipynb``: the committed release (what
  ``nbgrader generate_assignment`` made from ``source/``);
* ``lib/adaptive_lr/``: the library, without the instructor's pipeline
  (``course/``) and the grading sandbox (``sandbox/``), which students never run;
* ``pyproject.toml``, a ``Makefile`` (``make lab``) and a README.

It never holds ``source/``, the written answers' model answers and rubrics,
the hidden tests' cells or seeds, a gradebook, grading sheets, or anyone's
submissions and feedback. :func:`find_leaks` checks a folder for every one
of those, read from the instructor's ``source/`` notebook (the hidden-test
regions, the seeds, the model answers and rubrics, nbgrader's solution
markers); :func:`build` refuses to finish a bundle it finds anything in.
The same check runs on everything the students received in the lifecycle
test (the fetched release and the fetched feedback).

What the bundle cannot hide: the library *is* the reference implementation,
because the theory notebooks run it. The grader catches a submission that
calls or patches it, and the class report flags code similar to it, but
nothing stops a student from reading it (see the README's threat model).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

from .feedback import HIDDEN_BEGIN, HIDDEN_END
from .manual import MODEL, RUBRIC, split_answer
from .pipeline import ASSIGNMENT, NOTEBOOK, repo_root

_LIB_EXCLUDE = ("course", "sandbox")
_FORBIDDEN_NAMES = ("source", "autograded", "submitted", "gradebook.db")
_FORBIDDEN_TOP = ("feedback", "grading", "report")  # the course folder's feedback, grading sheets, report
_MARKERS = (HIDDEN_BEGIN, HIDDEN_END, "### BEGIN SOLUTION", "### END SOLUTION", "BEGIN MARK SCHEME",
            MODEL, RUBRIC)


class LeakFound(RuntimeError):
    """A student-facing folder holds something only the instructor may have."""


def _ignore(folder, names):
    return [n for n in names if n in ("__pycache__", ".ipynb_checkpoints") or n.endswith((".pyc", ".db"))]


_README = """# adaptive-lr: the student bundle

Everything you need for the course: the notes and theory notebooks (`course/`),
the graded exercises (`release/adaptive_lr/exercises.ipynb`) and the library
the notebooks run (`lib/adaptive_lr`).

    python3.11 -m venv .venv
    .venv/bin/pip install -e '.[course]'
    make lab

`make lab` opens JupyterLab on `course/` and the exercises. Work in
`release/adaptive_lr/exercises.ipynb` (or in the copy `nbgrader fetch_assignment`
puts in your home on the course's JupyterHub): write your answers where it
says YOUR CODE HERE / YOUR ANSWER HERE, run the visible tests, and use
Validate before you submit. The hidden tests run only when the course grades
your notebook; their feedback tells you what was expected, what came back
and the likely mistake.

The library holds the reference implementation of every rule, because the
theory notebooks run it. Your solutions must be your own NumPy code: a
submission that calls the library's optimizers, or patches them, scores 0 on
those tests, and code that closely resembles the library or another
student's is shown to the instructor.
"""

_MAKEFILE = """# The student bundle: `make lab` opens the course and the exercises in JupyterLab.
VENV := .venv

$(VENV)/.installed:
\ttest -x $(VENV)/bin/python || python3 -m venv $(VENV)
\t$(VENV)/bin/pip install --quiet -e '.[course]'
\ttouch $@

lab: $(VENV)/.installed
\t$(VENV)/bin/jupyter lab .

.PHONY: lab
"""


def build(out, repo=None) -> list[Path]:
    """Write the bundle into ``out`` (created; must be empty or absent); returns its files."""
    repo = Path(repo) if repo else repo_root()
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; give a new folder for the bundle")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo / "course", out / "course", ignore=_ignore)
    release = out / "release" / ASSIGNMENT
    release.mkdir(parents=True)
    shutil.copyfile(repo / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", release / f"{NOTEBOOK}.ipynb")
    lib = out / "lib" / "adaptive_lr"
    shutil.copytree(repo / "lib" / "adaptive_lr", lib,
                    ignore=lambda d, names: _ignore(d, names)
                    + ([n for n in names if n in _LIB_EXCLUDE] if Path(d) == repo / "lib" / "adaptive_lr" else []))
    shutil.copyfile(repo / "pyproject.toml", out / "pyproject.toml")
    (out / "README.md").write_text(_README)
    (out / "Makefile").write_text(_MAKEFILE)
    leaks = find_leaks(out, repo / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    if leaks:
        shutil.rmtree(out)
        raise LeakFound("the bundle would give students:\n  " + "\n  ".join(leaks[:20]))
    return sorted(p for p in out.rglob("*") if p.is_file())


def secrets_of(source_notebook) -> dict:
    """What must never reach a student, read from the source notebook: label -> text."""
    nb = nbformat.read(str(source_notebook), as_version=4)
    found = {}
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        gid = md.get("grade_id", "?")
        if cell.cell_type == "markdown" and md.get("solution"):
            model, rubric = split_answer(cell.source)
            for label, text in (("model answer", model), ("rubric", rubric)):
                text = " ".join(text.split())
                if len(text) > 40:
                    found[f"{label} of {gid}"] = text[10:70]
        inside = False
        for line in cell.source.splitlines():
            if HIDDEN_BEGIN in line:
                inside = True
                continue
            if HIDDEN_END in line:
                inside = False
                continue
            if inside and line.strip():
                found[f"hidden test code of {gid}: {line.strip()[:50]}"] = line.strip()
                for seed in re.findall(r"seed\s*=\s*(\d+)", line):
                    found[f"hidden seed {seed} of {gid}"] = f"seed={seed}"
    return found


def find_leaks(folder, source_notebook) -> list[str]:
    """Everything in ``folder`` a student must not have: forbidden files, markers and source text."""
    folder = Path(folder)
    secrets = secrets_of(source_notebook)
    problems = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.name in _FORBIDDEN_NAMES or (len(rel.parts) == 1 and path.name in _FORBIDDEN_TOP):
            problems.append(f"{rel}: a {path.name} {'folder' if path.is_dir() else 'file'}")
        if path.name.startswith("gradebook") or path.suffix == ".db":
            problems.append(f"{rel}: a database file")
        if not path.is_file() or path.suffix not in (".py", ".ipynb", ".md", ".html", ".txt", ".json", ".toml", ""):
            continue
        flat = " ".join(readable_text(path).split())
        for marker in _MARKERS:
            if marker in flat:
                problems.append(f"{rel}: contains {marker!r}")
        for label, secret in secrets.items():
            if " ".join(secret.split()) in flat:
                problems.append(f"{rel}: contains the {label}")
    return problems


def readable_text(path: Path) -> str:
    """What a reader sees in a file: a notebook's cell sources and outputs, an HTML page's text."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            nb = nbformat.reads(raw, as_version=4)
        except Exception:  # noqa: BLE001  (not a notebook: check it as text)
            return raw
        parts = [nb.metadata.__repr__()]
        for cell in nb.cells:
            parts.append(cell.source)
            for out in cell.get("outputs", []):
                parts.append(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
                             + str(out.get("evalue", "")) + "\n".join(out.get("traceback", [])))
        return "\n".join(parts)
    if path.suffix == ".html":
        import html

        return html.unescape(re.sub(r"<[^>]+>", "", raw))
    return raw
