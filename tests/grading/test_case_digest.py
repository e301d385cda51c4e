"""The hidden cases are pinned: a change to them (which changes what a regrade gives) is deliberate.

Each function's cases are seeded from the notebook's seed and a stable hash of
the function's name, never from a position in a table; the digest below covers
every hidden case the source notebook generates (labels, argument names, dtypes,
shapes, every array entry to 24 significant bits, keyword arguments, tags). If a change to
``grading/cases.py`` is meant to change the hidden cases, update ``DIGEST`` in
the same commit and say so: every student's regrade may change with it.
"""

import hashlib
import json

import numpy as np

from adaptive_lr.grading import cases
from adaptive_lr.grading.api import FUNCTIONS

from .test_referee import NOTEBOOK_SEEDS

DIGEST = "6e3941c149a1a7b769b0b51b2f393c60c12e95a6677bd87378e6b096b3053abc"


def _quantized(value: np.ndarray) -> np.ndarray:
    """Every entry rounded to 24 significant bits (mantissa and exponent).

    Some generators multiply matrices (symmetric positive definite inputs), and
    OpenBLAS picks its kernels by CPU, so those entries differ in their last
    bits between machines; at 24 of 53 bits a difference of a few ulps changes
    the rounded value with a probability of about 1e-8 per entry.
    """
    x = np.nan_to_num(np.asarray(value, dtype=np.float64), nan=0.0, posinf=1e308, neginf=-1e308)
    mantissa, exponent = np.frexp(x)
    return np.stack([np.round(mantissa * 2.0**24).astype(np.int64), exponent.astype(np.int64)])


def _digest(seeds: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(seeds):
        for case in cases.make_cases(name, seeds[name]):
            head = {k: case[k] for k in ("label", "kwargs", "dtype", "tags")}
            h.update(json.dumps([name, head], sort_keys=True, default=repr).encode())
            for arg, value in case["args"]:
                h.update(arg.encode())
                if isinstance(value, np.ndarray):
                    h.update(f"{value.dtype}{value.shape}".encode())
                    h.update(_quantized(value).tobytes())
                else:
                    h.update(repr(value).encode())
    return h.hexdigest()


def test_hidden_cases_match_the_pinned_digest():
    assert _digest(NOTEBOOK_SEEDS) == DIGEST, (
        "the hidden cases changed; if that is intended, update DIGEST (every regrade may change)"
    )


def test_reordering_the_function_table_changes_no_case(monkeypatch):
    before = _digest(NOTEBOOK_SEEDS)
    monkeypatch.setattr(cases, "FUNCTIONS", dict(reversed(list(FUNCTIONS.items()))))
    assert _digest(NOTEBOOK_SEEDS) == before


def test_the_digest_sees_a_changed_case(monkeypatch):
    original = cases.make_cases

    def nudged(name, seed):
        out = original(name, seed)
        if name == "adam_update":
            value = out[0]["args"][0][1]
            out[0]["args"][0][1] = value * (1.0 + 1e-6)  # a change in the sixth digit
        return out

    before = _digest(NOTEBOOK_SEEDS)
    monkeypatch.setattr(cases, "make_cases", nudged)
    assert _digest(NOTEBOOK_SEEDS) != before
