"""One call of every update rule on given arrays, for tests that sweep all rules.

Each entry maps a rule's name to ``(build_args, call)``: ``build_args(theta,
grad, rng)`` returns the positional arguments after ``theta`` and ``grad`` with
state of the right shapes, and the rule is called as ``fn(theta, grad, *args)``.
"""

import numpy as np

from adaptive_lr import optim


def _state(theta, rng, positive=False, k=1):
    out = []
    for _ in range(k):
        s = rng.standard_normal(theta.shape).astype(theta.dtype)
        out.append(np.abs(s) if positive else s)
    return out


def adam_args(theta, grad, rng):
    m, v = _state(theta, rng)[0], _state(theta, rng, positive=True)[0]
    return (m, v, 3)


def amsgrad_args(theta, grad, rng):
    m = _state(theta, rng)[0]
    v, vmax = _state(theta, rng, positive=True, k=2)
    return (m, v, vmax, 3)


def matrix_args_adafactor(X, G, rng):
    n, m = X.shape
    R = np.abs(rng.standard_normal(n)).astype(X.dtype)
    C = np.abs(rng.standard_normal(m)).astype(X.dtype)
    return (R, C, 4)


def shampoo_args(W, G, rng):
    L, R = optim.init_shampoo(W, eps=1e-3)
    return (L, R, 0.1)


# name -> (function, argument builder, needs a matrix)
RULES = {
    "adagrad_update": (optim.adagrad_update, lambda th, g, r: (_state(th, r, True)[0],), False),
    "adam_update": (optim.adam_update, adam_args, False),
    "amsgrad_update": (optim.amsgrad_update, amsgrad_args, False),
    "adam_l2_update": (optim.adam_l2_update, adam_args, False),
    "adamw_update": (optim.adamw_update, adam_args, False),
    "lamb_update": (optim.lamb_update, adam_args, False),
    "lars_update": (optim.lars_update, lambda th, g, r: (_state(th, r)[0], 0.1), False),
    "momentum_update": (optim.momentum_update, lambda th, g, r: (_state(th, r)[0],), False),
    "rmsprop_update": (optim.rmsprop_update, lambda th, g, r: (_state(th, r, True)[0],), False),
    "sgd_update": (optim.sgd_update, lambda th, g, r: (), False),
    "adafactor_update": (optim.adafactor_update, matrix_args_adafactor, True),
    "shampoo_update": (optim.shampoo_update, shampoo_args, True),
    "muon_update": (optim.muon_update, lambda th, g, r: (_state(th, r)[0],), True),
}
