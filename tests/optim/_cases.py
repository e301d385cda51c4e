"""One call of every update rule on given arrays, for tests that sweep all rules.

Derived from the rules' specs (``adaptive_lr.optim.SPECS``), so a new rule is
swept without an entry here. ``RULES`` maps an update function's name to
``(function, build_kwargs, matrix_only)``: ``build_kwargs(theta, grad, rng)``
returns the keyword arguments after ``theta`` and ``grad``, with a state
reached by two steps from the rule's own init (so moments, maxima and
preconditioners are all non-trivial) and ``t=3``; the rule is called as
``fn(theta, grad, **kwargs)``.
"""

from adaptive_lr import optim


def _builder(spec):
    hp = {"lr": spec.tour_lr} if "lr" in spec.required else {}

    def build(theta, grad, rng):
        opt = optim.make_optimizer(spec.name, **hp)
        state = opt.init(theta)
        for t in (1, 2):
            g = rng.standard_normal(theta.shape).astype(theta.dtype)
            _, state = opt.step(theta, g, state, t)
        return {**spec.arguments(state, 3), **spec.bound, **hp}

    return build


RULES = {}
for _spec in optim.SPECS.values():
    # "momentum" and "nesterov" share momentum_update: the first spec stands for it.
    RULES.setdefault(_spec.update.__name__, (_spec.update, _builder(_spec), _spec.matrix_only))


def arrays_in(values):
    """Every array among ``values``, looking inside state tuples."""
    out = []
    for a in values:
        if isinstance(a, tuple):
            out += arrays_in(a)
        elif hasattr(a, "__array_namespace__"):
            out.append(a)
    return out
