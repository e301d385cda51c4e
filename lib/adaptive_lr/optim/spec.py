"""One spec per update rule: every other table about the rules is derived from it.

A rule's module declares its :class:`RuleSpec` next to the update function,
and :mod:`adaptive_lr.optim.registry` collects them. From a spec follow the
registry's ``init``/``step`` pair, the hyperparameters ``make_optimizer``
accepts, the default learning rate ``run`` reports, the tour's learning rates
and panels, the benchmark's list, and the cases the tests sweep over. A new
rule is therefore one module (its update, init, state and spec) and one test
file.

How a step is derived from the update's signature: its first two parameters
are the parameter array and the gradient (whatever the math calls them:
``theta, grad`` or ``X, G``); a parameter named like a field of the state
receives that field; ``t`` receives the step index; a parameter named
``state`` receives the whole state. The update returns the new parameter
followed by the new state fields in the state's order (or the new state, when
it took ``state``; or the parameter alone, when the state has no fields).
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from .. import validation as check

_EMPTY: Mapping = MappingProxyType({})


@lru_cache(maxsize=None)
def _parameters(update: Callable) -> Mapping[str, inspect.Parameter]:
    # Read once per function: a training loop asks at every step.
    return inspect.signature(update).parameters

# Families of rules (the tour draws one panel per family).
SGD_FAMILY = "SGD and momentum"
PER_COORDINATE = "Per-coordinate: AdaGrad, RMSProp, Adadelta"
ADAM_FAMILY = "Adam family"
ADAM_VARIANTS = "Adam variants: RAdam, NAdam, AdaMax, 8-bit Adam"
LAYERWISE = "Layer-wise: LARS, LAMB"
MATRIX_RULES = "Matrix rules (1 x 2 matrix)"
FAMILIES = (SGD_FAMILY, PER_COORDINATE, ADAM_FAMILY, ADAM_VARIANTS, LAYERWISE, MATRIX_RULES)
"""The order of the families in every listing; a family declared in a rule's own module comes after."""


def zeros_init(state: type, rule: str) -> Callable:
    """The ``init(theta) -> state`` of a rule whose state starts as zeros of ``theta``'s shape.

    Most rules' state is a set of moving averages that all start at 0 (Adadelta's
    two averages, AdaMax's ``m`` and ``u``, Lion's ``m``): one such init per state
    class, named ``init_<rule>`` and documented from the state's fields.
    """
    fields = state._fields

    def init(theta):
        xp = check.namespace(theta=theta)
        return state(*(xp.zeros_like(theta) for _ in fields))

    listed = ", ".join(fields) if len(fields) > 1 else fields[0]
    init.__name__ = init.__qualname__ = f"init_{rule.lower()}"
    init.__doc__ = f"{rule} state for ``theta``: ``{listed}``, {'all ' if len(fields) > 1 else ''}zeros."
    init.__module__ = state.__module__
    return init


class RuleSpec(NamedTuple):
    """Everything the library states about one update rule, in one place."""

    name: str
    """Registry name, as given to ``make_optimizer`` (``"adam"``)."""
    update: Callable
    """The pure update function (``adam_update``)."""
    init: Callable
    """``init(theta, **init_hyperparams) -> state``: the state before step 1."""
    state: type
    """The NamedTuple class of the state; its fields name what each array holds."""
    family: str
    """Which group of rules it belongs to (the tour draws one panel per family)."""
    tour_lr: float
    """A learning rate at which the rule makes visible progress on the tour's quadratic."""
    matrix_only: bool = False
    """True for rules defined on 2-D parameters only (Adafactor, Shampoo, SOAP, Muon)."""
    bound: Mapping = _EMPTY
    """Hyperparameters the name fixes (``nesterov=True`` for ``"nesterov"``)."""
    init_hyperparams: tuple = ()
    """Keywords that go to ``init`` (Shampoo's initial damping ``eps``, RMSProp's ``centered``)."""

    # -- derived facts -----------------------------------------------------------------
    @property
    def parameters(self) -> Mapping[str, inspect.Parameter]:
        return _parameters(self.update)

    @property
    def array_arguments(self) -> tuple:
        """The names of the update's parameter and gradient arguments (``("theta", "grad")``)."""
        return tuple(self.parameters)[:2]

    @property
    def takes_state(self) -> bool:
        return "state" in self.parameters

    @property
    def step_arguments(self) -> frozenset:
        """Arguments a step supplies: the arrays, the state (or its fields) and ``t``."""
        return frozenset({*self.array_arguments, *self.state._fields, "state", "t"})

    @property
    def hyperparameters(self) -> tuple:
        """Keywords ``make_optimizer`` accepts for this rule, in signature order."""
        own = [p for p in self.parameters if p not in self.step_arguments and p not in self.bound]
        return tuple(own + [k for k in self.init_hyperparams if k not in own])

    @property
    def required(self) -> tuple:
        """Hyperparameters without a default (LARS's and Shampoo's ``lr``)."""
        params = self.parameters
        return tuple(
            p
            for p in self.hyperparameters
            if p in params and params[p].default is inspect.Parameter.empty
        )

    def default(self, name: str, missing: Any = None) -> Any:
        """The default value of hyperparameter ``name`` in the update's signature."""
        p = self.parameters.get(name)
        if p is None or p.default is inspect.Parameter.empty:
            return missing
        return p.default

    # -- calling the update ------------------------------------------------------------
    def arguments(self, state, t: int) -> dict:
        """The keyword arguments that hand ``state`` and ``t`` to the update."""
        kwargs = {"state": state} if self.takes_state else dict(zip(self.state._fields, state))
        if "t" in self.parameters:
            kwargs["t"] = t
        return kwargs

    def new_state(self, out) -> tuple:
        """``(theta, state)`` from what the update returned."""
        if self.takes_state:
            theta, state = out
            return theta, state
        if not self.state._fields:
            return out, self.state()
        return out[0], self.state(*out[1:])

    def check_hyperparameters(self, hp: Mapping) -> None:
        """Refuse a misspelt or missing hyperparameter when the optimizer is made, not at step 1."""
        allowed = self.hyperparameters
        for key in hp:
            if key not in allowed:
                raise TypeError(
                    f"unexpected hyperparameter {key!r}; {self.update.__name__} takes "
                    f"{', '.join(allowed)}"
                )
        missing = [p for p in self.required if p not in hp]
        if missing:
            raise TypeError(f"{self.update.__name__} needs {', '.join(missing)} (no default)")

    def bind(self, **hp):
        """The pure pair ``init(theta) -> state`` and ``step(theta, grad, state, t) -> (theta, state)``."""
        self.check_hyperparameters(hp)
        init_kw = {k: hp[k] for k in self.init_hyperparams if k in hp}
        update_kw = {**self.bound, **{k: v for k, v in hp.items() if k in self.parameters}}

        def init(theta):
            return self.init(theta, **init_kw)

        # Read the signature once here, not at every step: a step must stay cheap.
        fields, takes_state = self.state._fields, self.takes_state
        takes_t, update, State = "t" in self.parameters, self.update, self.state

        def step(theta, grad, state, t):
            kwargs = {"state": state} if takes_state else dict(zip(fields, state))
            if takes_t:
                kwargs["t"] = t
            out = update(theta, grad, **kwargs, **update_kw)
            if takes_state:
                return out[0], out[1]
            if not fields:
                return out, State()
            return out[0], State(*out[1:])

        return init, step
