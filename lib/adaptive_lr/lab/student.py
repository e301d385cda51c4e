"""Take a student's update function from their exercise notebook, to train the lab's model with it.

Only the definitions of the student's answer cells are run, in a fresh
namespace (with ``np`` and ``math`` imported, as the exercise notebook does):
the top-level ``def``, ``class`` and ``import`` statements of every nbgrader
solution cell, in order, so that a function may call another one the student
wrote, and no figure or print of theirs runs here. Nothing is written back to
the notebook.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np


class NotAnswered(LookupError):
    """The notebook has no usable answer for the function (missing, not implemented, or failing)."""


_DEFINITIONS = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _definitions(source: str):
    """The top-level definitions of a cell, as a module to compile (``None`` if it does not parse)."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    tree.body = [node for node in tree.body if isinstance(node, _DEFINITIONS)]
    return tree


def _solution_cells(nb) -> list[str]:
    cells = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            cells.append(cell.source)
    return cells


def load_function(notebook, name: str = "adamw_update"):
    """The function ``name`` as defined in the notebook at path ``notebook``.

    Raises :class:`NotAnswered` with what to do when the notebook is missing,
    does not define ``name``, or defines it but it raises ``NotImplementedError``.
    """
    import nbformat

    path = Path(notebook)
    if not path.is_file():
        raise NotAnswered(f"no notebook at {path}; set STUDENT_NOTEBOOK to your exercises.ipynb")
    nb = nbformat.read(path, as_version=4)
    namespace = {"np": np, "numpy": np, "math": math, "__name__": "student_notebook"}
    for source in _solution_cells(nb):
        tree = _definitions(source)
        if tree is None:
            continue
        try:
            exec(compile(tree, str(path), "exec"), namespace)  # noqa: S102
        except Exception:  # a definition that fails on its own is not the function we want
            continue
    fn = namespace.get(name)
    if not callable(fn):
        raise NotAnswered(f"{path.name} does not define {name}(); write it in its exercise first")
    theta = np.linspace(-1.0, 1.0, 6)
    try:
        fn(theta, theta.copy(), np.zeros(6), np.zeros(6), 1)
    except NotImplementedError:
        raise NotAnswered(
            f"{name} in {path.name} is not implemented yet (it raises NotImplementedError); "
            "finish its exercise, save the notebook and re-run this cell"
        ) from None
    except Exception as err:
        raise NotAnswered(f"{name} in {path.name} fails on a small test: {type(err).__name__}: {err}") from None
    return fn


def numpy_bridge(fn):
    """``fn`` called on NumPy copies of torch tensors; its array results come back as tensors.

    A student's function uses ``np.sqrt`` and friends, which turn a tensor into
    an ndarray; the bridge makes that explicit (one copy per array and step,
    cheap for the lab's 0.1 M parameters) instead of letting types mix.
    """
    import torch

    def to_numpy(a):
        return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a

    def to_torch(a):
        return torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a

    def bridged(*args, **kwargs):
        out = fn(*map(to_numpy, args), **{k: to_numpy(v) for k, v in kwargs.items()})
        return tuple(map(to_torch, out)) if isinstance(out, tuple) else to_torch(out)

    bridged.__name__ = getattr(fn, "__name__", "student_function")
    return bridged
