"""The grading table (:mod:`.api`, standard library only) checked against ``adaptive_lr.optim``.

The kernel that runs a student's notebook reads the exercise functions' facts
from :mod:`.api` and must not import the oracle, so those facts are written
there as plain data; the rules' own facts live in their specs
(:mod:`adaptive_lr.optim.spec`). :func:`disagreements` lists every place where
the two say different things, so that a test keeps them one fact: each
function's parameters, their order and defaults (from the oracle's signature),
its exercise, and for an update rule the parameter it updates and the state
it returns (from the rule's spec).
"""

from __future__ import annotations

import inspect

from .api import Array


def _signature_disagreements(fn, oracle) -> list[str]:
    params = {
        k: p
        for k, p in inspect.signature(oracle).parameters.items()
        if p.kind is not p.KEYWORD_ONLY  # fast=: the caller's choice of path, not the exercise API
    }
    listed = list(fn.required) + [k for k, _ in fn.hyper]
    if list(params) != listed:
        return [f"{fn.name}: parameters {', '.join(listed)} in the table, {', '.join(params)} in optim"]
    found = []
    for k in fn.required:
        if params[k].default is not inspect.Parameter.empty:
            found.append(f"{fn.name}: {k} is required in the table, has default {params[k].default!r} in optim")
    for k, default in fn.hyper:
        actual = params[k].default
        if actual != default:
            shown = "no default" if actual is inspect.Parameter.empty else repr(actual)
            found.append(f"{fn.name}: {k} defaults to {default!r} in the table, {shown} in optim")
    if len(fn.smoke) != len(fn.required):
        found.append(f"{fn.name}: {len(fn.smoke)} smoke inputs for {len(fn.required)} required parameters")
    if any(isinstance(v, Array) and v.fill not in ("zeros", "ones", "eye") for v in fn.smoke):
        found.append(f"{fn.name}: a smoke input fills with something other than zeros, ones or eye")
    return found


def _spec_disagreements(fn, spec) -> list[str]:
    param = spec.array_arguments[0]
    if tuple(fn.required[:2]) != spec.array_arguments:
        return [f"{fn.name}: the table starts with {fn.required[:2]}, the {spec.name} spec with "
                f"{spec.array_arguments}"]
    found = []
    outputs = [(o.name, o.kind) for o in fn.outputs]
    want = [(param, "param")] + [(field, "state") for field in spec.state._fields]
    if outputs != want:
        found.append(f"{fn.name}: outputs {outputs} in the table, {want} from the {spec.name} spec "
                     f"({spec.state.__name__})")
    return found


def disagreements(functions: dict, exercises: dict, optim) -> list[str]:
    """Every way ``functions`` (``api.FUNCTIONS``) disagrees with ``optim``; empty when they agree."""
    found = []
    by_update = {}
    for spec in optim.SPECS.values():
        by_update.setdefault(spec.update.__name__, spec)  # "nesterov" binds "momentum"'s update
    for name, fn in functions.items():
        if fn.name != name:
            found.append(f"{name}: the table's entry is named {fn.name}")
        oracle = getattr(optim, name, None)
        if oracle is None:
            found.append(f"{name}: adaptive_lr.optim has no function {name}")
            continue
        found += _signature_disagreements(fn, oracle)
        if name in by_update:
            found += _spec_disagreements(fn, by_update[name])
    if {f.exercise for f in functions.values()} != set(exercises):
        found.append("the table's exercises are not the exercises listed in api.EXERCISES")
    for e, names in optim.EXERCISE_FUNCTIONS.items():
        listed = tuple(f.name for f in functions.values() if f.exercise == e)
        if listed != tuple(names):
            found.append(f"exercise {e}: {listed} in the table, {tuple(names)} in optim.EXERCISE_FUNCTIONS")
    return found
