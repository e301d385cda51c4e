"""The reference optimizers: the grading oracle of the course.

Every update rule is a small pure function with explicit state: arrays in,
new arrays out, inputs never modified, ``t`` the 1-based step index. Each
function's docstring carries its equations, where epsilon goes, and the paper.

Each rule lives in a module named for it, which declares the rule's
:class:`~adaptive_lr.optim.spec.RuleSpec` (``SPECS``) and what it exports
(``__all__``). The registry finds those modules when the package is imported,
so adding a rule is adding its module (and its test file): nothing here or in
the registry lists the rules. Besides them: ``ema`` (exponential moving
averages, Adam's first moment), ``spec`` (the ``RuleSpec``, from which every
table derives) and ``registry`` (one ``init``/``step`` convention for all of
them).

This package imports only the array namespace; it knows nothing of plots,
notebooks or grading.
"""

from . import registry as _registry
from .ema import ema_update, ema_weights
from .registry import (
    MATRIX_ONLY,
    OPTIMIZERS,
    SPECS,
    Optimizer,
    apply_to_layers,
    init_layers,
    learning_rate,
    make_optimizer,
)
from .spec import RuleSpec

# Each rule module's public names (its update, init, state and helpers), as the module lists them.
for _module in _registry.RULE_MODULES:
    for _name in _module.__all__:
        _value = getattr(_module, _name)
        if globals().setdefault(_name, _value) is not _value:  # two modules, one public name
            raise RuntimeError(f"adaptive_lr.optim.{_name} is exported by two modules")

# The ten graded exercises, in order (see course/notation.md).
EXERCISE_FUNCTIONS = {
    1: ("adagrad_update", "adagrad_effective_lr"),
    2: ("ema_update", "ema_weights"),
    3: ("adam_update",),
    4: ("amsgrad_update",),
    5: ("adam_l2_update", "adamw_update"),
    6: ("adafactor_update",),
    7: ("lars_update",),
    8: ("trust_ratio", "lamb_update"),
    9: ("matrix_inverse_root", "shampoo_update"),
    10: ("newton_schulz", "muon_update"),
}

__all__ = sorted(
    {
        "EXERCISE_FUNCTIONS",
        "MATRIX_ONLY",
        "OPTIMIZERS",
        "Optimizer",
        "RuleSpec",
        "SPECS",
        "apply_to_layers",
        "ema_update",
        "ema_weights",
        "init_layers",
        "learning_rate",
        "make_optimizer",
        *(_name for _module in _registry.RULE_MODULES for _name in _module.__all__),
    }
)
if __doc__:  # None under python -OO
    __doc__ += "\nWhere each rule lives:\n\n" + "\n".join(
        f"* ``{_module.__name__.rpartition('.')[2]}``: {_module.__doc__.strip().splitlines()[0]}"
        for _module in _registry.RULE_MODULES
        if _module.__doc__
    )
del _module, _name, _value
