r"""Run an optimizer on an objective and record what there is to see.

:func:`run` drives any :class:`adaptive_lr.optim.Optimizer` on any objective
of :mod:`adaptive_lr.objectives` and returns a :class:`Trajectory`: the
iterates, the loss, norms, effective learning rates, second-moment statistics
and trust ratios, one row per step. The step loop is, for
:math:`t = 1, \dots, T`:

.. math::

    (\ell_{t-1}, g_t) &= \texttt{objective.value\_and\_grad}(\theta_{t-1}, t) \\
    (\theta_t', s_t) &= \texttt{optimizer.step}(\theta_{t-1}, g_t, s_{t-1}, t)
        \quad\text{(layer by layer, } \texttt{apply\_to\_layers}\text{)} \\
    \theta_t &= \texttt{objective.project}(\theta_t')

followed by :math:`\ell_T = \texttt{objective.value}(\theta_T)`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import optim, validation
from .diagnostics import min_median_max, second_moment
from .optim import Optimizer, apply_to_layers, init_layers, make_optimizer, trust_ratio

ON_DIVERGENCE = ("stop", "warn", "raise")


class DivergenceWarning(UserWarning):
    """Issued by :func:`run` with ``on_divergence="warn"`` when the loss stops being finite."""


class DivergenceError(FloatingPointError):
    """Raised by :func:`run` with ``on_divergence="raise"`` when the loss stops being finite."""


@dataclass(eq=False)  # arrays have no single truth value, so == between trajectories is not defined
class Trajectory:
    r"""What :func:`run` records. ``n = n_steps`` is the number of steps completed.

    Snapshots (index ``k`` is the iterate after ``k`` steps, ``k = 0 .. n``):

    ``params``
        ``(n+1, *shape)`` array of iterates :math:`\theta_k`, or for a layered
        objective a list with one such array per layer; ``None`` when
        ``record_params=False``.
    ``grads``
        ``(n, *shape)`` (or a list per layer): :math:`g_t` at index ``t-1``;
        ``None`` unless ``record_grads=True``.
    ``loss``
        ``(n+1,)``: ``objective.value`` at :math:`\theta_k`.
    ``param_norm``, ``layer_param_norm``
        ``(n+1,)`` and ``(n+1, L)``: :math:`\|\theta_k\|` (over all layers)
        and per layer (Frobenius norms).
    ``dist_to_minimizer``
        ``(n+1,)``: :math:`\|\theta_k - \theta^*\|`, NaN when the objective's
        minimizer is not known.

    Per step (index ``t-1`` describes step ``t``, from :math:`\theta_{t-1}` to :math:`\theta_t`):

    ``grad_norm``, ``layer_grad_norm``
        :math:`\|g_t\|`, overall and per layer.
    ``update_norm``, ``layer_update_norm``
        :math:`\|\Delta\theta_t\|` with :math:`\Delta\theta_t = \theta_t - \theta_{t-1}`
        (after projection).
    ``update_ratio``
        :math:`\|\Delta\theta_t\| / \|\theta_{t-1}\|`, the relative step; NaN
        when :math:`\theta_{t-1} = 0`.
    ``effective_lr_min``, ``effective_lr_median``, ``effective_lr_max``
        statistics over coordinates of the effective learning rate
        :math:`\eta^{\mathrm{eff}}_{t,i} = |\Delta\theta_{t,i}| / |g_{t,i}|`,
        taken over the coordinates with :math:`g_{t,i} \ne 0` (NaN when there
        are none). It is defined for any optimizer: for SGD it is
        :math:`\eta` everywhere; for AdaGrad it is exactly
        :math:`\eta/(\sqrt{G_{t,i}}+\epsilon)`, and for Adam with
        :math:`\beta_1 = 0` exactly :math:`\eta/(\sqrt{\hat v_{t,i}}+\epsilon)`;
        with momentum it also carries the ratio :math:`|\hat m_{t,i}|/|g_{t,i}|`,
        and weight decay or a projection add their share of the step.
    ``second_moment_min``, ``second_moment_median``, ``second_moment_max``
        statistics over all coordinates of the optimizer's second-moment
        state after step ``t`` (see
        :func:`adaptive_lr.diagnostics.second_moment`: the state field ``v``,
        or ``accum``, or Adafactor's :math:`R C^\top / \mathrm{mean}(R)`; raw,
        before bias correction); NaN when the optimizer keeps none.
    ``trust_ratio``
        ``(n, L)``: per layer, ``adaptive_lr.optim.trust_ratio(w, u)`` of the
        layer's weight :math:`w = \theta_{t-1}` and its update direction per
        unit learning rate :math:`u = \Delta\theta_t / \eta`. For SGD
        :math:`u = g_t`, so this is the ratio LARS would apply (trust
        coefficient 1, no weight decay); for Adam it is the ratio LAMB would
        apply to Adam's direction (no weight decay); for LAMB itself
        it is 1 (LAMB makes :math:`\|\Delta w\| = \eta\|w\|`). NaN when the
        optimizer has no learning rate ``lr`` or it is 0.

    Also: ``final_params`` (the structure of the objective's params),
    ``final_state`` (the optimizer state: a tuple, or a list of tuples for a
    layered objective), ``state_names``, ``optimizer``, ``hyperparams``,
    ``objective``, ``steps`` (requested), ``diverged_at`` (``None``, or the
    index ``k`` of the first iterate whose loss, gradient or entries were not
    finite; the record stops at :math:`\theta_{k-1}`, so every loss and
    iterate in it is finite) and ``layer_names``.
    """

    optimizer: str
    hyperparams: dict
    objective: str
    steps: int
    loss: np.ndarray
    grad_norm: np.ndarray
    update_norm: np.ndarray
    param_norm: np.ndarray
    update_ratio: np.ndarray
    effective_lr_min: np.ndarray
    effective_lr_median: np.ndarray
    effective_lr_max: np.ndarray
    second_moment_min: np.ndarray
    second_moment_median: np.ndarray
    second_moment_max: np.ndarray
    layer_param_norm: np.ndarray
    layer_grad_norm: np.ndarray
    layer_update_norm: np.ndarray
    trust_ratio: np.ndarray
    dist_to_minimizer: np.ndarray
    params: object
    grads: object
    final_params: object
    final_state: object
    state_names: tuple
    layer_names: tuple = field(default=())
    diverged_at: int | None = None

    @property
    def n_steps(self) -> int:
        """The number of steps completed (``steps`` unless the run diverged)."""
        return self.loss.shape[0] - 1

    @property
    def diverged(self) -> bool:
        """True when the run stopped early on a non-finite loss, gradient or iterate."""
        return self.diverged_at is not None

    @property
    def iterations(self) -> np.ndarray:
        """``0, 1, ..., n``: the x-axis of the snapshot arrays (``iterations[1:]`` for per-step ones)."""
        return np.arange(self.n_steps + 1)

    def effective_lr_per_coordinate(self) -> np.ndarray:
        r"""The ``(n, P)`` array of :math:`|\Delta\theta_{t,i}| / |g_{t,i}|` over all ``P`` coordinates.

        Layers are flattened and concatenated in order; NaN where
        :math:`g_{t,i} = 0`. Needs ``record_params=True`` and ``record_grads=True``.
        """
        if self.params is None or self.grads is None:
            raise ValueError(
                "effective_lr_per_coordinate needs run(..., record_params=True, record_grads=True)"
            )
        params = self.params if isinstance(self.params, list) else [self.params]
        grads = self.grads if isinstance(self.grads, list) else [self.grads]
        n = self.n_steps
        delta = np.concatenate([np.abs(np.diff(p, axis=0)).reshape(n, -1) for p in params], axis=1)
        g = np.concatenate([np.abs(x).reshape(n, -1) for x in grads], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(g != 0.0, delta / g, np.nan)

    @property
    def status(self) -> str:
        """``"completed"``, or ``"diverged at step k"``."""
        return "completed" if self.diverged_at is None else f"diverged at step {self.diverged_at}"

    def __repr__(self) -> str:
        return (
            f"<Trajectory {self.optimizer} on {self.objective}: {self.n_steps} of {self.steps} steps, "
            f"{self.status}, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}>"
        )


# The learning rate a run reports: bound, or the rule's default (from its spec).
learning_rate = optim.learning_rate


def _resolve_optimizer(optimizer, hyperparams) -> Optimizer:
    if isinstance(optimizer, str):
        return make_optimizer(optimizer, **hyperparams)
    if isinstance(optimizer, Optimizer):
        if hyperparams:
            raise TypeError(
                f"hyperparameters ({', '.join(hyperparams)}) can only be given with an optimizer "
                f"name; {optimizer.name!r} already has them bound"
            )
        return optimizer
    raise TypeError(
        f"optimizer must be an adaptive_lr.optim.Optimizer or a name such as 'adam', "
        f"got {type(optimizer).__name__}"
    )


def _check_objective(objective) -> None:
    for attr in ("init_params", "value", "value_and_grad", "project"):
        if not callable(getattr(objective, attr, None)):
            raise TypeError(
                f"objective must provide {attr}() (see adaptive_lr.objectives), "
                f"got {type(objective).__name__}"
            )


def _as_layers(params, layered: bool, what: str) -> list:
    items = list(params) if layered else [params]
    layers = []
    for i, p in enumerate(items):
        arr = np.asarray(p)
        if arr.dtype.kind not in "fiu":
            raise TypeError(
                f"{what}{f'[{i}]' if layered else ''} must hold real numbers, got dtype {arr.dtype}"
            )
        layers.append(np.array(arr, dtype=np.float64))  # a copy: the caller's array stays untouched
    return layers


def _projected(objective, layers, layered) -> list:
    out = objective.project(layers if layered else layers[0])
    out = list(out) if layered else [out]
    # The optimizer returns fresh arrays and nothing here writes to them, so no copy is needed.
    if all(isinstance(p, np.ndarray) and p.dtype == np.float64 for p in out):
        return out
    return _as_layers(out, True, "project(params)")


def _name(objective) -> str:
    return str(getattr(objective, "name", type(objective).__name__))


def _layer_names(objective, n_layers: int) -> tuple:
    names = getattr(objective, "layer_names", None)
    if names is not None and len(names) == n_layers:
        return tuple(str(x) for x in names)
    return ("theta",) if n_layers == 1 else tuple(f"layer{i}" for i in range(n_layers))


def _effective_lr_stats(deltas, grads):
    # |dtheta_i| / |g_i| over the coordinates with g_i != 0, pooled over layers.
    if len(grads) == 1:
        g, d = grads[0].reshape(-1), deltas[0].reshape(-1)
    else:
        g = np.concatenate([x.reshape(-1) for x in grads])
        d = np.concatenate([x.reshape(-1) for x in deltas])
    nonzero = g != 0.0
    if not nonzero.all():
        g, d = g[nonzero], d[nonzero]
    return min_median_max(np.abs(d) / np.abs(g))


def _norm(a) -> float:
    return math.sqrt(float(np.vdot(a, a)))


def _all_finite(value, layers) -> bool:
    if not math.isfinite(value):
        return False
    # One float64 sum per layer: NaN or inf anywhere makes it non-finite. A finite
    # array whose sum overflows is flagged too, which only happens far past divergence.
    return all(math.isfinite(float(np.sum(g))) for g in layers)


def run(
    optimizer,
    objective,
    steps: int,
    params0=None,
    seed: int = 0,
    record_params: bool = True,
    record_grads: bool = False,
    on_divergence: str = "stop",
    **hyperparams,
) -> Trajectory:
    r"""Run ``optimizer`` on ``objective`` for ``steps`` steps and return the :class:`Trajectory`.

    Parameters
    ----------
    optimizer : Optimizer or str
        An :class:`adaptive_lr.optim.Optimizer`, or a name for
        :func:`adaptive_lr.optim.make_optimizer` with ``**hyperparams``:
        ``run("adam", obj, 100, lr=0.1)``.
    objective
        An objective of :mod:`adaptive_lr.objectives` (or anything with the same interface).
    steps : int >= 0
    params0 : array or list of arrays, optional
        The start; by default ``objective.init_params(seed)``. Copied as
        float64 and projected onto the feasible set.
    seed : int
        Seeds ``init_params`` only; the objective's noise has its own seed.
    record_params : bool
        Keep every iterate (``Trajectory.params``); turn off for large models.
    record_grads : bool
        Keep every gradient (``Trajectory.grads``), needed for the
        per-coordinate :meth:`Trajectory.effective_lr_per_coordinate`.
    on_divergence : {"stop", "warn", "raise"}
        When a loss, gradient or iterate stops being finite, the run stops and
        records ``diverged_at``; ``"warn"`` also issues a
        :class:`DivergenceWarning`, ``"raise"`` raises :class:`DivergenceError`
        instead of returning. A finite step whose norm overflows float64
        counts as divergence too.

    Each step calls ``value_and_grad`` once; a single-array objective runs as
    a one-layer list through :func:`adaptive_lr.optim.apply_to_layers`, so
    layered and single-array objectives share one loop. Floating-point
    warnings are silenced inside the loop because non-finite values are
    detected and reported explicitly.
    """
    opt = _resolve_optimizer(optimizer, hyperparams)
    _check_objective(objective)
    steps = validation.nonneg_int("steps", steps)
    seed = validation.nonneg_int("seed", seed)
    validation.one_of("on_divergence", on_divergence, ON_DIVERGENCE)

    start = objective.init_params(int(seed)) if params0 is None else params0
    layered = isinstance(start, (list, tuple))
    theta = _as_layers(start, layered, "params0")
    theta = _as_layers(
        objective.project(theta if layered else theta[0]), layered, "project(params0)"
    )
    n_layers = len(theta)

    def unwrap(layers):
        return layers if layered else layers[0]

    try:
        states = init_layers(opt, theta)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{opt.name} cannot be applied to {_name(objective)}: {err}") from err

    minimizer = getattr(objective, "minimizer", None)
    minimizer = None if minimizer is None else _as_layers(minimizer, layered, "objective.minimizer")
    lr = learning_rate(opt)

    # Preallocated records; truncated at the end if the run diverges.
    loss = np.full(steps + 1, np.nan)
    layer_param_norm = np.full((steps + 1, n_layers), np.nan)
    dist = np.full(steps + 1, np.nan)
    layer_grad_norm = np.full((steps, n_layers), np.nan)
    layer_update_norm = np.full((steps, n_layers), np.nan)
    trust = np.full((steps, n_layers), np.nan)
    eff = np.full((steps, 3), np.nan)
    second = np.full((steps, 3), np.nan)
    snapshots = [np.empty((steps + 1, *p.shape)) for p in theta] if record_params else None
    grad_record = [np.empty((steps, *p.shape)) for p in theta] if record_grads else None

    def record_snapshot(k, layers):
        layer_param_norm[k] = [_norm(p) for p in layers]
        if minimizer is not None:
            dist[k] = math.sqrt(
                sum(float(np.vdot(p - m, p - m)) for p, m in zip(layers, minimizer))
            )
        if snapshots is not None:
            for buf, p in zip(snapshots, layers):
                buf[k] = p

    record_snapshot(0, theta)
    diverged_at, n_done = None, steps
    prev_theta, prev_states = theta, states
    with np.errstate(all="ignore"):
        if steps == 0:
            loss[0] = objective.value(unwrap(theta), 1)
            if not math.isfinite(loss[0]):
                raise ValueError(
                    f"the loss of {_name(objective)} at params0 is not finite; check the start"
                )
        for t in range(1, steps + 1):
            value, grads = objective.value_and_grad(unwrap(theta), t)
            grads = list(grads) if layered else [grads]
            if not _all_finite(value, grads):
                if t == 1:
                    raise ValueError(
                        f"the loss or gradient of {_name(objective)} at params0 is not finite; check the start"
                    )
                # theta_{t-1} is bad: keep the record up to theta_{t-2} and its state.
                diverged_at, n_done = t - 1, t - 2
                theta, states = prev_theta, prev_states
                break
            loss[t - 1] = value
            new_theta, new_states = apply_to_layers(opt, theta, grads, states, t)
            new_theta = _projected(objective, new_theta, layered)
            deltas = [new - old for new, old in zip(new_theta, theta)]
            update_norms = [_norm(d) for d in deltas]
            if not all(math.isfinite(u) for u in update_norms):
                diverged_at, n_done = t, t - 1
                break
            i = t - 1
            layer_update_norm[i] = update_norms
            layer_grad_norm[i] = [_norm(g) for g in grads]
            if grad_record is not None:
                for buf, g in zip(grad_record, grads):
                    buf[i] = g
            if lr > 0.0:
                trust[i] = [trust_ratio(w, d / lr) for w, d in zip(theta, deltas)]
            eff[i] = _effective_lr_stats(deltas, grads)
            v = [second_moment(s, opt.state_names) for s in new_states]
            if all(x is not None for x in v):
                second[i] = min_median_max(
                    v[0].reshape(-1)
                    if n_layers == 1
                    else np.concatenate([x.reshape(-1) for x in v])
                )
            prev_theta, prev_states = theta, states
            theta, states = new_theta, new_states
            record_snapshot(t, theta)
        else:
            if steps:
                loss[steps] = objective.value(unwrap(theta), steps + 1)
                if not math.isfinite(loss[steps]):
                    diverged_at, n_done = steps, steps - 1
                    theta, states = prev_theta, prev_states

    if diverged_at is not None:
        message = (
            f"{opt.name} on {_name(objective)} diverged at step {diverged_at}: the loss, gradient "
            "or iterate stopped being finite; try a smaller learning rate"
        )
        if on_divergence == "raise":
            raise DivergenceError(message)
        if on_divergence == "warn":
            warnings.warn(message, DivergenceWarning, stacklevel=2)

    n = n_done
    # Norms just short of divergence can overflow when squared: inf is the honest answer there.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        grad_norm = np.sqrt(np.sum(layer_grad_norm[:n] ** 2, axis=1))
        update_norm = np.sqrt(np.sum(layer_update_norm[:n] ** 2, axis=1))
        param_norm = np.sqrt(np.sum(layer_param_norm[: n + 1] ** 2, axis=1))
        update_ratio = np.where(param_norm[:n] > 0.0, update_norm / param_norm[:n], np.nan)
    params = None if snapshots is None else unwrap([buf[: n + 1] for buf in snapshots])
    grads_out = None if grad_record is None else unwrap([buf[:n] for buf in grad_record])
    return Trajectory(
        optimizer=opt.name,
        hyperparams=dict(opt.hyperparams),
        objective=_name(objective),
        steps=steps,
        loss=loss[: n + 1],
        grad_norm=grad_norm,
        update_norm=update_norm,
        param_norm=param_norm,
        update_ratio=update_ratio,
        effective_lr_min=eff[:n, 0],
        effective_lr_median=eff[:n, 1],
        effective_lr_max=eff[:n, 2],
        second_moment_min=second[:n, 0],
        second_moment_median=second[:n, 1],
        second_moment_max=second[:n, 2],
        layer_param_norm=layer_param_norm[: n + 1],
        layer_grad_norm=layer_grad_norm[:n],
        layer_update_norm=layer_update_norm[:n],
        trust_ratio=trust[:n],
        dist_to_minimizer=dist[: n + 1],
        params=params,
        grads=grads_out,
        final_params=unwrap([p.copy() for p in theta]),
        final_state=states if layered else states[0],
        state_names=tuple(opt.state_names),
        layer_names=_layer_names(objective, n_layers),
        diverged_at=diverged_at,
    )
