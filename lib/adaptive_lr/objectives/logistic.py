"""Binary logistic regression and softmax (multinomial logistic) regression."""

from __future__ import annotations

import numpy as np

from . import datasets
from .base import (
    Objective,
    as_float_array,
    check_nonneg,
    check_positive_int,
    check_seed,
    minibatch_indices,
)


def sigmoid(z):
    r"""The logistic function :math:`\sigma(z) = 1/(1+e^{-z})`, without overflow for any finite ``z``.

    Computed as :math:`\exp(-\log(1+e^{-z}))` with ``np.logaddexp``, which
    never forms :math:`e^{|z|}` for large :math:`|z|`.
    """
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


def _design(X, fit_intercept):
    X = as_float_array("X", X, ndim=2)
    if X.shape[0] == 0:
        raise ValueError("X must have at least one row (sample)")
    return np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X


def _check_batch_size(batch_size):
    return None if batch_size is None else check_positive_int("batch_size", batch_size)


class _Regression(Objective):
    """What the two regressions share: data, L2 term, minibatches, zero or random start."""

    stochastic = False

    def _setup(self, X, l2, batch_size, seed, fit_intercept, init_scale, name):
        self.X = _design(X, fit_intercept)  # the intercept is the last column of ones
        self.fit_intercept = bool(fit_intercept)
        self.l2 = check_nonneg("l2", l2)
        self.batch_size = _check_batch_size(batch_size)
        self.seed = check_seed(seed)
        self.init_scale = check_nonneg("init_scale", init_scale)
        self.stochastic = self.batch_size is not None and self.batch_size < self.n_samples
        self.name = str(name)

    @property
    def n_samples(self) -> int:
        """The number of training samples :math:`n`."""
        return self.X.shape[0]

    def _init_params(self, rng):
        shape = self._shapes[0]
        if self.init_scale == 0.0:
            return np.zeros(shape)
        return self.init_scale * rng.standard_normal(shape)

    def _batch(self, t):
        return minibatch_indices(self.n_samples, self.batch_size, self.seed, t)


class LogisticRegression(_Regression):
    r"""Binary logistic regression, mean log-loss with an optional L2 term.

    With :math:`z_i = x_i^\top \theta` (``x_i`` ends with a 1 for the intercept
    when ``fit_intercept``) and :math:`y_i \in \{0, 1\}`:

    .. math::

        L(\theta) &= \frac1n \sum_{i=1}^n \Big[\log\big(1+e^{z_i}\big) - y_i z_i\Big]
                     + \frac{\lambda}{2}\|\theta\|^2 \\
        \nabla L(\theta) &= \frac1n X^\top\big(\sigma(X\theta) - y\big) + \lambda\theta

    :math:`\lambda` is ``l2``, default 0: the library's ``adam_l2_update`` and
    the optimizers' ``weight_decay`` add their own term, and a second one here
    would count it twice. When ``l2 > 0`` the penalty covers every entry of
    :math:`\theta`, the intercept included, exactly as an optimizer's weight
    decay does (it cannot tell a bias from a weight).

    With ``batch_size``, ``grad(theta, t)`` averages over a minibatch of that
    many samples, drawn without replacement from a generator seeded by
    ``(seed, t)``; ``value`` stays the full-batch loss. Parameters: ``(d+1,)``
    (or ``(d,)`` without intercept); ``init_params`` gives zeros, or
    :math:`\mathcal N(0, s^2)` entries with ``init_scale`` :math:`s > 0`.

    ``minimizer``: for ``l2 > 0`` the loss is strongly convex and its unique
    minimizer is computed once by Newton's method; for ``l2 = 0`` it is
    ``None`` (on separable data, such as the standardized breast-cancer set,
    no finite minimizer exists).
    """

    def __init__(
        self,
        X,
        y,
        l2=0.0,
        batch_size=None,
        seed=0,
        fit_intercept=True,
        init_scale=0.0,
        name="logistic",
    ):
        self._setup(X, l2, batch_size, seed, fit_intercept, init_scale, name)
        y = as_float_array("y", y, ndim=1)
        if y.shape[0] != self.n_samples:
            raise ValueError(
                f"y must have one label per row of X ({self.n_samples}), got {y.shape[0]}"
            )
        if not np.all((y == 0.0) | (y == 1.0)):
            raise ValueError("y must hold labels 0 and 1 only (not -1/+1)")
        self.y = y
        self._shapes = ((self.X.shape[1],),)
        self._minimizer_cache = None

    @classmethod
    def synthetic(
        cls, n_samples=200, n_features=5, seed=0, feature_scales=None, **kwargs
    ) -> LogisticRegression:
        """Logistic regression on :func:`~adaptive_lr.objectives.datasets.make_binary_data` (``seed`` seeds the data and the minibatches)."""
        X, y = datasets.make_binary_data(n_samples, n_features, seed, feature_scales)
        kwargs.setdefault("name", f"logistic(synthetic, n={n_samples}, d={n_features})")
        return cls(X, y, seed=seed, **kwargs)

    @classmethod
    def breast_cancer(cls, **kwargs) -> LogisticRegression:
        """Logistic regression on the standardized breast-cancer data shipped with scikit-learn (569 x 30)."""
        X, y = datasets.load_breast_cancer_data()
        kwargs.setdefault("name", "logistic(breast_cancer)")
        return cls(X, y, **kwargs)

    def _value(self, theta):
        z = self.X @ theta
        return np.mean(np.logaddexp(0.0, z) - self.y * z) + 0.5 * self.l2 * (theta @ theta)

    def _grad_on(self, theta, idx):
        X, y = (self.X, self.y) if idx is None else (self.X[idx], self.y[idx])
        return X.T @ (sigmoid(X @ theta) - y) / X.shape[0] + self.l2 * theta

    def _grad(self, theta, t):
        return self._grad_on(theta, self._batch(t))

    def _full_grad(self, theta):
        return self._grad_on(theta, None)

    def _value_and_grad(self, theta, t):
        idx = self._batch(t)
        if idx is not None:
            return self._value(theta), self._grad_on(theta, idx)
        z = self.X @ theta
        value = np.mean(np.logaddexp(0.0, z) - self.y * z) + 0.5 * self.l2 * (theta @ theta)
        return value, self.X.T @ (sigmoid(z) - self.y) / self.n_samples + self.l2 * theta

    def hessian(self, theta) -> np.ndarray:
        r"""The Hessian :math:`\frac1n X^\top \mathrm{diag}\big(\sigma(z)(1-\sigma(z))\big) X + \lambda I`."""
        theta = self._check_params(theta)
        p = sigmoid(self.X @ theta)
        return (self.X.T * (p * (1.0 - p))) @ self.X / self.n_samples + self.l2 * np.eye(theta.size)

    def accuracy(self, theta) -> float:
        """The fraction of training samples on the right side of the decision boundary :math:`z = 0`."""
        theta = self._check_params(theta)
        return float(np.mean((self.X @ theta > 0.0) == (self.y == 1.0)))

    @property
    def minimizer(self):
        """The unique minimizer when ``l2 > 0`` (Newton's method, computed once), else ``None``."""
        if self.l2 == 0.0:
            return None
        if self._minimizer_cache is None:
            self._minimizer_cache = self._newton()
        return self._minimizer_cache.copy()

    def _newton(self, max_iter=100):
        r"""Newton's method on :math:`\nabla L = 0`, damped by backtracking on :math:`\|\nabla L\|`.

        The merit is :math:`\phi(\theta) = \tfrac12\|\nabla L(\theta)\|^2`, not the
        loss: near the minimizer the loss decrease a step promises (about
        :math:`\|\nabla L\|^2`) falls below the loss's own rounding (about
        :math:`\epsilon\,|L|`), so an Armijo test on loss values would accept or
        reject steps by rounding noise and stall with :math:`\|\nabla L\|` near
        :math:`10^{-10}`. The gradient norm keeps its relative accuracy down to
        :math:`\epsilon` times the gradient's own scale. The Newton step
        :math:`s = H^{-1} \nabla L` is a descent direction of :math:`\phi`
        (:math:`\phi'(0) = -\|\nabla L\|^2` along :math:`-s`), and since
        :math:`H \succeq \lambda I` the only stationary point of :math:`\phi` is
        the minimizer, so the damped iteration converges from zero, where plain
        Newton can overshoot on nearly separable data with a small ``l2``.

        It stops when no step length down to :math:`2^{-30}` reduces the
        gradient norm (the rounding floor: the current point is kept, never a
        rejected candidate) or when the accepted step no longer moves
        :math:`\theta` by more than :math:`\epsilon\|\theta\|_\infty`.
        """
        eps = np.finfo(np.float64).eps
        theta = np.zeros(self._shapes[0])
        g = self._full_grad(theta)
        for _ in range(max_iter):
            if not np.any(g):
                break
            step = np.linalg.solve(self.hessian(theta), g)
            accepted = self._backtrack(theta, g, step)
            if accepted is None:
                break
            alpha, theta, g = accepted
            if alpha * np.abs(step).max() <= eps * np.abs(theta).max():
                break
        return theta

    def _backtrack(self, theta, g, step):
        # Armijo on phi = |g|^2 / 2 with c = 1/4: phi(alpha) <= (1 - alpha/2) phi(0).
        g_sq, alpha = g @ g, 1.0
        while alpha >= 2.0**-30:
            candidate = theta - alpha * step
            g_new = self._full_grad(candidate)
            if g_new @ g_new <= (1.0 - 0.5 * alpha) * g_sq:
                return alpha, candidate, g_new
            alpha *= 0.5
        return None


class SoftmaxRegression(_Regression):
    r"""Softmax (multinomial logistic) regression, mean cross-entropy with an optional L2 term.

    Parameters are a matrix :math:`W` of shape ``(d+1, k)`` (the last row is
    the intercept when ``fit_intercept``): a 2-D parameter, so the matrix
    methods (Adafactor, Shampoo, Muon) apply. With :math:`Z = XW`,
    :math:`P = \mathrm{softmax}(Z)` row by row and :math:`Y` the one-hot labels:

    .. math::

        L(W) &= \frac1n \sum_{i=1}^n \Big[\log \sum_{c=1}^k e^{Z_{ic}} - Z_{i y_i}\Big]
                + \frac{\lambda}{2}\|W\|_F^2 \\
        \nabla L(W) &= \frac1n X^\top (P - Y) + \lambda W

    The log-sum-exp subtracts each row's maximum first, so no exponential
    overflows. ``l2``, ``batch_size``, ``seed`` and ``init_scale`` behave as in
    :class:`LogisticRegression`; ``minimizer`` is ``None`` (no closed form).
    """

    def __init__(
        self,
        X,
        y,
        n_classes=None,
        l2=0.0,
        batch_size=None,
        seed=0,
        fit_intercept=True,
        init_scale=0.0,
        name="softmax",
    ):
        self._setup(X, l2, batch_size, seed, fit_intercept, init_scale, name)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != self.n_samples:
            raise ValueError(
                f"y must be a vector with one label per row of X ({self.n_samples}), got shape {y.shape}"
            )
        if y.dtype.kind not in "iuf" or not np.all(y == np.round(y)) or (y.size and y.min() < 0):
            raise ValueError("y must hold integer class labels 0, 1, ..., n_classes-1")
        y = y.astype(np.int64)
        k = int(y.max()) + 1 if n_classes is None else check_positive_int("n_classes", n_classes)
        if k < 2:
            raise ValueError(f"softmax regression needs n_classes >= 2, got {k}")
        if y.max() >= k:
            raise ValueError(f"y has label {int(y.max())} but n_classes is {k}")
        self.y, self.n_classes = y, k
        self.Y = np.eye(k)[y]
        self._shapes = ((self.X.shape[1], k),)

    @classmethod
    def synthetic(
        cls, n_samples=300, n_features=5, n_classes=3, seed=0, class_sep=1.5, **kwargs
    ) -> SoftmaxRegression:
        """Softmax regression on :func:`~adaptive_lr.objectives.datasets.make_multiclass_data` (``seed`` seeds data and minibatches)."""
        X, y = datasets.make_multiclass_data(n_samples, n_features, n_classes, seed, class_sep)
        kwargs.setdefault(
            "name", f"softmax(synthetic, n={n_samples}, d={n_features}, k={n_classes})"
        )
        return cls(X, y, n_classes=n_classes, seed=seed, **kwargs)

    @classmethod
    def digits(cls, n_classes=10, **kwargs) -> SoftmaxRegression:
        """Softmax regression on the standardized 8x8 digits shipped with scikit-learn (1797 x 64 for 10 classes)."""
        X, y = datasets.load_digits_data(n_classes=n_classes)
        kwargs.setdefault("name", f"softmax(digits, k={n_classes})")
        return cls(X, y, n_classes=n_classes, **kwargs)

    @staticmethod
    def _log_softmax(Z):
        Z = Z - Z.max(axis=1, keepdims=True)
        return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))

    def _loss(self, W, log_p):
        return -np.mean(log_p[np.arange(self.n_samples), self.y]) + 0.5 * self.l2 * np.vdot(W, W)

    def _value(self, W):
        return self._loss(W, self._log_softmax(self.X @ W))

    def _grad_on(self, W, idx):
        X, Y = (self.X, self.Y) if idx is None else (self.X[idx], self.Y[idx])
        P = np.exp(self._log_softmax(X @ W))
        return X.T @ (P - Y) / X.shape[0] + self.l2 * W

    def _grad(self, W, t):
        return self._grad_on(W, self._batch(t))

    def _full_grad(self, W):
        return self._grad_on(W, None)

    def _value_and_grad(self, W, t):
        idx = self._batch(t)
        if idx is not None:
            return self._value(W), self._grad_on(W, idx)
        log_p = self._log_softmax(self.X @ W)
        return self._loss(W, log_p), self.X.T @ (
            np.exp(log_p) - self.Y
        ) / self.n_samples + self.l2 * W

    def accuracy(self, W) -> float:
        """The fraction of training samples whose largest logit is the true class."""
        W = self._check_params(W)
        return float(np.mean(np.argmax(self.X @ W, axis=1) == self.y))
