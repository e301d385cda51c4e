"""The lab's corpus: Shakespeare's sonnets (1609, public domain), shipped with the package."""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import numpy as np

from .. import validation


class Corpus(NamedTuple):
    """The text as character ids, split into a training and a validation part."""

    chars: str
    """The vocabulary: every character of the text once, sorted; id ``i`` is ``chars[i]``."""
    train: np.ndarray
    """Character ids of the first 90% of the text (int64)."""
    val: np.ndarray
    """Character ids of the last 10% (held out: the end of sonnet CXXX and the two after it)."""

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def load_text() -> str:
    """The sonnets as one string (about 15,000 characters, 25 sonnets)."""
    return resources.files(__package__).joinpath("sonnets.txt").read_text(encoding="utf-8")


def load_corpus(val_fraction: float = 0.1) -> Corpus:
    text = load_text()
    val_fraction = validation.closed_unit_interval("val_fraction", val_fraction)
    chars = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    split = int(round(len(ids) * (1.0 - val_fraction)))
    return Corpus(chars, ids[:split], ids[split:])


def batch(ids: np.ndarray, batch_size: int, context: int, seed: int, t: int):
    """``(x, y)`` int64 arrays of shape ``(batch_size, context)``; ``y`` is ``x`` shifted by one.

    The windows of step ``t`` come from a generator seeded by ``(seed, t)``: every
    optimizer of a comparison sees the same batches in the same order.
    """
    batch_size = validation.positive_int("batch_size", batch_size)
    context = validation.positive_int("context", context)
    if len(ids) <= context:
        raise ValueError(f"the text has {len(ids)} characters, fewer than context + 1 = {context + 1}")
    rng = np.random.default_rng((validation.nonneg_int("seed", seed), validation.step_index(t)))
    start = rng.integers(0, len(ids) - context, size=batch_size)
    offsets = np.arange(context)
    x = ids[start[:, None] + offsets]
    y = ids[start[:, None] + offsets + 1]
    return x, y
