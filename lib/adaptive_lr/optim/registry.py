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

from collections.abc import Callable
from typing import Any, NamedTuple

from .. import validation as check
from . import (
    adadelta,
    adafactor,
    adagrad,
    adam,
    adam8bit,
    adamax,
    layerwise,
    lion,
    muon,
    nadam,
    radam,
    sgd,
    shampoo,
    soap,
)
from .spec import RuleSpec

# The modules that declare rules, in the order the tour, the tables and the tests list them.
_RULE_MODULES = (
    sgd, adagrad, adadelta,
    adam, radam, nadam, adamax, adam8bit,
    layerwise, adafactor, shampoo, soap, muon,
    lion,
)

SPECS: dict[str, RuleSpec] = {spec.name: spec for mod in _RULE_MODULES for spec in mod.SPECS}
"""Every rule's spec, by registry name."""


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
