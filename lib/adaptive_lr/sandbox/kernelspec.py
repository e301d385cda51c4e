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
# The kernel provisioner (adaptive_lr.sandbox.provisioner) under its entry-point name.
PROVISIONER = "adaptive-lr-sandbox"
# "inline" (matplotlib-inline): a figure is sent to the notebook as a PNG, which feedback
# shows; "agg": figures are drawn only when saved (a kernel whose output nobody sees, the
# re-check's). Neither writes to stderr (nbgrader scores 0 a test cell that does).
PLOT_BACKENDS = {"inline": "module://matplotlib_inline.backend_inline", "agg": "Agg"}


def default_scratch_root() -> str:
    return os.path.join(tempfile.gettempdir(), "adaptive-lr-sandbox")


def write_kernelspec(
    kernels_dir,
    limits: Limits | None = None,
    user: str = DEFAULT_USER,
    scratch_root=None,
    name: str = KERNEL_NAME,
    hide=(),
    plot_backend: str = "inline",
) -> Path:
    """Write ``kernels_dir/name/kernel.json``; returns its folder.

    ``hide`` lists folders the kernel must not see at all (the course folder
    with its gradebook, the instructor's ``source/``). Point Jupyter at it
    with ``JUPYTER_PATH=<parent of kernels_dir>`` (the folder must be called
    ``kernels``) and select it with ``ExecutePreprocessor.kernel_name = name``.
    ``plot_backend``: ``"inline"`` (figures reach the notebook as PNG) or
    ``"agg"`` (no figure output, for a kernel whose output nobody sees).
    Clients reach the kernel over IPC, through :mod:`.provisioner` (named in
    the spec's metadata), with its sockets in a folder under ``scratch_root``.
    """
    if plot_backend not in PLOT_BACKENDS:
        raise ValueError(
            f"plot_backend must be one of {sorted(PLOT_BACKENDS)}, got {plot_backend!r}"
        )
    limits = limits or Limits()
    scratch_root = os.path.realpath(scratch_root or default_scratch_root())
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
            f"--plot-backend={plot_backend}",
            "-f",
            "{connection_file}",
        ],
        "display_name": "Python 3 (adaptive-lr grading sandbox)",
        "language": "python",
        "metadata": {
            "debugger": False,
            "kernel_provisioner": {
                "provisioner_name": PROVISIONER,
                "config": {"user": user, "ipc_root": scratch_root},
            },
        },
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder
