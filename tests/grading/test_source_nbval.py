"""nbval runs the assignment's source notebook (with its solutions) and the student release.

The source must run top to bottom with every test passing; the release must
run without any error other than the NotImplementedError of its blank answers:
the tests of an unanswered exercise report that, not a confusing error of their own.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "source" / "adaptive_lr" / "exercises.ipynb"
RELEASE = REPO / "release" / "adaptive_lr" / "exercises.ipynb"


@pytest.mark.slow
def test_nbval_runs_the_source_notebook_with_solutions():
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-cell-timeout=120", "-o", "addopts=", "-o", "filterwarnings=",
           "--rootdir", str(SOURCE.parent), str(SOURCE)]
    proc = subprocess.run(cmd, cwd=SOURCE.parent, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])


@pytest.mark.slow
def test_release_notebook_runs_headless_with_only_expected_errors(tmp_path):
    nb = nbformat.read(RELEASE, as_version=4)
    NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    unexpected = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            if out.output_type == "error" and out.ename != "NotImplementedError":
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
                unexpected.append(f"{grade_id}: {out.ename}: {out.evalue[:120]}")
    assert not unexpected, unexpected
