"""Write the kernelspec that starts grading kernels inside the sandbox."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .limits import Limits
from .users import DEFAULT_USER

KERNEL_NAME = "adaptive-lr-sandbox"


def write_kernelspec(
    kernels_dir,
    limits: Limits | None = None,
    user: str = DEFAULT_USER,
    scratch_root=None,
    name: str = KERNEL_NAME,
    hide=(),
) -> Path:
    """Write ``kernels_dir/name/kernel.json``; returns its folder.

    ``hide`` lists folders the kernel must not see at all (the course folder
    with its gradebook, the instructor's ``source/``). Point Jupyter at it with ``JUPYTER_PATH=<parent of kernels_dir>`` (the
    folder must be called ``kernels``) and select it with
    ``ExecutePreprocessor.kernel_name = name``.
    """
    limits = limits or Limits()
    scratch_root = scratch_root or os.path.join(tempfile.gettempdir(), "adaptive-lr-sandbox")
    folder = Path(kernels_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [
            sys.executable,
            "-m",
            "adaptive_lr.sandbox.kernel",
            f"--user={user}",
            f"--scratch-root={scratch_root}",
            *limits.as_args(),
            *[f"--hide={os.path.realpath(p)}" for p in hide],
            "-f",
            "{connection_file}",
        ],
        "display_name": "Python 3 (adaptive-lr grading sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder
