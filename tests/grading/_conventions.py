"""Student functions built from other conventions' equations, one per convention the referee must name.

Written from the maths of each convention (a library's documented update, a
paper's algorithm), arranged the way a student porting it would write it, not
copied from the catalogue: the tests check that the referee recognizes the
convention in someone else's code. Keys are catalogue ids.
"""

from __future__ import annotations

import numpy as np

A, B, C = 3.4445, -4.7750, 2.0315


def _ns(G, steps=5, eps=1e-7):
    """A correct Newton-Schulz, for the Muon variants (the student's own sibling)."""
    X = G.T if G.shape[0] > G.shape[1] else G
    X = X / max(float(np.sqrt(np.sum(X * X))), eps)
    for _ in range(steps):
        S = X @ X.T
        X = A * X + B * (S @ X) + C * (S @ (S @ X))
    return X.T if G.shape[0] > G.shape[1] else X


def _mir(A_, p):
    lam, Q = np.linalg.eigh(A_)
    return Q @ np.diag(lam ** (-1.0 / p)) @ Q.T


def _moments(grad, m, v, beta1, beta2):
    return m + (1 - beta1) * (grad - m), v + (1 - beta2) * (grad * grad - v)


# --- AdaGrad ---------------------------------------------------------------------

def adagrad_no_eps(theta, grad, accum, lr=1e-2, eps=1e-10):
    s = accum + grad * grad  # Duchi et al.: theta -= lr * g / sqrt(G)
    return theta - lr * grad * s ** -0.5, s


def adagrad_eps_inside(theta, grad, accum, lr=1e-2, eps=1e-10):
    s = accum + np.square(grad)  # d2l: p -= lr * g / sqrt(s + eps)
    return theta - lr * grad / (s + eps) ** 0.5, s


def effective_lr_eps_inside(accum, lr=1e-2, eps=1e-10):
    return lr * (accum + eps) ** -0.5


def ema_weights_normalized(beta, t):
    w = np.array([(1 - beta) * beta**k for k in range(t - 1, -1, -1)])
    return w / w.sum()


# --- Adam ------------------------------------------------------------------------

def adam_eps_scaled(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)  # Keras: alpha_t = lr*sqrt(1-b2^t)/(1-b1^t)
    alpha = lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    return theta - alpha * m / (v**0.5 + eps), m, v


def adam_eps_inside(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)
    return theta - lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps), m, v


def adam_corrected_state(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)
    m, v = m / (1 - beta1**t), v / (1 - beta2**t)  # the corrected values kept as the state
    return theta - lr * m / (np.sqrt(v) + eps), m, v


def adam_t_from_zero(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = t + 1  # CS231n-style: the counter is incremented before it is used
    m, v = _moments(grad, m, v, beta1, beta2)
    return theta - lr * m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adam_only_m(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)
    return theta - lr / (1 - beta1**t) * m / (np.sqrt(v) + eps), m, v


def amsgrad_eps_scaled(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)
    vmax = np.where(v > vmax, v, vmax)
    alpha = lr * (1.0 - beta2**t) ** 0.5 / (1.0 - beta1**t)
    return theta - alpha * m / (np.sqrt(vmax) + eps), m, v, vmax


def amsgrad_reddi(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = _moments(grad, m, v, beta1, beta2)
    vmax = np.fmax(vmax, v)
    return theta - lr * m / (vmax**0.5 + eps), m, v, vmax


# --- weight decay ----------------------------------------------------------------

def adam_l2_twice(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    g = grad + weight_decay * 2.0 * theta  # d/dtheta of weight_decay*||theta||^2
    m, v = _moments(g, m, v, beta1, beta2)
    return theta - lr * m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def _adam_dir(grad, m, v, t, beta1, beta2, eps):
    m, v = _moments(grad, m, v, beta1, beta2)
    return m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adamw_decay_after(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    d, m, v = _adam_dir(grad, m, v, t, beta1, beta2, eps)
    new = theta - lr * d
    return new - lr * weight_decay * new, m, v


def adamw_decay_without_lr(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    d, m, v = _adam_dir(grad, m, v, t, beta1, beta2, eps)
    return theta - weight_decay * theta - lr * d, m, v  # Loshchilov & Hutter with eta_t = 1


def adamw_fairseq(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    m, v = _moments(grad, m, v, beta1, beta2)
    step = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    decayed = theta + theta * (-weight_decay * lr)
    return decayed - step * m / (np.sqrt(v) + eps), m, v


def adamw_hf(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    m, v = _moments(grad, m, v, beta1, beta2)
    step = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    p = theta - step * m / (np.sqrt(v) + eps)
    return p + p * (-lr * weight_decay), m, v


# --- Adafactor -------------------------------------------------------------------

def _factored(G, R, C, t, beta2_decay, eps1):
    beta2t = 1.0 - t**beta2_decay
    R = beta2t * R + (1 - beta2t) * (G * G).mean(axis=1)
    C = beta2t * C + (1 - beta2t) * (G * G).mean(axis=0)
    r = R / max(R.mean(), eps1)
    U = G / np.sqrt(np.maximum(r[:, None] * C[None, :], eps1 * eps1))
    return U, R, C


def _rms(x):
    return float(np.sqrt((x * x).mean()))


def adafactor_no_cap(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
    U, R, C = _factored(G, R, C, t, beta2_decay, eps1)
    U = U / max(1.0, _rms(U) / d)
    return X - lr * max(eps2, _rms(X)) * U, R, C


def adafactor_t_from_zero(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
    U, R, C = _factored(G, R, C, t + 1, beta2_decay, eps1)
    U = U / max(1.0, _rms(U) / d)
    return X - min(lr, (t + 1) ** -0.5) * max(eps2, _rms(X)) * U, R, C


def adafactor_no_floor(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
    U, R, C = _factored(G, R, C, t, beta2_decay, eps1)
    U = U / max(1.0, _rms(U) / d)
    return X - min(lr, t**-0.5) * _rms(X) * U, R, C


# --- LARS ------------------------------------------------------------------------

def lars_lr_outside(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
    u = grad + weight_decay * w
    wn, un = float(np.sqrt((w * w).sum())), float(np.sqrt((u * u).sum()))
    local = trust_coefficient * wn / un if wn and un else 1.0
    velocity = momentum * velocity + local * u
    return w - lr * velocity, velocity


def lars_norm_eps(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
    u = grad + weight_decay * w
    local = trust_coefficient * np.linalg.norm(w) / (np.linalg.norm(u) + 1e-9)
    velocity = momentum * velocity + lr * local * u
    return w - velocity, velocity


def lars_paper(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
    wn, gn = np.linalg.norm(w), np.linalg.norm(grad)
    local = trust_coefficient * wn / (gn + weight_decay * wn) if wn > 0 and gn + weight_decay * wn > 0 else 1.0
    velocity = momentum * velocity + lr * local * (grad + weight_decay * w)
    return w - velocity, velocity


# --- trust ratio and LAMB ----------------------------------------------------------

def trust_ratio_eps(w, u):
    return float(np.sqrt(np.sum(w**2)) / (np.sqrt(np.sum(u**2)) + 1e-6))


def trust_ratio_clip(w, u):
    wn, un = np.linalg.norm(w), np.linalg.norm(u)
    return float(np.clip(wn / un, 0.0, 1.0)) if wn * un > 0 else 1.0


def trust_ratio_phi(w, u):
    wn, un = np.clip(np.linalg.norm(w), 0.0, 10.0), np.linalg.norm(u)
    return float(wn / un) if wn > 0 and un > 0 else 1.0


def _lamb_dir(w, grad, m, v, t, beta1, beta2, eps):
    m, v = _moments(grad, m, v, beta1, beta2)
    return m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def _ratio(a, b):
    an, bn = np.linalg.norm(a), np.linalg.norm(b)
    return an / bn if an > 0 and bn > 0 else 1.0


def lamb_clip(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    r, m, v = _lamb_dir(w, grad, m, v, t, beta1, beta2, eps)
    u = r + weight_decay * w
    return w - lr * np.minimum(_ratio(w, u), 1.0) * u, m, v


def lamb_timm_default(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    r, m, v = _lamb_dir(w, grad, m, v, t, beta1, beta2, eps)
    u = r + weight_decay * w
    ratio = _ratio(w, u) if weight_decay != 0 else 1.0
    return w - lr * ratio * u, m, v


def lamb_ratio_before_decay(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    r, m, v = _lamb_dir(w, grad, m, v, t, beta1, beta2, eps)
    ratio = _ratio(w, r)
    return w - lr * ratio * (r + weight_decay * w), m, v


def lamb_apex(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    norm = np.sqrt(np.sum(grad * grad))
    g = grad * (1.0 / norm) if norm > 1.0 else grad  # global clipping at max_grad_norm = 1
    r, m, v = _lamb_dir(w, g, m, v, t, beta1, beta2, eps)
    u = r + weight_decay * w
    return w - lr * _ratio(w, u) * u, m, v


# --- Shampoo ---------------------------------------------------------------------

def mir_rows(A_, p):
    lam, Q = np.linalg.eigh(A_)
    P = Q.T  # eigenvectors read as rows
    return P @ (lam[:, None] ** (-1.0 / p) * np.eye(len(lam))) @ P.T


def mir_minus_p(A_, p):
    lam, Q = np.linalg.eigh(A_)
    return Q @ np.diag(1.0 / lam**p) @ Q.T


def shampoo_half(W, G, L, R, lr):
    L, R = L + G @ G.T, R + G.T @ G
    return W - lr * _mir(L, 2) @ G @ _mir(R, 2), L, R  # exponent -1/2 on each side


# --- Muon ------------------------------------------------------------------------

def ns_plus_eps(G, steps=5, eps=1e-7):
    tall = G.shape[0] > G.shape[1]
    X = (G.T if tall else G) / (np.sqrt((G * G).sum()) + eps)
    for _ in range(steps):
        S = X @ X.T
        X = A * X + (B * S + C * S @ S) @ X
    return X.T if tall else X


def ns_cubic(G, steps=5, eps=1e-7):
    X = G / max(np.linalg.norm(G), eps)
    for _ in range(steps):
        X = 1.5 * X - 0.5 * X @ X.T @ X
    return X


def _scale(W):
    return max(1.0, W.shape[0] / W.shape[1]) ** 0.5


def muon_keller(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
    buf = buf * momentum + G
    u = G + buf * momentum if nesterov else buf
    return W * (1 - lr * weight_decay) - lr * _scale(W) * _ns(u, steps), buf


def muon_undamped(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
    buf = buf * momentum + G  # SGD-style buffer with Muon's damped look-ahead
    u = (1 - momentum) * G + momentum * buf if nesterov else buf
    return W * (1 - lr * weight_decay) - lr * _scale(W) * _ns(u, steps), buf


def muon_moonlight(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
    buf = momentum * buf + (1 - momentum) * G
    u = (1 - momentum) * G + momentum * buf if nesterov else buf
    return W * (1 - lr * weight_decay) - lr * 0.2 * np.sqrt(max(W.shape)) * _ns(u, steps), buf


def muon_ratio_scale(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
    buf = momentum * buf + (1 - momentum) * G
    u = (1 - momentum) * G + momentum * buf if nesterov else buf
    return W * (1 - lr * weight_decay) - lr * np.sqrt(W.shape[0] / W.shape[1]) * _ns(u, steps), buf


def muon_decay_last(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
    buf = momentum * buf + (1 - momentum) * G
    u = (1 - momentum) * G + momentum * buf if nesterov else buf
    new = W - lr * _scale(W) * _ns(u, steps)
    return new - lr * weight_decay * new, buf


# catalogue id -> (function graded, the student's implementation)
STUDENTS = {
    "01-adagrad_update-no-eps": ("adagrad_update", adagrad_no_eps),
    "01-adagrad_update-eps-inside-sqrt": ("adagrad_update", adagrad_eps_inside),
    "01-adagrad_effective_lr-eps-inside-sqrt": ("adagrad_effective_lr", effective_lr_eps_inside),
    "02-ema_weights-bias-corrected-weights": ("ema_weights", ema_weights_normalized),
    "03-adam_update-eps-scaled": ("adam_update", adam_eps_scaled),
    "03-adam_update-eps-inside-sqrt": ("adam_update", adam_eps_inside),
    "03-adam_update-corrected-state": ("adam_update", adam_corrected_state),
    "03-adam_update-zero-based-t": ("adam_update", adam_t_from_zero),
    "03-adam_update-only-m-corrected": ("adam_update", adam_only_m),
    "04-amsgrad_update-eps-scaled": ("amsgrad_update", amsgrad_eps_scaled),
    "04-amsgrad_update-no-bias-correction": ("amsgrad_update", amsgrad_reddi),
    "05-adam_l2_update-double-decay": ("adam_l2_update", adam_l2_twice),
    "05-adamw_update-decay-after-step": ("adamw_update", adamw_decay_after),
    "05-adamw_update-decay-without-lr": ("adamw_update", adamw_decay_without_lr),
    "05-adamw_update-eps-scaled": ("adamw_update", adamw_fairseq),
    "05-adamw_update-hf-transformers": ("adamw_update", adamw_hf),
    "06-adafactor_update-no-time-cap": ("adafactor_update", adafactor_no_cap),
    "06-adafactor_update-zero-based-t": ("adafactor_update", adafactor_t_from_zero),
    "06-adafactor_update-no-eps2-floor": ("adafactor_update", adafactor_no_floor),
    "07-lars_update-lr-outside-velocity": ("lars_update", lars_lr_outside),
    "07-lars_update-norm-plus-eps": ("lars_update", lars_norm_eps),
    "07-lars_update-paper-denominator": ("lars_update", lars_paper),
    "08-trust_ratio-norm-plus-eps": ("trust_ratio", trust_ratio_eps),
    "08-trust_ratio-clamped-at-one": ("trust_ratio", trust_ratio_clip),
    "08-trust_ratio-weight-norm-clamp": ("trust_ratio", trust_ratio_phi),
    "08-lamb_update-clamped-at-one": ("lamb_update", lamb_clip),
    "08-lamb_update-ratio-only-with-decay": ("lamb_update", lamb_timm_default),
    "08-lamb_update-ratio-without-decay": ("lamb_update", lamb_ratio_before_decay),
    "08-lamb_update-grad-norm-clipped": ("lamb_update", lamb_apex),
    "09-matrix_inverse_root-transposed-eigenvectors": ("matrix_inverse_root", mir_rows),
    "09-matrix_inverse_root-exponent-minus-p": ("matrix_inverse_root", mir_minus_p),
    "09-shampoo_update-square-root": ("shampoo_update", shampoo_half),
    "10-newton_schulz-norm-plus-eps": ("newton_schulz", ns_plus_eps),
    "10-newton_schulz-cubic-coefficients": ("newton_schulz", ns_cubic),
    "10-muon_update-original-momentum": ("muon_update", muon_keller),
    "10-muon_update-undamped-momentum": ("muon_update", muon_undamped),
    "10-muon_update-rms-matched-scale": ("muon_update", muon_moonlight),
    "10-muon_update-scale-without-max": ("muon_update", muon_ratio_scale),
    "10-muon_update-decay-after-step": ("muon_update", muon_decay_last),
}
