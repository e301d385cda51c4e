"""Small data sets: seeded synthetic ones, and two that ship inside scikit-learn.

Nothing is downloaded: ``load_breast_cancer`` and ``load_digits`` read files
installed with scikit-learn. scikit-learn is imported only when one of them is
called, so that the rest of the library loads fast.
"""

from __future__ import annotations

import numpy as np

from .base import as_float_array, check_nonneg, check_positive_int, check_real, check_seed


def standardize(X) -> np.ndarray:
    r"""Each column centred and scaled to unit variance: :math:`(x_j - \bar x_j) / s_j`.

    A constant column (:math:`s_j = 0`, e.g. the always-blank border pixels of
    the digits) becomes zeros instead of 0/0.
    """
    X = as_float_array("X", X, ndim=2)
    mean, std = X.mean(axis=0), X.std(axis=0)
    return (X - mean) / np.where(std > 0.0, std, 1.0)


def make_binary_data(n_samples=200, n_features=5, seed=0, feature_scales=None, bias=0.0):
    r"""Seeded synthetic data for binary logistic regression. Returns ``(X, y)``.

    Features :math:`x_i \sim \mathcal N(0, \mathrm{diag}(s)^2)`, a true weight
    :math:`w^\circ \sim \mathcal N(0, I)`, labels
    :math:`y_i \sim \mathrm{Bernoulli}(\sigma(x_i^\top w^\circ + b))`. Labels
    are drawn, not thresholded, so the classes overlap and the unregularized
    loss has a finite minimizer (with high probability for ``n_samples``
    well above ``n_features``). ``feature_scales`` (:math:`s`, default ones)
    makes the problem ill-conditioned, the case where per-coordinate step
    sizes matter.
    """
    n = check_positive_int("n_samples", n_samples)
    d = check_positive_int("n_features", n_features)
    rng = np.random.default_rng(check_seed(seed))
    scales = (
        np.ones(d)
        if feature_scales is None
        else as_float_array("feature_scales", feature_scales, shape=(d,))
    )
    X = rng.standard_normal((n, d)) * scales
    w_true = rng.standard_normal(d) / np.where(scales > 0, scales, 1.0)
    logits = X @ w_true + check_real("bias", bias)
    p = np.exp(-np.logaddexp(0.0, -logits))
    y = (rng.random(n) < p).astype(np.float64)
    return X, y


def make_multiclass_data(n_samples=300, n_features=5, n_classes=3, seed=0, class_sep=1.5):
    r"""Seeded Gaussian blobs for softmax regression. Returns ``(X, y)`` with integer ``y``.

    Class :math:`k` has mean :math:`\mu_k \sim \mathcal N(0, c^2 I)` (``class_sep``
    is :math:`c`) and unit covariance; samples are spread evenly over classes.
    """
    n = check_positive_int("n_samples", n_samples)
    d = check_positive_int("n_features", n_features)
    k = check_positive_int("n_classes", n_classes)
    if k < 2:
        raise ValueError(f"n_classes must be >= 2, got {k}")
    sep = check_nonneg("class_sep", class_sep)
    rng = np.random.default_rng(check_seed(seed))
    means = sep * rng.standard_normal((k, d))
    y = np.arange(n) % k
    X = means[y] + rng.standard_normal((n, d))
    return X, y


def load_breast_cancer_data(standardize_features=True):
    """The Wisconsin breast cancer data set (569 samples, 30 features, 2 classes). Returns ``(X, y)``.

    ``y`` is 1 for benign, 0 for malignant (scikit-learn's coding). Shipped
    with scikit-learn: nothing is downloaded.
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = data.data.astype(np.float64)
    return (standardize(X) if standardize_features else X), data.target.astype(np.float64)


def load_digits_data(standardize_features=True, n_classes=10):
    """The 8x8 handwritten digits (1797 samples, 64 features, 10 classes). Returns ``(X, y)``.

    ``n_classes`` keeps only the digits ``0 .. n_classes-1``. Shipped with
    scikit-learn: nothing is downloaded.
    """
    k = check_positive_int("n_classes", n_classes)
    if not 2 <= k <= 10:
        raise ValueError(f"n_classes must be between 2 and 10, got {k}")
    from sklearn.datasets import load_digits

    data = load_digits(n_class=k)
    X = data.data.astype(np.float64)
    return (standardize(X) if standardize_features else X), data.target.astype(np.int64)
