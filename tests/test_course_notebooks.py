"""The theory notebooks in course/: they run, their checked numbers match, and they are committed clean.

* nbval runs every notebook in ``course/`` in ``--nbval-lax`` mode: every cell
  must run without error, and the cells marked ``# NBVAL_CHECK_OUTPUT`` (the
  numerical checks next to derivations) must print what is stored in the notebook.
  In the same kernel, every interactive figure must redraw headless with its
  title, labels and legend when each of its controls moves, and a title or
  legend that prints a control's value must read differently at neighbouring
  settings (no ``eps=1e-05`` for 1.26e-5, no ``beta2=1`` for 0.9999).
* A notebook carries stored outputs only in those checked cells; any other
  output, execution count or saved widget state is stale and fails the test.
* Each notebook opens with learning objectives and ends with a summary that
  points to the exercises.
* No notebook re-implements an update rule: the arithmetic of the moments
  lives in ``adaptive_lr.optim`` and nowhere else.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
NOTEBOOKS = sorted(p for p in COURSE.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
IDS = [p.name for p in NOTEBOOKS]

pytestmark = pytest.mark.notebooks


def _read(path):
    return nbformat.read(path, as_version=4)


def _is_checked(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARK)


def test_course_has_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {COURSE}"


# Run after the notebook, in its kernel: each interactive figure is checked at its defaults and
# with each control moved to another value, then put back; and a text that prints a control's
# value must tell its neighbouring settings apart (both ends of its range, the default and the
# next value: viz.control_text_problems).
WIDGET_CHECK = """\
from adaptive_lr import viz as _viz
_problems = []
for _w in _viz.instances():
    _name = getattr(_w.draw_fn, "__name__", "draw")
    _problems += [f"{_name} at defaults: {_p}" for _p in _viz.figure_problems(_w.fig)]
    for _c, _control in _w.controls.items():
        _orig, _alt = _w.values[_c], _control.alternative()
        _w.redraw(**{_c: _alt})
        _problems += [f"{_name}({_c}={_alt!r}): {_p}" for _p in _viz.figure_problems(_w.fig)]
        _w.redraw(**{_c: _orig})
    _problems += _viz.control_text_problems(_w)
assert not _problems, (
    "incomplete figures, or texts that show two settings alike:\\n  " + "\\n  ".join(_problems))
"""


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_checked_outputs_match_and_figures_redraw(path, tmp_path):
    """nbval --nbval-lax: all cells run; the # NBVAL_CHECK_OUTPUT cells print their stored output;
    then, in the same kernel, every interactive figure redraws complete when each control moves.

    One execution serves both checks (a notebook run is the costly part). nbval runs a copy with
    two cells added: a first one that enters ``course/`` (where the notebook reads its data),
    and a last one that fails with the incomplete figures, if any.
    """
    nb = _read(path)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import os as _os\n_os.chdir({str(COURSE)!r})"))
    nb.cells.append(nbformat.v4.new_code_cell(WIDGET_CHECK))
    copy = tmp_path / path.name
    nbformat.write(nb, copy)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
        "--nbval-lax", "--nbval-cell-timeout=120", "-o", "addopts=", "-o", "filterwarnings=",
        "--rootdir", str(tmp_path), str(copy),
    ]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, (
        f"nbval failed on {path.name} (exit {proc.returncode}); re-run with\n  {' '.join(cmd)}\n"
        f"--- last lines ---\n" + "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_clean(path):
    """Only # NBVAL_CHECK_OUTPUT cells may carry outputs; nothing else is stored."""
    nb = _read(path)
    stale = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs") and not _is_checked(cell):
            stale.append(f"cell {i} has stored outputs but is not marked {CHECK_MARK}")
        if _is_checked(cell) and not cell.get("outputs"):
            stale.append(f"cell {i} is marked {CHECK_MARK} but has no stored output to check")
        if not _is_checked(cell) and cell.get("execution_count") is not None:
            stale.append(f"cell {i} has an execution count (the notebook was saved after running)")
    if "widgets" in nb.metadata:
        stale.append("the notebook metadata stores widget state")
    assert not stale, (
        f"{path.name} carries stale outputs:\n  "
        + "\n  ".join(stale)
        + "\nClear the other outputs (e.g. `jupyter nbconvert --clear-output`), "
        "then re-store the checked cells' outputs."
    )


def _committed_notebooks():
    """``(path, text)`` of each notebook of course/ as committed at HEAD (empty without git)."""
    try:
        names = subprocess.run(
            ["git", "ls-files", "course/*.ipynb"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return [
            (
                n,
                subprocess.run(
                    ["git", "show", f"HEAD:{n}"],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout,
            )
            for n in names
        ]
    except (OSError, subprocess.CalledProcessError):
        return []


def test_committed_versions_are_clean():
    """The same check on the notebooks as they are in git (HEAD), not as they are on disk."""
    stale = []
    for name, text in _committed_notebooks():
        if not text.strip():
            continue  # added to the index but not yet committed
        nb = nbformat.reads(text, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and cell.get("outputs") and not _is_checked(cell):
                stale.append(f"{name}: cell {i} has stored outputs but is not marked {CHECK_MARK}")
    assert not stale, "committed notebooks carry stale outputs:\n  " + "\n  ".join(stale)



@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_opens_with_learning_objectives(path):
    nb = _read(path)
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    assert first is not None and first is nb.cells[0], f"{path.name} must open with a markdown cell"
    assert re.search(r"^#", first.source, re.MULTILINE), (
        f"{path.name}: the first cell needs a title heading"
    )
    assert re.search(r"learning objectives", first.source, re.IGNORECASE), (
        f"{path.name}: the first cell must list the learning objectives (a 'Learning objectives' heading)"
    )
    assert re.search(r"^\s*[-*\d]", first.source.split("bjectives", 1)[-1], re.MULTILINE), (
        f"{path.name}: the learning objectives should be a list"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ends_with_summary_and_exercises(path):
    nb = _read(path)
    last = nb.cells[-1]
    assert last.cell_type == "markdown", f"{path.name} must end with a markdown summary cell"
    assert re.search(r"^#+\s*summary", last.source, re.IGNORECASE | re.MULTILINE), (
        f"{path.name}: the last cell needs a 'Summary' heading"
    )
    assert "exercises.ipynb" in last.source and re.search(r"[Ee]xercises?\s+\d", last.source), (
        f"{path.name}: the summary must point to the exercises (exercises.ipynb, by exercise number)"
    )


# Arithmetic that belongs to adaptive_lr.optim only.
UPDATE_RULE_PATTERNS = [
    r"beta1?\s*\*\s*m\b",
    r"beta2?\s*\*\s*v\b",
    r"\(\s*1(\.0)?\s*-\s*beta[12]?\s*\)\s*\*\s*(g|grad)\b",
    r"accum\s*\+\s*(g|grad)\s*\*\*?\s*",
]


def _code_only(source: str) -> str:
    """``source`` without comments and string literals (text in a print is not an implementation)."""
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.STRING} | {
        getattr(tokenize, name) for name in ("FSTRING_MIDDLE",) if hasattr(tokenize, name)
    }
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    return " ".join(tok.string for tok in tokens if tok.type not in skip)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_second_implementation_of_an_update_rule(path):
    nb = _read(path)
    hits = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code = _code_only(cell.source)
        for pat in UPDATE_RULE_PATTERNS:
            for m in re.finditer(pat, code):
                hits.append(f"cell {i}: {m.group(0)!r}")
    assert not hits, (
        f"{path.name} seems to re-implement an update rule; call adaptive_lr.optim instead:\n  "
        + "\n  ".join(hits)
    )


# ---------------------------------------------------------------------------------------------
# Maintenance: `python tests/test_course_notebooks.py course/NAME.ipynb ...` executes each
# notebook headless and rewrites it clean: outputs kept only in # NBVAL_CHECK_OUTPUT cells
# (exactly what nbval will compare against, numbered 1, 2, ... because nbval skips a cell
# without an execution count), every other execution count and the widget state removed.
def store_checked_outputs(path: Path) -> None:
    from nbclient import NotebookClient

    nb = _read(path)
    os.environ.setdefault("MPLBACKEND", "Agg")
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.metadata.pop("execution", None)  # nbclient's timestamps
        if _is_checked(cell):
            # nbval compares only cells with an execution count ("unrun" cells must be empty).
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
        else:
            cell.outputs = []
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        store_checked_outputs(Path(arg).resolve())
        print("stored", arg)
