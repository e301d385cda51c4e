"""The optimizers of the lab's comparison: which rule of :mod:`adaptive_lr.optim` updates which tensor.

Every method names registry rules (their specs say how to call them) and their
hyperparameters, with ``lr`` the *peak* learning rate of the schedule. Weight
decay, where a rule has it, applies to matrices only (never to biases, LayerNorm
gains or anything else 1-D), as is usual for transformers. Rules that are
defined for matrices only (Adafactor, Muon) hand the other tensors to a
fallback rule, and say so in their label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ..optim import SPECS
from .model import is_hidden_matrix


class Part(NamedTuple):
    rule: str
    """A registry name (``"adamw"``)."""
    hp: Mapping
    """Its hyperparameters; ``lr`` is the peak of the schedule."""


class Method(NamedTuple):
    name: str
    label: str
    main: Part
    fallback: Part | None = None
    hidden_matrices_only: bool = False
    """Main rule on the blocks' weight matrices only (Muon); the rest gets the fallback."""
    out_in: bool = False
    """Main rule sees each matrix as (out, in), torch's ``nn.Linear`` layout, where the lab's model
    stores (in, out) and computes ``x @ W``: Muon's shape factor sqrt(max(1, n/m)) is defined on
    that layout (``torch.optim.Muon``, Jordan's reference), so the MLP's up-projection and the
    attention's qkv get it, not the down-projection."""

    def sees_transpose(self, name: str, tensor) -> bool:
        """Whether tensor ``name`` is handed to its rule transposed (see :attr:`out_in`)."""
        return self.out_in and tensor.ndim == 2 and self.part_for(name, tensor) == self.main

    def part_for(self, name: str, tensor) -> Part:
        """The rule and hyperparameters that update tensor ``name``."""
        takes = tensor.ndim == 2 if SPECS[self.main.rule].matrix_only else True
        if self.hidden_matrices_only:
            takes = takes and is_hidden_matrix(name)
        part = self.main if takes else self.fallback
        if part is None:
            raise ValueError(f"{self.name}: {self.main.rule} cannot update {name} and there is no fallback")
        if tensor.ndim < 2 and "weight_decay" in part.hp:
            part = Part(part.rule, {**part.hp, "weight_decay": 0.0})
        return part

    def with_hp(self, **hp) -> Method:
        """The same method with some of its main rule's hyperparameters changed."""
        return self._replace(main=Part(self.main.rule, {**self.main.hp, **hp}))


_ADAMW = Part("adamw", {"lr": 3e-3, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1})

METHODS = {
    m.name: m
    for m in (
        Method("adamw", "AdamW", _ADAMW),
        Method(
            "adam_l2",
            "Adam + L2 (coupled)",
            Part("adam_l2", {**_ADAMW.hp, "weight_decay": 0.1}),
        ),
        Method(
            "adafactor",
            "Adafactor (matrices; AdamW on vectors)",
            Part("adafactor", {"lr": 2e-2, "beta2_decay": -0.8, "eps1": 1e-30, "eps2": 1e-3}),
            fallback=_ADAMW,
        ),
        Method(
            "lamb",
            "LAMB",
            Part("lamb", {"lr": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.1}),
        ),
        Method(
            "lion",
            "Lion",
            Part("lion", {"lr": 3e-4, "beta1": 0.9, "beta2": 0.99, "weight_decay": 1.0}),
        ),
        Method(
            "muon",
            "Muon (hidden matrices; AdamW elsewhere)",
            Part("muon", {"lr": 0.02, "momentum": 0.95, "nesterov": True, "weight_decay": 0.0}),
            fallback=_ADAMW,
            hidden_matrices_only=True,
            out_in=True,
        ),
        Method(
            "sgd",
            "SGD + momentum",
            Part("momentum", {"lr": 0.3, "momentum": 0.9, "weight_decay": 0.0}),
        ),
    )
}
"""The comparison of the lab, in the order its figures list them."""
