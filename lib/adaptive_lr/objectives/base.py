"""The common interface of every objective, the argument checks and two helpers
(finite differences and loss grids) that work for any objective.

Two conventions shape everything here:

* ``value(params, t)`` is the objective being minimized (the full-batch or
  noise-free loss); ``grad(params, t)`` is what an optimizer sees at step ``t``
  (exactly the gradient of ``value`` for deterministic objectives, an unbiased
  estimate for noisy or minibatch ones, one online loss's gradient for
  :class:`~adaptive_lr.objectives.ReddiOnline`). ``full_grad(params)`` is always
  the exact gradient of ``value``.
* Randomness at step ``t`` comes from a generator seeded by ``(seed, t)``, so
  the gradient at step ``t`` is the same whatever happened before: two runs,
  or two optimizers, see the same minibatches.
"""

from __future__ import annotations

import numpy as np

from .. import validation

# One check, one message, for the objectives and the update rules alike (see validation).
check_step = validation.step_index
check_real = validation.finite_real
check_nonneg = validation.nonneg
check_positive = validation.positive
check_positive_int = validation.positive_int
as_float_array = validation.as_float_array


def check_seed(seed, name: str = "seed") -> int:
    """Return ``seed`` as an ``int``; raise unless it is an integer ``>= 0``."""
    return validation.nonneg_int(name, seed)


def step_rng(seed: int, t: int) -> np.random.Generator:
    """The generator of step ``t``: seeded by ``(seed, t)``, independent of earlier steps."""
    return np.random.default_rng((seed, t))


def minibatch_indices(n: int, batch_size: int | None, seed: int, t: int):
    """Indices of the minibatch of step ``t`` (without replacement), or ``None`` for the full batch."""
    if batch_size is None or batch_size >= n:
        return None
    return step_rng(seed, t).choice(n, size=batch_size, replace=False)


class Objective:
    r"""Base class: a differentiable function of ``params`` with the course's interface.

    Subclasses set ``name`` and ``_shapes`` (a tuple of parameter shapes;
    ``_layered`` True when params are a list of arrays) and implement
    ``_value(params)`` and ``_grad(params, t)``; they may override
    ``_value_and_grad`` to share work, ``_full_grad`` when ``_grad`` is
    stochastic, and ``project``. The public methods check their arguments
    once, then call those.

    ``value`` and ``full_grad`` ignore ``t`` (it is there so that every method
    has one signature); ``grad`` uses it for its noise or minibatch.
    """

    name: str = "objective"
    stochastic: bool = False
    """True when ``grad(params, t)`` differs from ``full_grad(params)`` (noise, minibatches, online)."""
    plot_bounds: tuple | None = None
    """Default ``(xlim, ylim)`` of :meth:`loss_grid` for 2-D objectives."""
    _shapes: tuple = ()
    _layered: bool = False
    _theta0 = None
    _minimizer = None

    # -- argument checks ---------------------------------------------------
    def _check_params(self, params):
        if self._layered:
            if not isinstance(params, (list, tuple)):
                raise TypeError(
                    f"params must be a list of {len(self._shapes)} arrays for {self.name}, "
                    f"got {type(params).__name__}"
                )
            if len(params) != len(self._shapes):
                raise ValueError(
                    f"params must have {len(self._shapes)} layers for {self.name}, got {len(params)}"
                )
            return [
                self._check_array(f"params[{i}]", p, s)
                for i, (p, s) in enumerate(zip(params, self._shapes))
            ]
        return self._check_array("params", params, self._shapes[0])

    @staticmethod
    def _check_array(name, p, shape):
        if not isinstance(p, np.ndarray) or p.dtype != np.float64:
            if isinstance(p, (list, tuple)):
                p = np.asarray(p)
            if not isinstance(p, np.ndarray) or p.dtype.kind not in "fiu":
                raise TypeError(f"{name} must be a real NumPy array, got {type(p).__name__}")
            p = p.astype(np.float64)
        if p.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {p.shape}")
        return p

    # -- the interface -----------------------------------------------------
    @property
    def param_shapes(self) -> tuple:
        """The shape of ``params`` (one shape per layer for layered objectives)."""
        return self._shapes if self._layered else self._shapes[0]

    def init_params(self, seed: int = 0):
        """The starting point: the objective's fixed start when it has one, else a draw from ``seed``."""
        seed = check_seed(seed)
        if self._theta0 is not None:
            return self._theta0.copy()
        return self._init_params(np.random.default_rng(seed))

    def _init_params(self, rng):  # pragma: no cover - every subclass overrides or sets _theta0
        raise NotImplementedError

    def value(self, params, t: int = 1) -> float:
        """The loss at ``params`` (full batch, noise free)."""
        params = self._check_params(params)
        check_step(t)
        return float(self._value(params))

    def grad(self, params, t: int = 1):
        """The gradient an optimizer sees at step ``t``, in the structure of ``params``."""
        params = self._check_params(params)
        return self._grad(params, check_step(t))

    def value_and_grad(self, params, t: int = 1):
        """``(value(params, t), grad(params, t))``, sharing work where possible."""
        params = self._check_params(params)
        value, grad = self._value_and_grad(params, check_step(t))
        return float(value), grad

    def full_grad(self, params):
        """The exact gradient of :meth:`value` (no noise, full batch)."""
        return self._full_grad(self._check_params(params))

    @property
    def minimizer(self):
        """A minimizer of :meth:`value` (a copy), or ``None`` when not known in closed form."""
        if self._minimizer is None:
            return None
        if self._layered:
            return [m.copy() for m in self._minimizer]
        return self._minimizer.copy()

    def project(self, params):
        """Map ``params`` onto the feasible set. The identity, except for constrained problems."""
        return params

    def _value_and_grad(self, params, t):
        return self._value(params), self._grad(params, t)

    def _full_grad(self, params):
        return self._grad(params, 1)

    # -- plotting helper ---------------------------------------------------
    def _values(self, points: np.ndarray) -> np.ndarray:
        """The loss at each row of ``points``; subclasses vectorize this."""
        return np.array([self._value(p) for p in points])

    def loss_grid(self, xlim=None, ylim=None, num: int = 101):
        """``(X, Y, Z)`` for a contour plot of a 2-D objective: ``Z[i, j] = value([X[i, j], Y[i, j]])``.

        ``xlim`` and ``ylim`` default to ``plot_bounds``; ``num`` points per axis.
        Use as ``plt.contour(X, Y, Z)``.
        """
        if self._layered or self._shapes[0] != (2,):
            raise ValueError(
                f"loss_grid needs an objective of two parameters; {self.name} has shape {self.param_shapes}"
            )
        if xlim is None or ylim is None:
            if self.plot_bounds is None:
                raise ValueError(f"{self.name} has no default plot_bounds; pass xlim and ylim")
            xlim = self.plot_bounds[0] if xlim is None else xlim
            ylim = self.plot_bounds[1] if ylim is None else ylim
        num = check_positive_int("num", num)
        lims = {}
        for arg, lim in (("xlim", xlim), ("ylim", ylim)):
            lim = as_float_array(arg, lim, shape=(2,))
            if not lim[0] < lim[1]:
                raise ValueError(f"{arg} must be (low, high) with low < high, got {tuple(lim)}")
            lims[arg] = lim
        X, Y = np.meshgrid(np.linspace(*lims["xlim"], num), np.linspace(*lims["ylim"], num))
        Z = self._values(np.stack([X.ravel(), Y.ravel()], axis=1)).reshape(X.shape)
        return X, Y, Z

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} params {self.param_shapes}>"


def finite_difference_grad(f, params, h: float = 1e-6):
    r"""Central finite differences of a scalar function ``f`` of ``params``.

    .. math::

        \frac{\partial f}{\partial \theta_i} \approx \frac{f(\theta + h e_i) - f(\theta - h e_i)}{2h}

    with an error of order :math:`h^2`. ``params`` is an array or a list of
    arrays (the result has the same structure). Costs two calls of ``f`` per
    coordinate: meant for checking hand-written gradients on small problems.
    """
    h = check_positive("h", h)
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    layered = isinstance(params, (list, tuple))
    layers = (
        [as_float_array(f"params[{i}]", p).copy() for i, p in enumerate(params)]
        if layered
        else [as_float_array("params", params).copy()]
    )

    def call():
        return float(f(layers if layered else layers[0]))

    grads = []
    for layer in layers:
        g = np.zeros_like(layer)
        flat, gflat = layer.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            up = call()
            flat[i] = old - h
            down = call()
            flat[i] = old
            gflat[i] = (up - down) / (2.0 * h)
        grads.append(g)
    return grads if layered else grads[0]


def loss_grid(objective: Objective, xlim=None, ylim=None, num: int = 101):
    """``objective.loss_grid(xlim, ylim, num)``: the ``(X, Y, Z)`` of a contour plot."""
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an Objective, got {type(objective).__name__}")
    return objective.loss_grid(xlim, ylim, num)
