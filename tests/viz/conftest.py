import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class Bowl:
    """A stand-in objective with the course's interface: value(params, t), minimizer."""

    minimizer = np.array([0.5, -0.25])

    def value(self, params, t=None):
        d = np.asarray(params) - self.minimizer
        return 0.5 * float(d[0] ** 2 + 10.0 * d[1] ** 2)


@pytest.fixture
def bowl():
    return Bowl()


@pytest.fixture
def path():
    s = np.linspace(0, 1, 30)[:, None]
    return (1 - s) * np.array([[-1.0, 1.0]]) + s * Bowl.minimizer
