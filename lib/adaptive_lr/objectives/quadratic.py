"""Synthetic quadratics: the simplest place to see what a preconditioner does."""

from __future__ import annotations

import numpy as np

from .base import (
    Objective,
    as_float_array,
    check_nonneg,
    check_positive,
    check_positive_int,
    check_real,
    check_seed,
    step_rng,
)


def rotation_2d(angle: float) -> np.ndarray:
    r"""The 2-D rotation :math:`R(\alpha) = \begin{pmatrix}\cos\alpha & -\sin\alpha \\ \sin\alpha & \cos\alpha\end{pmatrix}`."""
    angle = check_real("angle", angle)
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def random_rotation(dim: int, seed: int = 0) -> np.ndarray:
    """A random orthogonal matrix, uniform (Haar) on the orthogonal group, from ``seed``.

    QR of a Gaussian matrix, with the signs of ``R``'s diagonal moved into
    ``Q``: without that fix ``Q`` is not uniformly distributed.
    """
    dim, seed = check_positive_int("dim", dim), check_seed(seed)
    Z = np.random.default_rng(seed).standard_normal((dim, dim))
    Q, R = np.linalg.qr(Z)
    return Q * np.sign(np.diag(R))


class Quadratic(Objective):
    r"""The quadratic :math:`f(\theta) = \tfrac12 (\theta-\theta^*)^\top A (\theta-\theta^*)`.

    .. math::

        \nabla f(\theta) = A(\theta - \theta^*), \qquad
        g_t = A(\theta - \theta^*) + \sigma\, \xi_t, \quad \xi_t \sim \mathcal N(0, I)

    ``value`` is the noise-free :math:`f`; ``grad(theta, t)`` adds the noise
    :math:`\sigma\xi_t` (``noise_std``), drawn from a generator seeded by
    ``(seed, t)`` so that it is reproducible step by step. The noise models the
    minibatch noise of a stochastic gradient.

    Build one from a matrix, or with :meth:`two_d` (for contour plots),
    :meth:`random` (``dim``, condition number, random rotation) or
    :meth:`diagonal` (axis-aligned curvatures).

    Parameters
    ----------
    A : (n, n) symmetric positive semi-definite matrix
    theta_star : (n,) array, default zeros
        The minimizer :math:`\theta^*`.
    noise_std : float >= 0
        :math:`\sigma`, the standard deviation of each gradient coordinate's noise.
    seed : int
        Seeds the gradient noise.
    theta0 : (n,) array, optional
        A fixed start for :meth:`init_params`; without it the start is
        :math:`\theta^* + z`, :math:`z \sim \mathcal N(0, I)` drawn from the init seed.
    """

    def __init__(self, A, theta_star=None, noise_std=0.0, seed=0, theta0=None, name="quadratic"):
        A = as_float_array("A", A, ndim=2)
        n = A.shape[0]
        if A.shape != (n, n) or n == 0:
            raise ValueError(f"A must be a non-empty square matrix, got shape {A.shape}")
        if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(A).max())):
            raise ValueError("A must be symmetric")
        eigenvalues = np.linalg.eigvalsh(A)
        if eigenvalues[0] < -1e-10 * max(1.0, eigenvalues[-1]):
            raise ValueError(
                f"A must be positive semi-definite; its smallest eigenvalue is {eigenvalues[0]:.3g}"
            )
        self.A = 0.5 * (A + A.T)  # exactly symmetric, so the gradient is exactly that of f
        self.eigenvalues = np.clip(eigenvalues, 0.0, None)
        self.theta_star = (
            np.zeros(n)
            if theta_star is None
            else as_float_array("theta_star", theta_star, shape=(n,))
        )
        self.noise_std = check_nonneg("noise_std", noise_std)
        self.seed = check_seed(seed)
        self.stochastic = self.noise_std > 0.0
        self.name = str(name)
        self._shapes = ((n,),)
        self._minimizer = self.theta_star.copy()
        if theta0 is not None:
            self._theta0 = as_float_array("theta0", theta0, shape=(n,))
            radius = 1.25 * float(np.max(np.abs(self._theta0 - self.theta_star)))
            if n == 2 and radius > 0:
                self.plot_bounds = tuple((c - radius, c + radius) for c in self.theta_star)

    @property
    def dim(self) -> int:
        """The number of parameters :math:`n`."""
        return self._shapes[0][0]

    @property
    def condition_number(self) -> float:
        r""":math:`\kappa = h_{\max} / h_{\min}` (``inf`` for a singular ``A``)."""
        return (
            float(self.eigenvalues[-1] / self.eigenvalues[0])
            if self.eigenvalues[0] > 0
            else float("inf")
        )

    @classmethod
    def two_d(
        cls,
        condition_number=10.0,
        angle=0.0,
        max_eigenvalue=1.0,
        theta_star=(0.0, 0.0),
        theta0=(-4.0, 3.0),
        noise_std=0.0,
        seed=0,
    ) -> Quadratic:
        r"""A 2-D quadratic for contour plots: :math:`A = R(\alpha)\, \mathrm{diag}(h_{\max}/\kappa,\ h_{\max})\, R(\alpha)^\top`.

        At ``angle=0`` the valley is axis-aligned: shallow along :math:`\theta_1`,
        steep along :math:`\theta_2`, the case where a per-coordinate step size
        (AdaGrad, Adam) helps most. A non-zero ``angle`` (radians) rotates the
        valley away from the axes, where a diagonal preconditioner helps less.
        The start is the fixed ``theta0`` and ``plot_bounds`` is a square
        around :math:`\theta^*` that contains it.
        """
        kappa = check_positive("condition_number", condition_number)
        if kappa < 1.0:
            raise ValueError(f"condition_number must be >= 1, got {kappa}")
        lam = check_positive("max_eigenvalue", max_eigenvalue)
        angle = check_real("angle", angle)
        R = rotation_2d(angle)
        A = R @ np.diag([lam / kappa, lam]) @ R.T
        return cls(
            A,
            theta_star,
            noise_std,
            seed,
            theta0,
            name=f"quadratic2d(kappa={kappa:g}, angle={angle:g})",
        )

    @classmethod
    def random(
        cls,
        dim,
        condition_number=10.0,
        rotate=True,
        max_eigenvalue=1.0,
        theta_star=None,
        noise_std=0.0,
        seed=0,
    ) -> Quadratic:
        r"""An ``dim``-dimensional quadratic :math:`A = Q \Lambda Q^\top` with a chosen condition number.

        The eigenvalues are log-spaced from :math:`h_{\max}/\kappa` to
        :math:`h_{\max}`; ``Q`` is a random rotation drawn from ``seed``
        (:func:`random_rotation`), or the identity when ``rotate=False``
        (axis-aligned curvature, where a diagonal preconditioner is exact).
        ``seed`` also seeds the gradient noise.
        """
        dim = check_positive_int("dim", dim)
        kappa = check_positive("condition_number", condition_number)
        if kappa < 1.0:
            raise ValueError(f"condition_number must be >= 1, got {kappa}")
        lam = check_positive("max_eigenvalue", max_eigenvalue)
        eigenvalues = np.geomspace(lam / kappa, lam, dim)
        if rotate:
            Q = random_rotation(dim, seed)
            A = (Q * eigenvalues) @ Q.T
        else:
            A = np.diag(eigenvalues)
        rot = "rotated" if rotate else "diagonal"
        return cls(
            A, theta_star, noise_std, seed, name=f"quadratic(n={dim}, kappa={kappa:g}, {rot})"
        )

    @classmethod
    def diagonal(
        cls, eigenvalues, theta_star=None, noise_std=0.0, seed=0, theta0=None
    ) -> Quadratic:
        r"""The axis-aligned quadratic :math:`f(\theta) = \tfrac12 \sum_i \lambda_i (\theta_i - \theta^*_i)^2`."""
        eigenvalues = as_float_array("eigenvalues", eigenvalues, ndim=1)
        return cls(
            np.diag(eigenvalues),
            theta_star,
            noise_std,
            seed,
            theta0,
            name=f"quadratic(diag, n={eigenvalues.size})",
        )

    def _init_params(self, rng):
        return self.theta_star + rng.standard_normal(self.dim)

    def _value(self, theta):
        d = theta - self.theta_star
        return 0.5 * (d @ (self.A @ d))

    def _full_grad(self, theta):
        return self.A @ (theta - self.theta_star)

    def _grad(self, theta, t):
        g = self.A @ (theta - self.theta_star)
        if self.noise_std > 0.0:
            g = g + self.noise_std * step_rng(self.seed, t).standard_normal(self.dim)
        return g

    def _value_and_grad(self, theta, t):
        d = theta - self.theta_star
        Ad = self.A @ d
        if self.noise_std > 0.0:
            return 0.5 * (d @ Ad), Ad + self.noise_std * step_rng(self.seed, t).standard_normal(
                self.dim
            )
        return 0.5 * (d @ Ad), Ad

    def _values(self, points):
        D = points - self.theta_star
        return 0.5 * np.einsum("ki,ij,kj->k", D, self.A, D)
