"""Shared fixtures. Hypothesis runs a fixed, CI-sized budget of examples."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MPLBACKEND", "Agg")
# Graded notebooks without figures: drawing each notebook's figures as PNG takes seconds,
# and the batches here grade hundreds of notebooks. The sandbox tests start the grading
# kernel with figures on (the course's default) and check the PNG output.
os.environ.setdefault("ADAPTIVE_LR_FIGURES", "0")

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(20261128)
