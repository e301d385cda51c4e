"""One calling convention for every rule, so that a runner, a benchmark or a
multi-layer model can drive any of them.

Every rule here is a pair of pure functions, as in optax: ``init(theta) ->
state`` and ``step(theta, grad, state, t) -> (theta, state)``, where ``state``
is a tuple whose fields are named by ``state_names``. The pair only re-orders
arguments; the arithmetic stays in the rule's own module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from . import _checks as check
from .adafactor import adafactor_update, init_adafactor
from .adagrad import adagrad_update, init_adagrad
from .adam import adam_l2_update, adam_update, adamw_update, amsgrad_update, init_adam, init_amsgrad
from .layerwise import init_lamb, init_lars, lamb_update, lars_update
from .muon import init_muon, muon_update
from .sgd import init_momentum, init_rmsprop, momentum_update, rmsprop_update, sgd_update
from .shampoo import init_shampoo, shampoo_update
from .soap import init_soap, soap_update


class Optimizer(NamedTuple):
    """A rule with its hyperparameters bound: ``init`` and ``step`` are pure."""

    name: str
    init: Callable[[Any], tuple]
    step: Callable[[Any, Any, tuple, int], tuple]
    state_names: tuple
    hyperparams: dict


# Arrays, state and t are what each step passes, never hyperparameters.
_STEP_ARGUMENTS = frozenset(
    {
        "theta",
        "w",
        "W",
        "X",
        "grad",
        "G",
        "m",
        "v",
        "vmax",
        "accum",
        "velocity",
        "buf",
        "L",
        "R",
        "C",
        "g_mean",
        "state",
        "t",
    }
)


def _known_keywords(update, hp, bound_by_builder=()):
    """Refuse a misspelt or missing hyperparameter when the optimizer is made, not at its first step."""
    params = inspect.signature(update).parameters
    allowed = [p for p in params if p not in _STEP_ARGUMENTS and p not in bound_by_builder]
    for key in hp:
        if key not in allowed:
            raise TypeError(
                f"unexpected hyperparameter {key!r}; {update.__name__} takes {', '.join(allowed)}"
            )
    missing = [p for p in allowed if params[p].default is inspect.Parameter.empty and p not in hp]
    if missing:
        raise TypeError(f"{update.__name__} needs {', '.join(missing)} (no default)")


def _adam_like(update, init, names):
    def build(**hp):
        _known_keywords(update, hp)

        def step(theta, grad, state, t):
            theta, *new = update(theta, grad, *state, t, **hp)
            return theta, tuple(new)

        return init, step, names

    return build


def _build_sgd(**hp):
    _known_keywords(sgd_update, hp)
    return (
        (lambda theta: ()),
        (lambda theta, grad, state, t: (sgd_update(theta, grad, **hp), ())),
        (),
    )


def _build_momentum(nesterov):
    def build(**hp):
        _known_keywords(momentum_update, hp, bound_by_builder=("nesterov",))

        def step(theta, grad, state, t):
            theta, buf = momentum_update(theta, grad, state[0], nesterov=nesterov, **hp)
            return theta, (buf,)

        return (lambda theta: (init_momentum(theta),)), step, ("buf",)

    return build


def _build_rmsprop(centered=False, **hp):
    _known_keywords(rmsprop_update, hp, bound_by_builder=("g_mean",))

    def step(theta, grad, state, t):
        theta, v, g_mean = rmsprop_update(
            theta, grad, state[0], centered=centered, g_mean=state[1], **hp
        )
        return theta, (v, g_mean)

    return (lambda theta: init_rmsprop(theta, centered)), step, ("v", "g_mean")


def _build_single(update, init, name):
    def build(**hp):
        _known_keywords(update, hp)

        def step(theta, grad, state, t):
            theta, new = update(theta, grad, state[0], **hp)
            return theta, (new,)

        return (lambda theta: (init(theta),)), step, (name,)

    return build


def _build_adafactor(**hp):
    _known_keywords(adafactor_update, hp)

    def step(X, G, state, t):
        X, R, C = adafactor_update(X, G, *state, t, **hp)
        return X, (R, C)

    return init_adafactor, step, ("R", "C")


def _build_shampoo(eps=1e-4, **hp):
    _known_keywords(shampoo_update, hp)

    def step(W, G, state, t):
        W, L, R = shampoo_update(W, G, *state, **hp)
        return W, (L, R)

    return (lambda W: init_shampoo(W, eps)), step, ("L", "R")


def _build_soap(**hp):
    _known_keywords(soap_update, hp)

    def step(W, G, state, t):
        return soap_update(W, G, state, t, **hp)

    return init_soap, step, ("m", "v", "L", "R", "QL", "QR")


def _build_muon(**hp):
    _known_keywords(muon_update, hp)

    def step(W, G, state, t):
        W, buf = muon_update(W, G, state[0], **hp)
        return W, (buf,)

    return (lambda W: (init_muon(W),)), step, ("buf",)


def _build_adagrad(**hp):
    _known_keywords(adagrad_update, hp)

    def step(theta, grad, state, t):
        theta, accum = adagrad_update(theta, grad, state[0], **hp)
        return theta, (accum,)

    return (lambda theta: (init_adagrad(theta),)), step, ("accum",)


_BUILDERS = {
    "sgd": _build_sgd,
    "momentum": _build_momentum(nesterov=False),
    "nesterov": _build_momentum(nesterov=True),
    "rmsprop": _build_rmsprop,
    "adagrad": _build_adagrad,
    "adam": _adam_like(adam_update, init_adam, ("m", "v")),
    "amsgrad": _adam_like(amsgrad_update, init_amsgrad, ("m", "v", "vmax")),
    "adam_l2": _adam_like(adam_l2_update, init_adam, ("m", "v")),
    "adamw": _adam_like(adamw_update, init_adam, ("m", "v")),
    "lamb": _adam_like(lamb_update, init_lamb, ("m", "v")),
    "lars": _build_single(lars_update, init_lars, "velocity"),
    "adafactor": _build_adafactor,
    "shampoo": _build_shampoo,
    "soap": _build_soap,
    "muon": _build_muon,
}

OPTIMIZERS = tuple(_BUILDERS)
"""Names accepted by :func:`make_optimizer`."""

MATRIX_ONLY = frozenset({"adafactor", "shampoo", "soap", "muon"})
"""Rules defined for 2-D parameters only."""


def make_optimizer(name: str, **hyperparams) -> Optimizer:
    """Bind a rule's hyperparameters: ``make_optimizer("adam", lr=1e-2)``.

    The keyword arguments are those of the rule's update function (for
    ``"shampoo"`` also ``eps``, the initial damping; for ``"rmsprop"`` also
    ``centered``). An unknown name or keyword raises at once, not at the first step.
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    try:
        init, step, names = _BUILDERS[name](**hyperparams)
    except TypeError as err:
        raise TypeError(f"{name}: {err}") from None
    return Optimizer(name, init, step, names, dict(hyperparams))


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
