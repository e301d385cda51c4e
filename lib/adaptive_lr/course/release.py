"""The committed release (``release/adaptive_lr/exercises.ipynb``) and its source.

The release is what ``nbgrader generate_assignment`` makes from
``source/adaptive_lr/exercises.ipynb``; it is committed so that a student can
open it without running nbgrader. :func:`regenerate` makes it again in a
scratch course; :func:`differences` says how the committed file differs from a
fresh one (empty when in sync); :func:`update` writes the fresh one.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from .pipeline import ASSIGNMENT, NOTEBOOK, Course, repo_root


def committed_release(repo=None) -> Path:
    return Path(repo or repo_root()) / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"


def regenerate(workdir, repo=None) -> Path:
    """Generate the release in a scratch course under ``workdir``; return its path."""
    course = Course(Path(workdir) / "release-course", repo).create()
    return course.generate_release()


def _cells(nb):
    return [(c.get("id"), c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


def differences(committed: Path, fresh: Path) -> list[str]:
    """Readable differences between two release notebooks (empty when they agree)."""
    if not Path(committed).is_file():
        return [f"{committed} does not exist"]
    a = nbformat.read(str(committed), as_version=4)
    b = nbformat.read(str(fresh), as_version=4)
    out = []
    if dict(a.metadata) != dict(b.metadata):
        out.append("notebook metadata differ")
    ca, cb = _cells(a), _cells(b)
    if len(ca) != len(cb):
        out.append(f"{len(ca)} cells committed, {len(cb)} generated")
    for i, (x, y) in enumerate(zip(ca, cb)):
        if x != y:
            what = [name for name, u, v in zip(("id", "type", "source", "metadata"), x, y) if u != v]
            out.append(f"cell {i} ({y[0]}): {', '.join(what)} differ")
    for i, cell in enumerate(a.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            out.append(f"cell {i} of the committed release has outputs")
    return out


def update(repo=None) -> list[str]:
    """Regenerate the release and write it over the committed one; returns what changed."""
    target = committed_release(repo)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = regenerate(tmp, repo)
        changes = differences(target, fresh)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fresh, target)
    return changes
