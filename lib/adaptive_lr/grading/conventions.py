"""Other conventions for the same update rules, as runnable code: the referee's differential diagnosis.

Students bring code shaped by the libraries, papers and courses they read.
Each entry here is one such convention for one exercise function, written
from its equations in the exercise's name and signature (NumPy only), with
``origin`` saying where it is found. For a failing function the referee
(:mod:`.referee`) runs every entry of the catalogue (these and the mistakes of
:mod:`.mistakes`) on every hidden case and names the one the student's results
match, case by case, to the grading tolerance.

These are diagnosed at the referee's level only: unlike :data:`.mistakes.MISTAKES`
they are not graded as whole notebooks by the test suite (the referee's tests
build a student function from each convention's equations and check that it is
named).
"""

from __future__ import annotations

import numpy as np

from .mistakes import Mistake, built, muon_source, newton_schulz_source

CONVENTIONS: list[Mistake] = []


def _convention(exercise: int, slug: str, description: str, origin: str):
    def register(fn):
        CONVENTIONS.append(Mistake(exercise, fn.__name__, slug, description, fn, origin))
        return fn

    return register


# --- 1. AdaGrad -------------------------------------------------------------------


@_convention(1, "no-eps",
             "no epsilon: the step divides by sqrt(accum) alone, so a coordinate whose gradient has "
             "always been 0 gets 0/0; the exercise divides by sqrt(accum_new) + eps",
             "the shorthand x - eta*diag(G_t)**(-1/2)*g_t of Duchi et al.'s introduction (their diagonal "
             "algorithm, H_t = delta*I + diag(sqrt(G_t)), adds delta outside the root, as the exercise does); "
             "TensorFlow 1's tf.train.AdagradOptimizer")
def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10):
    accum = accum + grad**2
    return theta - lr * grad / np.sqrt(accum), accum


@_convention(1, "eps-inside-sqrt",
             "epsilon inside the square root, lr/sqrt(accum + eps): the exercise puts it outside, "
             "lr/(sqrt(accum) + eps)",
             "d2l's AdaGrad and RMSProp (sqrt(s + eps))")
def adagrad_effective_lr(accum, lr=1e-2, eps=1e-10):
    return lr / np.sqrt(accum + eps)


# --- 2. Exponential moving average ------------------------------------------------


@_convention(2, "bias-corrected-weights",
             "these are the weights of the bias-corrected average m_hat = m/(1 - beta**t), which sum "
             "to 1; ema_weights asks for the weights of m itself, (1 - beta)*beta**(t - i), which sum "
             "to 1 - beta**t",
             "Adam's bias correction (Kingma & Ba, section 3)")
def ema_weights(beta, t):
    i = np.arange(1, t + 1)
    return (1 - beta) * beta ** (t - i) / (1 - beta**t)


# --- 3. Adam ------------------------------------------------------------------------


@_convention(3, "eps-scaled",
             "epsilon scaled by sqrt(1 - beta2**t): the step lr*sqrt(1 - beta2**t)/(1 - beta1**t) * "
             "m/(sqrt(v) + eps) is the exercise's step with eps replaced by eps/sqrt(1 - beta2**t), much "
             "larger in the first steps; the exercise (torch.optim.Adam, optax.adam) adds eps itself to "
             "sqrt(v_hat)",
             "Kingma & Ba's 'more efficient' form, Keras/TensorFlow, fairseq, HF transformers' AdamW")
def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    lr_t = lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t)
    return theta - lr_t * m / (np.sqrt(v) + eps), m, v


@_convention(3, "corrected-state",
             "bias correction on the stored state: the returned m and v are m_hat and v_hat; the state "
             "keeps the uncorrected averages m = beta1*m + (1 - beta1)*grad (and v), and the correction "
             "divides only inside the step",
             "code that overwrites m with m / (1 - beta1**t)")
def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m = (beta1 * m + (1 - beta1) * grad) / (1 - beta1**t)
    v = (beta2 * v + (1 - beta2) * grad**2) / (1 - beta2**t)
    return theta - lr * m / (np.sqrt(v) + eps), m, v


@_convention(3, "only-m-corrected",
             "only the first moment is bias-corrected: the step is lr*m_hat/(sqrt(v_hat) + eps) with "
             "v_hat = v/(1 - beta2**t) as well",
             "tutorials that correct m only")
def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v) + eps), m, v


# --- 4. AMSGrad ---------------------------------------------------------------------


@_convention(4, "eps-scaled",
             "epsilon scaled by sqrt(1 - beta2**t): the step lr*sqrt(1 - beta2**t)/(1 - beta1**t) * "
             "m/(sqrt(vmax) + eps); the exercise (torch.optim.Adam with amsgrad=True) adds eps to "
             "sqrt(vmax/(1 - beta2**t))",
             "Keras/TensorFlow's Adam(amsgrad=True)")
def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    vmax = np.maximum(vmax, v)
    lr_t = lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t)
    return theta - lr_t * m / (np.sqrt(vmax) + eps), m, v, vmax


@_convention(4, "no-bias-correction",
             "no bias correction: the step lr*m/(sqrt(vmax) + eps) is AMSGrad as first published; the "
             "exercise corrects both, lr*m_hat/(sqrt(vmax/(1 - beta2**t)) + eps)",
             "Reddi, Kale & Kumar (2018), Algorithm 2")
def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    vmax = np.maximum(vmax, v)
    return theta - lr * m / (np.sqrt(vmax) + eps), m, v, vmax


# --- 5. Coupled L2 and decoupled weight decay --------------------------------------


@_convention(5, "double-decay",
             "the decay term is 2*weight_decay*theta, the gradient of weight_decay*||theta||**2; the "
             "exercise adds weight_decay*theta, the gradient of (weight_decay/2)*||theta||**2",
             "L2 written as a loss penalty weight_decay*||theta||**2")
def adam_l2_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    g = grad + 2 * weight_decay * theta
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


@_convention(5, "eps-scaled",
             "epsilon scaled by sqrt(1 - beta2**t): the Adam part is lr*sqrt(1 - beta2**t)/(1 - beta1**t) "
             "* m/(sqrt(v) + eps) (the decay itself is right); the exercise (torch.optim.AdamW) adds eps "
             "to sqrt(v_hat)",
             "fairseq's Adam, Keras/TensorFlow's AdamW")
def adamw_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    lr_t = lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t)
    return theta * (1 - lr * weight_decay) - lr_t * m / (np.sqrt(v) + eps), m, v


@_convention(5, "hf-transformers",
             "epsilon scaled by sqrt(1 - beta2**t) and the decay applied after the step: "
             "theta = (theta - lr*sqrt(1 - beta2**t)/(1 - beta1**t) * m/(sqrt(v) + eps))*(1 - lr*weight_decay); "
             "the exercise (torch.optim.AdamW) decays theta before the step and adds eps to sqrt(v_hat)",
             "Hugging Face transformers' AdamW")
def adamw_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    lr_t = lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t)
    theta = theta - lr_t * m / (np.sqrt(v) + eps)
    return theta * (1 - lr * weight_decay), m, v


# --- 6. Adafactor -------------------------------------------------------------------


@_convention(6, "no-time-cap",
             "the relative step has no 1/sqrt(t) cap: alpha = max(eps2, RMS(X))*lr; the exercise caps "
             "it, alpha = max(eps2, RMS(X))*min(lr, 1/sqrt(t)), so from t = 1/lr**2 on its step shrinks "
             "like 1/sqrt(t)",
             "HF transformers' and fairseq's Adafactor with relative_step=False and scale_parameter=True")
def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
    w = t**beta2_decay
    R = (1 - w) * R + w * np.mean(G**2, axis=1)
    C = (1 - w) * C + w * np.mean(G**2, axis=0)
    U = G / np.sqrt(np.maximum(np.outer(R, C) / max(float(np.mean(R)), eps1), eps1**2))
    alpha = max(eps2, float(np.sqrt(np.mean(X**2)))) * lr
    return X - alpha * U / max(1.0, float(np.sqrt(np.mean(U**2))) / d), R, C


@_convention(6, "zero-based-t",
             "t counted from 0: t is the 1-based index of this step, so the new statistic's weight is "
             "t**beta2_decay (1 at the first step) and the cap is 1/sqrt(t), not (t + 1)**beta2_decay "
             "and 1/sqrt(t + 1)",
             "code that keeps its own step counter starting at 0")
def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):  # noqa: F811
    s = t + 1
    w = s**beta2_decay
    R = (1 - w) * R + w * np.mean(G**2, axis=1)
    C = (1 - w) * C + w * np.mean(G**2, axis=0)
    U = G / np.sqrt(np.maximum(np.outer(R, C) / max(float(np.mean(R)), eps1), eps1**2))
    alpha = max(eps2, float(np.sqrt(np.mean(X**2)))) * min(lr, 1 / s**0.5)
    return X - alpha * U / max(1.0, float(np.sqrt(np.mean(U**2))) / d), R, C


@_convention(6, "no-eps2-floor",
             "the parameter scale has no floor: alpha = RMS(X)*min(lr, 1/sqrt(t)) keeps zero-initialized "
             "weights at 0 for ever; the exercise floors it, alpha = max(eps2, RMS(X))*min(lr, 1/sqrt(t))",
             "code that drops eps2 from the relative step")
def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):  # noqa: F811
    w = t**beta2_decay
    R = (1 - w) * R + w * np.mean(G**2, axis=1)
    C = (1 - w) * C + w * np.mean(G**2, axis=0)
    U = G / np.sqrt(np.maximum(np.outer(R, C) / max(float(np.mean(R)), eps1), eps1**2))
    alpha = float(np.sqrt(np.mean(X**2))) * min(lr, 1 / t**0.5)
    return X - alpha * U / max(1.0, float(np.sqrt(np.mean(U**2))) / d), R, C


# --- 7. LARS ------------------------------------------------------------------------


@_convention(7, "norm-plus-eps",
             "epsilon added to the norm instead of the fallback: trust_coefficient*||w||/(||u|| + eps) "
             "is 0 for zero weights, so a zero-initialized layer never moves; the exercise (optax.lars) "
             "uses ratio 1 when either norm is zero",
             "LARS code that adds eps to the norm and drops the zero-norm check; torchlars, apex's LARC "
             "and optax.lars add eps but keep ratio 1 for a zero norm")
def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
    u = grad + weight_decay * w
    ratio = trust_coefficient * np.linalg.norm(w) / (np.linalg.norm(u) + 1e-8)
    velocity = momentum * velocity + lr * ratio * u
    return w - velocity, velocity


@_convention(7, "paper-denominator",
             "the ratio's denominator is ||grad|| + weight_decay*||w|| (the LARS paper's bound); the "
             "exercise (optax.lars) divides by the norm of the update itself, ||grad + weight_decay*w||",
             "You, Gitman & Ginsburg (2017), equation (6)")
def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):  # noqa: F811
    u = grad + weight_decay * w
    w_norm = np.linalg.norm(w)
    denom = np.linalg.norm(grad) + weight_decay * w_norm
    ratio = trust_coefficient * w_norm / denom if w_norm > 0 and denom > 0 else 1.0
    velocity = momentum * velocity + lr * ratio * u
    return w - velocity, velocity


# --- 8. Trust ratio and LAMB -------------------------------------------------------


@_convention(8, "norm-plus-eps",
             "epsilon added to the norm instead of the fallback: ||w||/(||u|| + eps) is 0 for zero "
             "weights and huge for a zero update; the exercise (optax.lamb) returns 1.0 when either "
             "norm is zero",
             "LAMB code that writes ||w||/(||u|| + 1e-6)")
def trust_ratio(w, u):
    return float(np.linalg.norm(w) / (np.linalg.norm(u) + 1e-6))


@_convention(8, "clamped-at-one",
             "the trust ratio is clamped at 1, min(||w||/||u||, 1); the exercise does not clamp it",
             "timm's Lamb with trust_clip=True")
def trust_ratio(w, u):  # noqa: F811
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    if w_norm == 0 or u_norm == 0:
        return 1.0
    return float(min(w_norm / u_norm, 1.0))


@_convention(8, "weight-norm-clamp",
             "the weight norm is clamped, phi(||w||) = min(||w||, 10); the exercise uses ||w|| itself",
             "the LAMB paper's phi (You et al. 2020) with an upper bound of 10, as some ports do")
def trust_ratio(w, u):  # noqa: F811
    w_norm, u_norm = min(float(np.linalg.norm(w)), 10.0), np.linalg.norm(u)
    if w_norm == 0 or u_norm == 0:
        return 1.0
    return float(w_norm / u_norm)


@_convention(8, "clamped-at-one",
             "the trust ratio is clamped at 1, w - lr*min(||w||/||u||, 1)*u; the exercise does not clamp it",
             "timm's Lamb with trust_clip=True")
def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    u = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps) + weight_decay * w
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    ratio = min(w_norm / u_norm, 1.0) if w_norm > 0 and u_norm > 0 else 1.0
    return w - lr * ratio * u, m, v


@_convention(8, "ratio-only-with-decay",
             "the trust ratio is applied only when weight_decay > 0: with weight_decay = 0 the step is "
             "plain Adam, w - lr*u; LAMB always scales by trust_ratio(w, u)",
             "timm's Lamb with always_adapt=False (its default)")
def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    u = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps) + weight_decay * w
    if weight_decay == 0:
        return w - lr * u, m, v
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
    return w - lr * ratio * u, m, v


@_convention(8, "ratio-without-decay",
             "the ratio uses the norm of the Adam direction alone, ||w||/||m_hat/(sqrt(v_hat) + eps)||, "
             "while the step includes the decay; LAMB's ratio is trust_ratio(w, u) of the whole update "
             "u = m_hat/(sqrt(v_hat) + eps) + weight_decay*w",
             "code that computes the trust ratio before adding the decay")
def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):  # noqa: F811
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    r = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    w_norm, r_norm = np.linalg.norm(w), np.linalg.norm(r)
    ratio = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
    return w - lr * ratio * (r + weight_decay * w), m, v


@_convention(8, "grad-norm-clipped",
             "the gradient is first clipped to norm 1, grad/max(1, ||grad||), before the moments; the "
             "exercise's LAMB (optax.lamb) uses the gradient as it is",
             "apex's FusedLAMB and timm's Lamb (max_grad_norm=1.0)")
def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):  # noqa: F811
    grad = grad / max(1.0, float(np.linalg.norm(grad)))
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    u = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps) + weight_decay * w
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
    ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
    return w - lr * ratio * u, m, v


# --- 9. Shampoo ---------------------------------------------------------------------


@_convention(9, "transposed-eigenvectors",
             "the eigenvectors are transposed: eigh returns them as the columns of Q, A = Q diag(lam) Q.T, "
             "so the root is Q diag(lam**(-1/p)) Q.T, not Q.T diag(lam**(-1/p)) Q",
             "code that reads eigh's eigenvectors as rows")
def matrix_inverse_root(A, p):
    lam, Q = np.linalg.eigh(A)
    return Q.T @ np.diag(lam ** (-1.0 / p)) @ Q


@_convention(9, "exponent-minus-p",
             "the eigenvalues are raised to -p: the inverse p-th root raises them to -1/p",
             "lam**(-p) for lam**(-1/p)")
def matrix_inverse_root(A, p):  # noqa: F811
    lam, Q = np.linalg.eigh(A)
    return (Q * lam ** (-float(p))) @ Q.T


# --- 10. Muon -----------------------------------------------------------------------


# Newton-Schulz and Muon variants differ from the exercise (and from the mistakes of
# exercise 10) in one expression or two: each is one call of the shared template.
CONVENTIONS += [
    built(10, "norm-plus-eps",
          "the normalization divides by ||G||_F + eps; the exercise (torch.optim.Muon) divides by "
          "max(||G||_F, eps), which differs for matrices whose norm is near eps",
          newton_schulz_source(normalize="X / (np.linalg.norm(X) + eps)"),
          "Keller Jordan's zeropower_via_newtonschulz5 (X / (X.norm() + eps))"),
    built(10, "cubic-coefficients",
          "the classic cubic Newton-Schulz iteration X = 1.5*X - 0.5*(X@X.T)@X; Muon uses the quintic "
          "with (a, b, c) = (3.4445, -4.7750, 2.0315), X = a*X + (b*A + c*A@A)@X with A = X@X.T",
          newton_schulz_source(cubic=True),
          "the textbook Newton-Schulz iteration for the polar factor (Higham)"),
    built(10, "original-momentum",
          "the momentum is undamped, buf = momentum*buf + G, with the look-ahead G + momentum*buf; "
          "the exercise (torch.optim.Muon) averages, buf = momentum*buf + (1 - momentum)*G, and "
          "orthogonalizes (1 - momentum)*G + momentum*buf",
          muon_source(buf="momentum * buf + G", u="G + momentum * buf if nesterov else buf"),
          "Keller Jordan's first Muon (2024), SGD-style momentum"),
    built(10, "rms-matched-scale",
          "the step is scaled by 0.2*sqrt(max(rows, cols)) (matching AdamW's update RMS); the exercise "
          "scales by sqrt(max(1, rows/cols))",
          muon_source(scale="0.2 * max(rows, cols) ** 0.5"),
          "Moonlight (Liu et al. 2025)"),
    built(10, "scale-without-max",
          "the shape factor is sqrt(rows/cols), which shrinks the step of wide matrices; the exercise "
          "uses sqrt(max(1, rows/cols))",
          muon_source(scale="(rows / cols) ** 0.5"),
          "code that drops the max(1, ...)"),
    built(10, "decay-after-step",
          "the decay multiplies the already-updated weights, (W - lr*scale*NS(u))*(1 - lr*weight_decay); "
          "the exercise decays W before the step, W*(1 - lr*weight_decay) - lr*scale*NS(u)",
          muon_source(decay_after=True),
          "code that applies weight decay last"),
]
