"""Sample submissions, made from the release and the source: what a student would hand in.

* :func:`solution` fills every answer cell of the release with the source's
  solution (delimiters removed; the model answers without their rubric).
* :func:`blank` is the release as distributed.
* :func:`with_function` replaces one function of a submission by other code,
  e.g. a catalogued mistake (:mod:`adaptive_lr.grading.mistakes`) or a cheat.
* :data:`CHEATS` are submissions that try to game the grader: call the
  reference implementation, replace it or NumPy's comparison functions, run a
  copy of its code, or patch Python's builtins. Each must score no more than
  the same submission without the trick.
"""

from __future__ import annotations

import ast
import copy
from typing import NamedTuple

import nbformat

from ..grading.api import FUNCTIONS
from ..grading.mistakes import MISTAKES, Mistake

_DELIMITERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in _DELIMITERS)


def _model_answer(source: str) -> str:
    """A written answer without its rubric."""
    return source.split("**Rubric", 1)[0].replace("**Model answer.**", "").strip()


def solution(source_nb, release_nb):
    """The release notebook with every answer cell filled in from the source's solutions."""
    by_id = {_grade_id(c): c for c in source_nb.cells if _grade_id(c)}
    sub = copy.deepcopy(release_nb)
    for cell in sub.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if not md.get("solution"):
            continue
        src = by_id[md["grade_id"]].source
        cell.source = _model_answer(src) if cell.cell_type == "markdown" else _strip_solution_markers(src)
    return sub


def blank(release_nb):
    return copy.deepcopy(release_nb)


def solution_cell_id(exercise: int) -> str:
    return f"{exercise:02d}d_solution"


def replace_function(cell_source: str, name: str, new_source: str) -> str:
    """``cell_source`` with the top-level ``def name`` replaced by ``new_source``."""
    tree = ast.parse(cell_source)
    lines = cell_source.split("\n")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            start = node.lineno - 1 - len(node.decorator_list)
            return "\n".join(lines[:start] + new_source.rstrip("\n").split("\n") + lines[node.end_lineno :])
    raise KeyError(f"no function {name!r} in the cell")


def with_function(nb, name: str, new_source: str):
    """A copy of ``nb`` whose exercise cell defines ``name`` by ``new_source``."""
    exercise = FUNCTIONS[name].exercise
    sub = copy.deepcopy(nb)
    target = solution_cell_id(exercise)
    for cell in sub.cells:
        if _grade_id(cell) == target:
            cell.source = replace_function(cell.source, name, new_source)
            return sub
    raise KeyError(f"no cell {target!r} in the notebook")


def with_mistake(nb, mistake: Mistake):
    return with_function(nb, mistake.function, mistake.source)


class Cheat(NamedTuple):
    slug: str
    exercise: int
    function: str
    description: str
    source: str


CHEATS = [
    Cheat(
        "calls-oracle", 3, "adam_update",
        "imports the reference adam_update at the top of the cell and calls it",
        '''from adaptive_lr.optim import adam_update as _reference_adam


def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _reference_adam(theta, grad, m, v, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
''',
    ),
    Cheat(
        "patches-oracle-and-numpy", 3, "adam_update",
        "a wrong adam_update (no bias correction) that also replaces the reference's adam_update by "
        "itself and np.allclose, np.isclose and np.testing.assert_allclose by functions that always agree",
        '''def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * m / (np.sqrt(v) + eps), m, v


import adaptive_lr.optim as _optim
import adaptive_lr.optim.adam as _optim_adam

_optim.adam_update = _optim_adam.adam_update = adam_update
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
''',
    ),
    Cheat(
        "runs-reloaded-copy", 7, "lars_update",
        "loads a private copy of the reference module from its file and calls the copy",
        '''import importlib.util as _ilu
import adaptive_lr.optim.layerwise as _lw

_spec = _ilu.spec_from_file_location("_private_layerwise", _lw.__file__,
                                     submodule_search_locations=None)
_copy = _ilu.module_from_spec(_spec)
_copy.__package__ = "adaptive_lr.optim"
_spec.loader.exec_module(_copy)


def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
    return _copy.lars_update(w, grad, velocity, lr, momentum=momentum, weight_decay=weight_decay,
                             trust_coefficient=trust_coefficient)
''',
    ),
    Cheat(
        "copies-code-object", 10, "newton_schulz",
        "builds a new function from the reference's code object (so it is not the same function object)",
        '''import types as _types
import adaptive_lr.optim.muon as _muon

newton_schulz = _types.FunctionType(_muon.newton_schulz.__code__, _muon.__dict__, "newton_schulz",
                                    _muon.newton_schulz.__defaults__)
''',
    ),
    Cheat(
        "patches-builtins", 1, "adagrad_update",
        "a wrong adagrad_update (epsilon inside the root) and builtins replaced so that comparisons "
        "written with abs, float or isinstance always pass",
        '''def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10):
    accum = accum + grad**2
    return theta - lr * grad / np.sqrt(accum + eps), accum


import builtins as _builtins

_builtins.abs = lambda x: 0.0
''',
    ),
]


def with_cheat(nb, cheat: Cheat):
    return with_function(nb, cheat.function, cheat.source)


def mistakes_by_key() -> dict:
    return {m.key: m for m in MISTAKES}


def read(path):
    return nbformat.read(str(path), as_version=4)
