"""One calling convention for every rule, so that a runner, a benchmark or a
multi-layer model can drive any of them.

Every rule here is a pair of pure functions, as in optax: ``init(theta) ->
state`` and ``step(theta, grad, state, t) -> (theta, state)``, where ``state``
is the rule's NamedTuple (its fields are ``state_names``). The pair is derived
from the rule's :class:`~adaptive_lr.optim.spec.RuleSpec`, declared in the
rule's own module: it only re-orders arguments; the arithmetic stays in the
update function.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .. import validation as check
from .spec import FAMILIES, RuleSpec


def _rule_modules() -> tuple:
    """Every module of this package that declares ``SPECS``: a new rule's module is found, not listed."""
    package = __name__.rpartition(".")[0]
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_") and info.name not in ("registry", "spec")
    )
    modules = (importlib.import_module(f"{package}.{name}") for name in names)
    return tuple(mod for mod in modules if hasattr(mod, "SPECS"))


def _by_name(modules) -> dict:
    """Every spec by name: family by family (``spec.FAMILIES`` order, then families
    declared in a rule's own module), and within a family module by module
    (alphabetical), in each module's declaration order."""
    specs = [spec for mod in modules for spec in mod.SPECS]
    rank = {family: i for i, family in enumerate(FAMILIES)}
    for spec in specs:
        rank.setdefault(spec.family, len(rank))
    by_name: dict = {}
    for spec in sorted(specs, key=lambda spec: rank[spec.family]):  # stable sort
        if spec.name in by_name:
            raise RuntimeError(
                f"two rules are named {spec.name!r}: {by_name[spec.name].update.__module__} "
                f"and {spec.update.__module__}"
            )
        by_name[spec.name] = spec
    return by_name


RULE_MODULES = _rule_modules()
"""The modules that declare rules, in alphabetical order."""

SPECS: dict[str, RuleSpec] = _by_name(RULE_MODULES)
"""Every rule's spec, by registry name, in the order the tour, the tables and the tests list them."""


class Optimizer(NamedTuple):
    """A rule with its hyperparameters bound: ``init`` and ``step`` are pure."""

    name: str
    init: Callable[[Any], tuple]
    step: Callable[[Any, Any, tuple, int], tuple]
    state_names: tuple
    hyperparams: dict


OPTIMIZERS = tuple(SPECS)
"""Names accepted by :func:`make_optimizer`."""

MATRIX_ONLY = frozenset(name for name, spec in SPECS.items() if spec.matrix_only)
"""Rules defined for 2-D parameters only."""


def make_optimizer(name: str, **hyperparams) -> Optimizer:
    """Bind a rule's hyperparameters: ``make_optimizer("adam", lr=1e-2)``.

    The keyword arguments are those of the rule's update function and of its
    init (``SPECS[name].hyperparameters``: for ``"shampoo"`` also ``eps``, the
    initial damping; for ``"rmsprop"`` also ``centered``). An unknown name or
    keyword raises at once, not at the first step.
    """
    if name not in SPECS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    spec = SPECS[name]
    try:
        init, step = spec.bind(**hyperparams)
    except TypeError as err:
        raise TypeError(f"{name}: {err}") from None
    return Optimizer(name, init, step, spec.state._fields, dict(hyperparams))


def learning_rate(opt: Optimizer) -> float:
    """The learning rate ``lr`` of ``opt``: bound, or its update rule's default; NaN if it has none."""
    if "lr" in opt.hyperparams:
        return float(opt.hyperparams["lr"])
    spec = SPECS.get(opt.name)
    default = spec.default("lr") if spec is not None else None
    return float(default) if isinstance(default, (int, float)) else float("nan")


def apply_to_layers(opt: Optimizer, params, grads, states, t):
    """Apply ``opt`` to each layer separately. Returns ``(params, states)`` as new lists.

    Layer-wise rules (LARS, LAMB) compute their trust ratio per layer, so a
    model is a list of arrays, not one flat vector. The lists must have one
    entry per layer, in the same order.
    """
    params, grads, states = list(params), list(grads), list(states)
    if not (len(params) == len(grads) == len(states)):
        raise ValueError(
            f"params, grads and states must have one entry per layer, got "
            f"{len(params)}, {len(grads)} and {len(states)}"
        )
    t = check.step_index(t)
    new_params, new_states = [], []
    for i, (theta, grad, state) in enumerate(zip(params, grads, states)):
        try:
            theta, state = opt.step(theta, grad, state, t)
        except (ValueError, TypeError) as err:
            raise type(err)(f"layer {i}: {err}") from err
        new_params.append(theta)
        new_states.append(state)
    return new_params, new_states


def init_layers(opt: Optimizer, params):
    """The initial state of ``opt`` for each layer of ``params``."""
    return [opt.init(theta) for theta in params]
