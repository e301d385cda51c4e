"""A catalogue of the mistakes students make in the ten exercises, as runnable code.

Each entry is a complete wrong implementation, written the way a student
would write it (NumPy only, the exercise's name and signature). The catalogue
serves twice:

* the referee runs the mistakes of a function on a failing case, and when the
  student's result matches one of them, the message names the mistake
  (``"bias correction missing: ..."``) instead of only printing numbers;
* the tests build one mutated submission per entry (the solution notebook with
  that one function replaced by the entry's source) and check that it loses
  points in its own exercise and nowhere else.

Mistakes that only modify an argument in place return the right numbers: they
are caught by the input-mutation check, which names the argument.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Callable, NamedTuple

import numpy as np


class Mistake(NamedTuple):
    exercise: int
    function: str
    slug: str
    description: str
    impl: Callable
    origin: str = ""
    """Where students meet this convention (a library, a textbook, a course), quoted in messages."""
    code: str = ""
    """The source of an entry built from a template (:func:`newton_schulz_source`, :func:`muon_source`)."""

    @property
    def key(self) -> str:
        return f"{self.exercise:02d}-{self.function}-{self.slug}"

    @property
    def source(self) -> str:
        """The implementation's source, without the registering decorator."""
        if self.code:
            return self.code
        lines = textwrap.dedent(inspect.getsource(self.impl)).splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("def "))
        return "\n".join(lines[start:]) + "\n"

    @property
    def mutates(self) -> bool:
        return self.slug.startswith("mutates")


MISTAKES: list[Mistake] = []


def _mistake(exercise: int, slug: str, description: str):
    def register(fn):
        MISTAKES.append(Mistake(exercise, fn.__name__, slug, description, fn))
        return fn

    return register


def built(exercise: int, slug: str, description: str, code: str, origin: str = "") -> Mistake:
    """A catalogue entry whose implementation is ``code``, a template's source."""
    namespace = {"np": np}
    exec(compile(code, f"<{slug}>", "exec"), namespace)  # noqa: S102  (the catalogue's own templates)
    name = code[len("def "):code.index("(")]
    return Mistake(exercise, name, slug, description, namespace[name], origin, code)


def newton_schulz_source(normalize: str | None = "X / max(np.linalg.norm(X), eps)", cubic: bool = False) -> str:
    """``newton_schulz`` as students write it, varied where their versions differ.

    ``normalize`` is the expression that scales ``X`` before the iteration
    (``None``: not scaled); ``cubic`` takes the textbook iteration
    ``X = 1.5*X - 0.5*(X@X.T)@X`` instead of Muon's quintic one.
    """
    lines = ["def newton_schulz(G, steps=5, eps=1e-7):"]
    if not cubic:
        lines.append("    a, b, c = 3.4445, -4.7750, 2.0315")
    lines += ["    tall = G.shape[0] > G.shape[1]", "    X = G.T if tall else G"]
    if normalize:
        lines.append(f"    X = {normalize}")
    lines.append("    for _ in range(steps):")
    if cubic:
        lines.append("        X = 1.5 * X - 0.5 * (X @ X.T) @ X")
    else:
        lines += ["        A = X @ X.T", "        X = a * X + (b * A + c * A @ A) @ X"]
    lines.append("    return X.T if tall else X")
    return "\n".join(lines) + "\n"


def muon_source(buf: str = "momentum * buf + (1 - momentum) * G",
                u: str = "(1 - momentum) * G + momentum * buf if nesterov else buf",
                scale: str | None = "max(1.0, rows / cols) ** 0.5", decay_after: bool = False) -> str:
    """``muon_update`` as students write it, varied where their versions differ.

    ``buf`` is the new momentum buffer, ``u`` what is orthogonalized, ``scale``
    the shape factor of the step (``None``: none), ``decay_after`` decays the
    updated weights instead of the weights before the step. The step calls
    ``newton_schulz``, the student's own in a notebook.
    """
    step = "lr * scale * newton_schulz(u, steps)" if scale else "lr * newton_schulz(u, steps)"
    new_w = f"(W - {step}) * (1 - lr * weight_decay)" if decay_after else f"W * (1 - lr * weight_decay) - {step}"
    return ("def muon_update(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):\n"
            f"    buf = {buf}\n"
            f"    u = {u}\n"
            "    rows, cols = W.shape\n"
            + (f"    scale = {scale}\n" if scale else "")
            + f"    return {new_w}, buf\n")


def of_function(name: str) -> list[Mistake]:
    """The whole catalogue for ``name``: the mistakes below and the conventions of :mod:`.conventions`."""
    from .conventions import CONVENTIONS

    return [m for m in MISTAKES + CONVENTIONS if m.function == name]


def of_exercise(exercise: int) -> list[Mistake]:
    return [m for m in MISTAKES if m.exercise == exercise]


# --- 1. AdaGrad -------------------------------------------------------------------


@_mistake(1, "eps-inside-sqrt",
          "epsilon inside the square root: AdaGrad divides by sqrt(accum) + eps, with eps outside "
          "the root; with eps=1e-3 and gradients near 1e-7, sqrt(accum + eps) is 30 times too big")
def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10):
    accum = accum + grad**2
    theta = theta - lr * grad / np.sqrt(accum + eps)
    return theta, accum


@_mistake(1, "stale-accumulator",
          "the step divides by the accumulator before grad**2 is added: add the new squared gradient "
          "first, then divide by sqrt(accum_new) + eps (at t=1 from zero the step should be about "
          "lr*sign(grad), not lr*grad/eps)")
def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10):  # noqa: F811
    theta = theta - lr * grad / (np.sqrt(accum) + eps)
    accum = accum + grad**2
    return theta, accum


@_mistake(1, "mutates-accum", "modifies accum in place (accum += grad**2)")
def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10):  # noqa: F811
    accum += grad**2
    theta = theta - lr * grad / (np.sqrt(accum) + eps)
    return theta, accum


@_mistake(1, "no-sqrt",
          "the square root is missing: the effective learning rate is lr/(sqrt(accum) + eps), "
          "so it decays like 1/sqrt(t) for a constant gradient, not like 1/t")
def adagrad_effective_lr(accum, lr=1e-2, eps=1e-10):
    return lr / (accum + eps)


# --- 2. Exponential moving average ------------------------------------------------


@_mistake(2, "weights-swapped",
          "beta and 1 - beta are swapped: the average keeps beta of the old m and adds (1 - beta) "
          "of the new gradient, m = beta*m + (1 - beta)*grad")
def ema_update(m, grad, beta):
    return (1 - beta) * m + beta * grad


@_mistake(2, "mutates-m", "modifies m in place (m *= beta; m += ...)")
def ema_update(m, grad, beta):  # noqa: F811
    m *= beta
    m += (1 - beta) * grad
    return m


@_mistake(2, "newest-first",
          "the weights are in the wrong order: weights[i-1] belongs to g_i, oldest first, so the "
          "last entry (the newest gradient) is the largest, 1 - beta")
def ema_weights(beta, t):
    i = np.arange(1, t + 1)
    return (1 - beta) * beta ** (i - 1)


@_mistake(2, "missing-one-minus-beta",
          "the factor (1 - beta) is missing: the weight of g_i is (1 - beta)*beta**(t - i), and the "
          "weights sum to 1 - beta**t")
def ema_weights(beta, t):  # noqa: F811
    i = np.arange(1, t + 1)
    return beta ** (t - i)


# --- 3. Adam ------------------------------------------------------------------------


@_mistake(3, "no-bias-correction",
          "bias correction missing: m_hat = m/(1 - beta1**t) and v_hat = v/(1 - beta2**t). At t=1 "
          "from zero, m_hat should equal grad, but the uncorrected m is only (1 - beta1)*grad")
def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    theta = theta - lr * m / (np.sqrt(v) + eps)
    return theta, m, v


@_mistake(3, "eps-inside-sqrt",
          "epsilon inside the square root: the step is lr*m_hat/(sqrt(v_hat) + eps), with eps "
          "outside the root; with eps=1e-3 and gradients near 1e-7 the two differ thirty-fold")
def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * m_hat / np.sqrt(v_hat + eps)
    return theta, m, v


@_mistake(3, "zero-based-t",
          "the step index is off by one: t is 1-based (the first call has t=1), so the correction "
          "is 1 - beta1**t, not 1 - beta1**(t + 1)")
def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1 ** (t + 1))
    v_hat = v / (1 - beta2 ** (t + 1))
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta, m, v


@_mistake(3, "mutates-state", "modifies m and v in place (m *= beta1; m += ...)")
def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta, m, v


# --- 4. AMSGrad ---------------------------------------------------------------------


@_mistake(4, "max-over-corrected-v",
          "the maximum is taken over the bias-corrected v_hat: AMSGrad keeps vmax = maximum(vmax, v) "
          "on the uncorrected v and corrects afterwards, sqrt(vmax/(1 - beta2**t)); a corrected value "
          "kept in vmax is never un-corrected: once AMSGrad's maximum of v comes from an earlier step s, "
          "the denominator keeps at least v_s/(1 - beta2**s) where AMSGrad's is v_s/(1 - beta2**t), and while "
          "eps is negligible the steps are too small by at least sqrt((1 - beta2**t)/(1 - beta2**s)) (31.6 "
          "for s = 1 and large t at beta2 = 0.999); a large eps narrows the gap")
def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    vmax = np.maximum(vmax, v_hat)
    theta = theta - lr * m_hat / (np.sqrt(vmax) + eps)
    return theta, m, v, vmax


@_mistake(4, "denominator-uses-v",
          "the step divides by sqrt(v_hat), which is Adam: AMSGrad divides by "
          "sqrt(vmax/(1 - beta2**t)) + eps, the running maximum")
def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    vmax = np.maximum(vmax, v)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta, m, v, vmax


@_mistake(4, "max-with-previous-v",
          "the maximum uses the previous v: update v with the new gradient first, then "
          "vmax = maximum(vmax, v_new), so a new large gradient raises vmax at once")
def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    vmax = np.maximum(vmax, v)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    theta = theta - lr * m_hat / (np.sqrt(vmax / (1 - beta2**t)) + eps)
    return theta, m, v, vmax


@_mistake(4, "mutates-vmax", "modifies vmax in place (np.maximum(vmax, v, out=vmax))")
def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    np.maximum(vmax, v, out=vmax)
    m_hat = m / (1 - beta1**t)
    theta = theta - lr * m_hat / (np.sqrt(vmax / (1 - beta2**t)) + eps)
    return theta, m, v, vmax


# --- 5. Coupled L2 and decoupled weight decay --------------------------------------


@_mistake(5, "coupled-decay",
          "AdamW's decay is coupled: weight_decay*theta is added to the gradient, so it enters m "
          "and v and is rescaled by the preconditioner; AdamW decays the weights directly, "
          "theta*(1 - lr*weight_decay), and computes the moments from grad alone")
def adamw_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    grad = grad + weight_decay * theta
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta, m, v


@_mistake(5, "decay-without-lr",
          "the decay is not scaled by the learning rate: AdamW multiplies the weights by "
          "1 - lr*weight_decay, not 1 - weight_decay")
def adamw_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta * (1 - weight_decay) - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta, m, v


@_mistake(5, "decay-after-step",
          "the decay multiplies the already-updated weights: AdamW decays theta_{t-1}, "
          "theta*(1 - lr*weight_decay) - lr*m_hat/(sqrt(v_hat) + eps)")
def adamw_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = (theta - lr * m_hat / (np.sqrt(v_hat) + eps)) * (1 - lr * weight_decay)
    return theta, m, v


@_mistake(5, "decoupled-l2",
          "adam_l2_update decays the weights directly, which is AdamW: coupled L2 adds "
          "weight_decay*theta to the gradient before the moments, so m and v see it")
def adam_l2_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta * (1 - lr * weight_decay) - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta, m, v


# --- 6. Adafactor -------------------------------------------------------------------


@_mistake(6, "no-update-clipping",
          "update clipping is missing: divide U by max(1, RMS(U)/d) before the step; when the new "
          "gradient is much larger than the running statistics, RMS(U) >> 1 and the unclipped step "
          "explodes")
def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
    w = t**beta2_decay
    R = (1 - w) * R + w * np.mean(G**2, axis=1)
    C = (1 - w) * C + w * np.mean(G**2, axis=0)
    V = np.outer(R, C) / max(float(np.mean(R)), eps1)
    U = G / np.sqrt(np.maximum(V, eps1**2))
    alpha = max(eps2, float(np.sqrt(np.mean(X**2)))) * min(lr, 1 / t**0.5)
    return X - alpha * U, R, C


@_mistake(6, "no-relative-step",
          "the step size is lr: Adafactor's step is relative to the weights, "
          "alpha = max(eps2, RMS(X)) * min(lr, 1/sqrt(t))")
def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):  # noqa: F811
    w = t**beta2_decay
    R = (1 - w) * R + w * np.mean(G**2, axis=1)
    C = (1 - w) * C + w * np.mean(G**2, axis=0)
    V = np.outer(R, C) / max(float(np.mean(R)), eps1)
    U = G / np.sqrt(np.maximum(V, eps1**2))
    rms_U = float(np.sqrt(np.mean(U**2)))
    return X - lr * U / max(1.0, rms_U / d), R, C


@_mistake(6, "unnormalized-vhat",
          "V_hat is not normalized: the rank-1 estimate is outer(R, C)/mean(R), since R and C both "
          "carry the overall scale of G**2")
def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):  # noqa: F811
    w = t**beta2_decay
    R = (1 - w) * R + w * np.mean(G**2, axis=1)
    C = (1 - w) * C + w * np.mean(G**2, axis=0)
    V = np.outer(R, C)
    U = G / np.sqrt(np.maximum(V, eps1**2))
    rms_X, rms_U = float(np.sqrt(np.mean(X**2))), float(np.sqrt(np.mean(U**2)))
    alpha = max(eps2, rms_X) * min(lr, 1 / t**0.5)
    return X - alpha * U / max(1.0, rms_U / d), R, C


@_mistake(6, "decay-swapped",
          "the decay weights are swapped: w = t**beta2_decay is the weight of the *new* statistic, "
          "R = (1 - w)*R + w*mean(G**2, axis=1); at t=1, w = 1 and R is exactly the new row mean")
def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):  # noqa: F811
    w = t**beta2_decay
    R = w * R + (1 - w) * np.mean(G**2, axis=1)
    C = w * C + (1 - w) * np.mean(G**2, axis=0)
    V = np.outer(R, C) / max(float(np.mean(R)), eps1)
    U = G / np.sqrt(np.maximum(V, eps1**2))
    rms_X, rms_U = float(np.sqrt(np.mean(X**2))), float(np.sqrt(np.mean(U**2)))
    alpha = max(eps2, rms_X) * min(lr, 1 / t**0.5)
    return X - alpha * U / max(1.0, rms_U / d), R, C


# --- 7. LARS ------------------------------------------------------------------------


@_mistake(7, "inverted-ratio",
          "the trust ratio is inverted: it is trust_coefficient*||w||/||u||, so a layer with large "
          "weights and a small update takes a larger step")
def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
    u = grad + weight_decay * w
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    ratio = trust_coefficient * u_norm / w_norm if w_norm > 0 and u_norm > 0 else 1.0
    velocity = momentum * velocity + lr * ratio * u
    return w - velocity, velocity


@_mistake(7, "no-zero-fallback",
          "no fallback for a zero norm: when ||w|| = 0 or ||u|| = 0 the ratio is 1, otherwise a "
          "zero-initialized layer never moves (ratio 0) and a zero update gives ratio ||w||/0 = inf "
          "times u = 0, a NaN step")
def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):  # noqa: F811
    u = grad + weight_decay * w
    ratio = trust_coefficient * np.linalg.norm(w) / np.linalg.norm(u)
    velocity = momentum * velocity + lr * ratio * u
    return w - velocity, velocity


@_mistake(7, "decay-outside-ratio",
          "the trust ratio uses ||grad|| instead of ||u||, u = grad + weight_decay*w: the decay "
          "belongs to the update whose norm the ratio measures")
def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):  # noqa: F811
    u = grad + weight_decay * w
    w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(grad)
    ratio = trust_coefficient * w_norm / g_norm if w_norm > 0 and g_norm > 0 else 1.0
    velocity = momentum * velocity + lr * ratio * u
    return w - velocity, velocity


@_mistake(7, "lr-outside-velocity",
          "the learning rate multiplies the velocity instead of entering it: "
          "velocity = momentum*velocity + lr*ratio*u, then w = w - velocity")
def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):  # noqa: F811
    u = grad + weight_decay * w
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    ratio = trust_coefficient * w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
    velocity = momentum * velocity + ratio * u
    return w - lr * velocity, velocity


# --- 8. Trust ratio and LAMB -------------------------------------------------------


@_mistake(8, "inverted",
          "the trust ratio is inverted: it is ||w||/||u|| (weights over update), so that "
          "lr*trust_ratio*||u|| = lr*||w||")
def trust_ratio(w, u):
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    if w_norm == 0 or u_norm == 0:
        return 1.0
    return float(u_norm / w_norm)


@_mistake(8, "no-zero-fallback",
          "no fallback for a zero norm: the trust ratio is 1.0 when ||w|| = 0 or ||u|| = 0 "
          "(a zero-initialized layer must still move, not get ratio 0; a zero update must not give "
          "||w||/0 = inf, nor both zero 0/0)")
def trust_ratio(w, u):  # noqa: F811
    return float(np.linalg.norm(w) / np.linalg.norm(u))


@_mistake(8, "decay-after-trust-ratio",
          "the weight decay is added after the trust ratio: LAMB's update is "
          "u = m_hat/(sqrt(v_hat) + eps) + weight_decay*w, and the ratio is trust_ratio(w, u) of that u")
def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    r = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    w_norm, r_norm = np.linalg.norm(w), np.linalg.norm(r)
    ratio = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
    return w - lr * (ratio * r + weight_decay * w), m, v


@_mistake(8, "no-bias-correction",
          "bias correction missing in LAMB: r = m_hat/(sqrt(v_hat) + eps) with m_hat = m/(1 - beta1**t), "
          "v_hat = v/(1 - beta2**t); the uncorrected r is (1 - beta1**t)/sqrt(1 - beta2**t) times the "
          "corrected one (4.95 at t=3 with the default betas), with eps acting as eps/sqrt(1 - beta2**t). "
          "The trust ratio cancels that factor only when weight_decay = 0 and the weights are non-zero "
          "(the fallback ratio 1 of a zero layer keeps it), and then only while eps is negligible")
def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    u = m / (np.sqrt(v) + eps) + weight_decay * w
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
    return w - lr * ratio * u, m, v


# --- 9. Shampoo ---------------------------------------------------------------------


@_mistake(9, "positive-power",
          "the exponent's sign: the inverse p-th root raises the eigenvalues to -1/p, not 1/p")
def matrix_inverse_root(A, p):
    lam, Q = np.linalg.eigh(A)
    return (Q * lam ** (1.0 / p)) @ Q.T


@_mistake(9, "elementwise-power",
          "A**(-1/p) on the entries is not a matrix power: take the eigendecomposition "
          "A = Q diag(lam) Q.T and return Q diag(lam**(-1/p)) Q.T")
def matrix_inverse_root(A, p):  # noqa: F811
    return A ** (-1.0 / p)


@_mistake(9, "stale-statistics",
          "the preconditioners use L and R before this step's G@G.T and G.T@G are added: "
          "update the statistics first, then precondition with the new ones")
def shampoo_update(W, G, L, R, lr):
    step = matrix_inverse_root(L, 4) @ G @ matrix_inverse_root(R, 4)
    return W - lr * step, L + G @ G.T, R + G.T @ G


@_mistake(9, "square-root",
          "the roots are square roots: Shampoo for a matrix uses L**(-1/4) and R**(-1/4) (the two "
          "factors together make the -1/2 power of full-matrix AdaGrad)")
def shampoo_update(W, G, L, R, lr):  # noqa: F811
    L = L + G @ G.T
    R = R + G.T @ G
    return W - lr * matrix_inverse_root(L, 2) @ G @ matrix_inverse_root(R, 2), L, R


# --- 10. Muon -----------------------------------------------------------------------


MISTAKES += [
    built(10, "no-normalization",
          "Newton-Schulz without normalization: divide by max(||G||_F, eps) first, so that every "
          "singular value is <= 1, where the iteration stays bounded (p maps [0, 1.26] into itself); "
          "otherwise a singular value above about 1.26, p's repelling fixed point, blows up, and a "
          "matrix of small norm is not lifted towards 1",
          newton_schulz_source(normalize=None)),
    built(10, "ignores-nesterov",
          "the Nesterov look-ahead is missing: with nesterov=True (the default) Muon "
          "orthogonalizes (1 - momentum)*G + momentum*buf, not buf",
          muon_source(u="buf")),
    built(10, "no-shape-scale",
          "the shape factor is missing: Muon's step is lr*sqrt(max(1, rows/cols))*NS(u), larger for "
          "tall matrices",
          muon_source(scale=None)),
    built(10, "undamped-momentum",
          "the momentum buffer is not damped: Muon's buffer is an average, "
          "buf = momentum*buf + (1 - momentum)*G, not momentum*buf + G",
          muon_source(buf="momentum * buf + G")),
]


def runnable(mistake: Mistake, reference_module) -> Callable:
    """The mistake as a function whose calls to sibling exercise functions go to ``reference_module``.

    ``lamb_update`` calls ``trust_ratio``, ``shampoo_update`` calls
    ``matrix_inverse_root``, ``muon_update`` calls ``newton_schulz``: in a
    notebook those are the student's own; here the referee binds them to the
    reference so that a mistake is judged on its own.
    """
    namespace = {"np": np}
    for name in ("trust_ratio", "matrix_inverse_root", "newton_schulz"):
        namespace[name] = getattr(reference_module, name)
    exec(compile(mistake.source, f"<mistake {mistake.key}>", "exec"), namespace)  # noqa: S102
    return namespace[mistake.function]
