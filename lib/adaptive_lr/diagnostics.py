r"""What to log while an optimizer runs, and how to read it.

* effective learning rates: :func:`effective_lr`, :func:`min_median_max`;
* norms: :func:`global_norm`, :func:`layer_norms`, :func:`relative_update`;
* the optimizer's second moment: :func:`second_moment`;
* loss spikes: :func:`loss_spike_scores`, :func:`detect_loss_spikes`;
* a summary of a :class:`~adaptive_lr.run.Trajectory`: :func:`summarize`,
  :func:`summary_table`.

Everything works on NumPy arrays or lists of arrays (one per layer).
:mod:`adaptive_lr.run` uses these helpers; this module does not import it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import validation

# 1.4826 * MAD estimates the standard deviation of a Gaussian sample (1 / Phi^{-1}(3/4)).
MAD_TO_STD = 1.4826

SECOND_MOMENT_FIELDS = ("v", "accum")
"""State fields read as a second moment, in order of preference."""


def _layers(x, name: str) -> list:
    items = list(x) if isinstance(x, (list, tuple)) else [x]
    out = []
    for i, p in enumerate(items):
        arr = np.asarray(p)
        if arr.dtype.kind not in "fiub":
            label = f"{name}[{i}]" if isinstance(x, (list, tuple)) else name
            raise TypeError(f"{label} must hold real numbers, got dtype {arr.dtype}")
        out.append(arr.astype(np.float64, copy=False))
    return out


def _same_structure(**trees) -> list:
    names = list(trees)
    layered = [isinstance(trees[n], (list, tuple)) for n in names]
    if len(set(layered)) > 1:
        raise TypeError(f"{', '.join(names)} must all be arrays or all be lists of arrays")
    lists = {n: _layers(trees[n], n) for n in names}
    ref = names[0]
    for n in names[1:]:
        if len(lists[n]) != len(lists[ref]):
            raise ValueError(f"{n} has {len(lists[n])} layers but {ref} has {len(lists[ref])}")
        for i, (a, b) in enumerate(zip(lists[n], lists[ref])):
            if a.shape != b.shape:
                raise ValueError(f"{n} layer {i} has shape {a.shape} but {ref} has {b.shape}")
    return [lists[n] for n in names]


def global_norm(x) -> float:
    r"""The Euclidean norm of all entries of an array or list of arrays, :math:`\sqrt{\sum_\ell \|x_\ell\|_F^2}`."""
    return math.sqrt(sum(float(np.vdot(a, a)) for a in _layers(x, "x")))


def layer_norms(x) -> np.ndarray:
    r"""The Frobenius norm :math:`\|x_\ell\|_F` of each layer (one entry for a single array)."""
    return np.array([math.sqrt(float(np.vdot(a, a))) for a in _layers(x, "x")])


def relative_update(theta_prev, theta_next) -> float:
    r"""The relative step :math:`\|\theta_t - \theta_{t-1}\| / \|\theta_{t-1}\|` (NaN when :math:`\theta_{t-1} = 0`)."""
    prev, nxt = _same_structure(theta_prev=theta_prev, theta_next=theta_next)
    denom = math.sqrt(sum(float(np.vdot(a, a)) for a in prev))
    step = math.sqrt(sum(float(np.vdot(b - a, b - a)) for a, b in zip(prev, nxt)))
    return step / denom if denom > 0.0 else math.nan


def effective_lr(theta_prev, theta_next, grad):
    r"""The per-coordinate effective learning rate :math:`|\theta_{t,i} - \theta_{t-1,i}| / |g_{t,i}|`.

    NaN where :math:`g_{t,i} = 0` (no rate is defined there). Same structure
    as the inputs (an array, or a list of arrays). For any rule of the form
    :math:`\theta_{t,i} = \theta_{t-1,i} - \eta_{t,i}\, g_{t,i}` this recovers
    :math:`\eta_{t,i}` exactly: :math:`\eta` for SGD,
    :math:`\eta/(\sqrt{G_t}+\epsilon)` for AdaGrad (compare
    :func:`adaptive_lr.optim.adagrad_effective_lr`), and
    :math:`\eta/(\sqrt{\hat v_t}+\epsilon)` for Adam with :math:`\beta_1 = 0`.
    """
    layered = isinstance(theta_prev, (list, tuple))
    prev, nxt, g = _same_structure(theta_prev=theta_prev, theta_next=theta_next, grad=grad)
    out = []
    for a, b, c in zip(prev, nxt, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(c != 0.0, np.abs(b - a) / np.abs(c), np.nan))
    return out if layered else out[0]


def min_median_max(x) -> np.ndarray:
    """``[min, median, max]`` of the finite entries of ``x`` (NaNs when there are none).

    One sort for small arrays (a few microseconds: the runner calls this every
    step); ``np.partition``-based ``np.median`` for large ones.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    finite = np.isfinite(x)
    if not finite.all():
        x = x[finite]
    n = x.size
    if n == 0:
        return np.full(3, np.nan)
    if n <= 4096:
        s = np.sort(x)
        mid = n // 2
        median = s[mid] if n % 2 else 0.5 * (s[mid - 1] + s[mid])
        return np.array([s[0], median, s[-1]])
    return np.array([x.min(), np.median(x), x.max()])


def second_moment(state, state_names):
    r"""The optimizer's per-coordinate second-moment estimate, from its state, or ``None``.

    The state field ``v`` (Adam, AMSGrad, AdamW, LAMB, RMSProp, SOAP: the
    exponential average of :math:`g^2`, *before* bias correction) or
    ``accum`` (AdaGrad: the sum :math:`G_t`); for Adafactor, whose state is
    the row and column statistics ``R`` and ``C``, the reconstruction
    :math:`\hat V = R C^\top / \mathrm{mean}(R)` (zeros while
    :math:`\mathrm{mean}(R) = 0`). ``None`` for rules without one (SGD,
    momentum, LARS, Shampoo, Muon).
    """
    names = tuple(state_names)
    if len(names) != len(tuple(state)):
        raise ValueError(f"state has {len(tuple(state))} fields but state_names has {len(names)}")
    fields = dict(zip(names, state))
    for key in SECOND_MOMENT_FIELDS:
        if key in fields and fields[key] is not None:
            return np.asarray(fields[key], dtype=np.float64)
    if "R" in fields and "C" in fields:
        R, C = np.asarray(fields["R"], dtype=np.float64), np.asarray(fields["C"], dtype=np.float64)
        mean_R = float(R.mean()) if R.size else 0.0
        if mean_R <= 0.0:
            return np.zeros((R.size, C.size))
        return np.outer(R, C) / mean_R
    return None


def _check_loss(loss) -> np.ndarray:
    loss = np.asarray(loss)
    if loss.dtype.kind not in "fiu":
        raise TypeError(f"loss must hold real numbers, got dtype {loss.dtype}")
    loss = loss.astype(np.float64, copy=False)
    if loss.ndim != 1:
        raise ValueError(f"loss must be a 1-D series, got shape {loss.shape}")
    if not np.all(np.isfinite(loss)):
        raise ValueError(
            "loss contains NaN or inf; pass the finite part (a Trajectory's loss always is)"
        )
    return loss


def _check_window(window) -> int:
    return validation.integer("window", window, 3, "a median needs a few points")


def loss_spike_scores(
    loss,
    window: int = 50,
    log_scale: bool = False,
    rel_floor: float = 1e-6,
    abs_floor: float = 1e-12,
):
    r"""Robust z-scores of each step's change in loss against the changes in the ``window`` losses before it.

    With :math:`\ell_k` the loss at index :math:`k` (or :math:`\log \ell_k`
    when ``log_scale``), :math:`\Delta_k = \ell_k - \ell_{k-1}` the jump into
    index :math:`k`, and :math:`m_k`, :math:`\mathrm{MAD}_k` the median and
    median absolute deviation of the :math:`w-1` jumps within the previous
    :math:`w` losses, :math:`\Delta_{k-w+1}, \dots, \Delta_{k-1}`:

    .. math::

        z_k = \frac{\Delta_k - m_k}{\max\big(1.4826\,\mathrm{MAD}_k,\ \rho\,|\ell_{k-1}| + \alpha\big)}

    Working on jumps rather than levels removes the trend: :math:`m_k` is the
    typical recent change per step (negative while the loss decreases), so a
    loss that falls by decades does not hide a spike, and the MAD measures the
    step-to-step noise, not the distance travelled in a window. The median and
    MAD ignore an isolated earlier spike, which a mean and a standard
    deviation would not; :math:`1.4826\,\mathrm{MAD}` is the standard
    deviation for Gaussian noise. The floor :math:`\rho|\ell_{k-1}| + \alpha`
    (``rel_floor``, ``abs_floor``) keeps a perfectly straight history
    (:math:`\mathrm{MAD} = 0`) from turning rounding noise into a spike.
    :math:`z_k` is NaN for :math:`k < w`; a smooth curve, convex or not,
    scores about 1.35 at most.

    ``log_scale`` compares ratios instead of differences: use it for losses
    that span decades (a jump from 1e-8 to 1e-6 is invisible next to a
    history of steps of size 1e-3). It needs a positive loss.
    """
    loss = _check_loss(loss)
    window = _check_window(window)
    rel_floor = validation.nonneg("rel_floor", rel_floor)
    abs_floor = validation.nonneg("abs_floor", abs_floor)
    if log_scale:
        if np.any(loss <= 0.0):
            raise ValueError(
                "log_scale=True needs a positive loss; shift it or use log_scale=False"
            )
        loss = np.log(loss)
    scores = np.full(loss.shape, np.nan)
    if loss.size <= window:
        return scores
    jumps = np.diff(loss)  # jumps[j] = loss[j + 1] - loss[j]
    # Row j holds jumps[j : j + w - 1], the jumps within loss[j : j + w], the history of k = j + w.
    history = sliding_window_view(jumps[:-1], window - 1)
    current = jumps[window - 1 :]
    median = np.median(history, axis=1)
    mad = np.median(np.abs(history - median[:, None]), axis=1)
    floor = float(rel_floor) * np.abs(loss[window - 1 : -1]) + float(abs_floor)
    scores[window:] = (current - median) / np.maximum(MAD_TO_STD * mad, floor)
    return scores


def detect_loss_spikes(
    loss, window: int = 50, threshold: float = 6.0, log_scale: bool = False
) -> np.ndarray:
    r"""Indices :math:`k` where the loss jumps up relative to its recent history.

    A spike is a robust z-score :math:`z_k > \tau` (``threshold``) in the sense
    of :func:`loss_spike_scores`: the jump :math:`\ell_k - \ell_{k-1}` exceeds
    the median jump of the previous ``window`` losses by more than :math:`\tau`
    robust standard deviations. The first ``window`` indices are never
    flagged (no history). A jump that persists (a new plateau) is flagged
    once, at its first index; an isolated spike is flagged where it goes up,
    not where it comes back down.

    A smooth curve never crosses the threshold. With the defaults
    (:math:`\tau = 6`, 50 losses of history) pure Gaussian noise raises a
    false alarm about once in :math:`10^5` steps, not the :math:`10^{-9}` of
    a Gaussian tail, because the median and MAD of a short window are noisy
    themselves; with a window of 20 it is about once in :math:`10^4`.
    """
    threshold = validation.positive("threshold", threshold)
    scores = loss_spike_scores(loss, window, log_scale)
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(scores > float(threshold))


def _last(x):
    return float(x[-1]) if len(x) else math.nan


def summarize(trajectory, spike_window: int = 50, spike_threshold: float = 6.0) -> Summary:
    """A small dict of a trajectory's headline numbers; ``print`` it for a two-column table.

    Keys: ``optimizer``, ``objective``, ``status``, ``steps``, ``loss_initial``,
    ``loss_final``, ``loss_best``, ``best_step``, ``grad_norm_final``,
    ``dist_to_minimizer_final`` (NaN when unknown), ``update_ratio_final``,
    ``effective_lr_median_final``, ``second_moment_median_final`` (NaN when
    the optimizer has none), ``trust_ratio_final`` (one per layer) and
    ``loss_spikes`` (the number of :func:`detect_loss_spikes` indices).
    """
    if not all(hasattr(trajectory, a) for a in ("loss", "grad_norm", "optimizer", "objective")):
        raise TypeError(
            f"trajectory must be an adaptive_lr.run.Trajectory, got {type(trajectory).__name__}"
        )
    loss = np.asarray(trajectory.loss)
    best = int(np.argmin(loss))
    spikes = (
        detect_loss_spikes(loss, spike_window, spike_threshold) if loss.size > spike_window else []
    )
    trust = np.asarray(trajectory.trust_ratio)
    return Summary(
        optimizer=trajectory.optimizer,
        objective=trajectory.objective,
        status=trajectory.status,
        steps=int(trajectory.n_steps),
        loss_initial=float(loss[0]),
        loss_final=float(loss[-1]),
        loss_best=float(loss[best]),
        best_step=best,
        grad_norm_final=_last(trajectory.grad_norm),
        dist_to_minimizer_final=_last(trajectory.dist_to_minimizer),
        update_ratio_final=_last(trajectory.update_ratio),
        effective_lr_median_final=_last(trajectory.effective_lr_median),
        second_moment_median_final=_last(trajectory.second_moment_median),
        trust_ratio_final=tuple(float(x) for x in trust[-1]) if trust.shape[0] else (),
        loss_spikes=len(spikes),
    )


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


class Summary(dict):
    """A ``dict`` that prints as a two-column table."""

    def __str__(self) -> str:
        width = max((len(k) for k in self), default=0)
        return "\n".join(f"{k:<{width}}  {_fmt(v)}" for k, v in self.items())


def summary_table(
    trajectories,
    keys=(
        "optimizer",
        "status",
        "loss_final",
        "loss_best",
        "grad_norm_final",
        "dist_to_minimizer_final",
    ),
) -> str:
    """A plain-text table with one row per trajectory and one column per :func:`summarize` key."""
    trajectories = list(trajectories)
    if not trajectories:
        raise ValueError("trajectories must hold at least one Trajectory")
    rows = [summarize(t) for t in trajectories]
    keys = tuple(keys)
    for k in keys:
        if k not in rows[0]:
            raise ValueError(f"unknown key {k!r}; choose from {', '.join(rows[0])}")
    cells = [list(keys)] + [[_fmt(r[k]) for k in keys] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(keys))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
