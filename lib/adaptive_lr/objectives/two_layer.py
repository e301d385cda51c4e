"""A small two-layer tanh network: the smallest model with layers of different scale."""

from __future__ import annotations

import numpy as np

from .base import (
    Objective,
    as_float_array,
    check_nonneg,
    check_positive,
    check_positive_int,
    check_seed,
    minibatch_indices,
)


class TwoLayerNet(Objective):
    r"""Mean-squared-error regression with a one-hidden-layer tanh network.

    Parameters are a *list* of four layers ``[W1, b1, W2, b2]`` of shapes
    ``(d, h)``, ``(h,)``, ``(h, m)``, ``(m,)``, so that layer-wise rules
    (LARS, LAMB) see each layer separately. With :math:`X` of shape ``(n, d)``:

    .. math::

        H &= \tanh(X W_1 + b_1), \qquad \hat Y = H W_2 + b_2, \qquad R = \hat Y - Y \\
        L &= \frac{1}{2n} \|R\|_F^2 + \frac{\lambda}{2} \sum_\ell \|\theta_\ell\|^2

    and, by backpropagation (:math:`\odot` element-wise):

    .. math::

        \nabla_{W_2} L &= H^\top R / n, & \nabla_{b_2} L &= \mathbf 1^\top R / n \\
        \Delta &= (R W_2^\top / n) \odot (1 - H \odot H), &
        \nabla_{W_1} L &= X^\top \Delta, \quad \nabla_{b_1} L = \mathbf 1^\top \Delta

    each plus :math:`\lambda\theta_\ell` (``l2``, default 0). ``init_params``
    draws :math:`W_1 \sim \mathcal N(0, 1/d)` and
    :math:`W_2 \sim \mathcal N(0, s^2/h)` with :math:`s` = ``layer_scale``,
    biases zero. :math:`s \ne 1` gives the two weight matrices norms that
    differ by that factor (and gradients that differ the other way), the case
    LARS and LAMB were made for: one global learning rate is too large for one
    layer and too small for the other. ``batch_size`` and ``seed`` give
    minibatch gradients as in :class:`LogisticRegression`; ``minimizer`` is
    ``None``.
    """

    layer_names = ("W1", "b1", "W2", "b2")

    def __init__(
        self, X, Y, hidden=16, layer_scale=1.0, l2=0.0, batch_size=None, seed=0, name="two_layer"
    ):
        X = as_float_array("X", X, ndim=2)
        Y = as_float_array("Y", Y)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"Y must have one row per row of X ({X.shape[0]}), got shape {Y.shape}"
            )
        if X.shape[0] == 0:
            raise ValueError("X must have at least one row (sample)")
        self.X, self.Y = X, Y
        self.hidden = check_positive_int("hidden", hidden)
        self.layer_scale = check_positive("layer_scale", layer_scale)
        self.l2 = check_nonneg("l2", l2)
        self.batch_size = (
            None if batch_size is None else check_positive_int("batch_size", batch_size)
        )
        self.seed = check_seed(seed)
        self.stochastic = self.batch_size is not None and self.batch_size < X.shape[0]
        self.name = str(name)
        d, m, h = X.shape[1], Y.shape[1], self.hidden
        self._shapes = ((d, h), (h,), (h, m), (m,))
        self._layered = True

    @classmethod
    def synthetic(
        cls,
        n_samples=200,
        n_features=4,
        n_outputs=1,
        hidden=16,
        teacher_hidden=8,
        noise_std=0.1,
        seed=0,
        **kwargs,
    ) -> TwoLayerNet:
        r"""A network fitted to a random tanh *teacher* network plus Gaussian noise.

        :math:`x \sim \mathcal N(0, I_d)`, :math:`y = \tanh(x^\top V_1) V_2 + \sigma\xi`
        with :math:`V_1 \sim \mathcal N(0, 4/d)` (so the teacher is not linear)
        and :math:`V_2 \sim \mathcal N(0, 1/h_\circ)`. ``seed`` seeds the data
        and the minibatches; the remaining keywords go to the constructor.
        """
        n = check_positive_int("n_samples", n_samples)
        d = check_positive_int("n_features", n_features)
        m = check_positive_int("n_outputs", n_outputs)
        ht = check_positive_int("teacher_hidden", teacher_hidden)
        sigma = check_nonneg("noise_std", noise_std)
        rng = np.random.default_rng(check_seed(seed))
        X = rng.standard_normal((n, d))
        V1 = rng.standard_normal((d, ht)) * (2.0 / np.sqrt(d))
        V2 = rng.standard_normal((ht, m)) / np.sqrt(ht)
        Y = np.tanh(X @ V1) @ V2 + sigma * rng.standard_normal((n, m))
        kwargs.setdefault(
            "name", f"two_layer(n={n}, d={d}, h={hidden}, scale={kwargs.get('layer_scale', 1.0):g})"
        )
        return cls(X, Y, hidden=hidden, seed=seed, **kwargs)

    @property
    def n_samples(self) -> int:
        """The number of training samples :math:`n`."""
        return self.X.shape[0]

    def _init_params(self, rng):
        d, h = self._shapes[0]
        m = self._shapes[3][0]
        W1 = rng.standard_normal((d, h)) / np.sqrt(d)
        W2 = rng.standard_normal((h, m)) * (self.layer_scale / np.sqrt(h))
        return [W1, np.zeros(h), W2, np.zeros(m)]

    def predict(self, params, X=None) -> np.ndarray:
        r"""The network's output :math:`\tanh(X W_1 + b_1) W_2 + b_2` (on the training inputs by default)."""
        W1, b1, W2, b2 = self._check_params(params)
        if X is None:
            X = self.X
        else:
            X = as_float_array("X", X, ndim=2)
            if X.shape[1] != W1.shape[0]:
                raise ValueError(f"X must have {W1.shape[0]} columns (features), got {X.shape[1]}")
        return np.tanh(X @ W1 + b1) @ W2 + b2

    def _penalty(self, params):
        return 0.5 * self.l2 * sum(np.vdot(p, p) for p in params) if self.l2 else 0.0

    def _value(self, params):
        W1, b1, W2, b2 = params
        R = np.tanh(self.X @ W1 + b1) @ W2 + b2 - self.Y
        return 0.5 * np.vdot(R, R) / self.n_samples + self._penalty(params)

    def _forward_backward(self, params, idx):
        W1, b1, W2, b2 = params
        X, Y = (self.X, self.Y) if idx is None else (self.X[idx], self.Y[idx])
        n = X.shape[0]
        H = np.tanh(X @ W1 + b1)
        R = H @ W2 + b2 - Y
        dOut = R / n
        Delta = (dOut @ W2.T) * (1.0 - H * H)
        grads = [X.T @ Delta, Delta.sum(axis=0), H.T @ dOut, dOut.sum(axis=0)]
        if self.l2:
            grads = [g + self.l2 * p for g, p in zip(grads, params)]
        return 0.5 * np.vdot(R, R) / n + self._penalty(params), grads

    def _grad(self, params, t):
        return self._forward_backward(
            params, minibatch_indices(self.n_samples, self.batch_size, self.seed, t)
        )[1]

    def _full_grad(self, params):
        return self._forward_backward(params, None)[1]

    def _value_and_grad(self, params, t):
        idx = minibatch_indices(self.n_samples, self.batch_size, self.seed, t)
        value, grads = self._forward_backward(params, idx)
        return (value if idx is None else self._value(params)), grads
