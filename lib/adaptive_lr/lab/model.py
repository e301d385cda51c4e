"""A GPT-style character transformer as a dict of tensors and a pure loss function.

No ``torch.nn.Module``: the parameters are a plain ``{name: tensor}`` dict, so
that the lab's loop can hand each tensor and its gradient to an update rule of
:mod:`adaptive_lr.optim` and put the new tensor in its place. Pre-LayerNorm
blocks (causal self-attention, then a GELU MLP), learned position embeddings,
an untied output head.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .. import validation


class Config(NamedTuple):
    vocab_size: int
    context: int = 64
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4

    def check(self) -> Config:
        for name in ("vocab_size", "context", "d_model", "n_layers", "n_heads"):
            validation.positive_int(name, getattr(self, name))
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model must be a multiple of n_heads, got {self.d_model} and {self.n_heads}"
            )
        return self


# Weight matrices inside the blocks: the "hidden" matrices that Muon is meant for.
HIDDEN_MATRICES = ("attn.qkv", "attn.proj", "mlp.fc", "mlp.proj")


def is_hidden_matrix(name: str) -> bool:
    return name.endswith(HIDDEN_MATRICES)


def init_params(cfg: Config, seed: int = 0) -> dict:
    """The parameters, float32: normal(0, 0.02) weights, output projections scaled by 1/sqrt(2 L)."""
    import torch

    cfg = cfg.check()
    gen = torch.Generator().manual_seed(validation.nonneg_int("seed", seed))
    d, std = cfg.d_model, 0.02
    proj_std = std / math.sqrt(2 * cfg.n_layers)

    def normal(shape, s):
        return torch.randn(shape, generator=gen) * s

    p = {"tok_emb": normal((cfg.vocab_size, d), std), "pos_emb": normal((cfg.context, d), std)}
    for i in range(cfg.n_layers):
        h = f"h{i}."
        p[h + "ln1.w"], p[h + "ln1.b"] = torch.ones(d), torch.zeros(d)
        p[h + "attn.qkv"] = normal((d, 3 * d), std)
        p[h + "attn.proj"] = normal((d, d), proj_std)
        p[h + "ln2.w"], p[h + "ln2.b"] = torch.ones(d), torch.zeros(d)
        p[h + "mlp.fc"], p[h + "mlp.fc.b"] = normal((d, 4 * d), std), torch.zeros(4 * d)
        p[h + "mlp.proj"], p[h + "mlp.proj.b"] = normal((4 * d, d), proj_std), torch.zeros(d)
    p["ln_f.w"], p["ln_f.b"] = torch.ones(d), torch.zeros(d)
    p["head"] = normal((d, cfg.vocab_size), std)
    return p


def n_params(params: dict) -> int:
    return sum(int(p.numel()) for p in params.values())


def logits(params: dict, x, cfg: Config):
    """``(B, T, vocab)`` logits for the int64 character ids ``x`` of shape ``(B, T)``."""
    import torch.nn.functional as F

    B, T = x.shape
    d, nh = cfg.d_model, cfg.n_heads
    h = params["tok_emb"][x] + params["pos_emb"][:T]
    for i in range(cfg.n_layers):
        p = f"h{i}."
        a = F.layer_norm(h, (d,), params[p + "ln1.w"], params[p + "ln1.b"])
        q, k, v = (a @ params[p + "attn.qkv"]).split(d, dim=-1)
        q, k, v = (z.view(B, T, nh, d // nh).transpose(1, 2) for z in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        h = h + att.transpose(1, 2).reshape(B, T, d) @ params[p + "attn.proj"]
        a = F.layer_norm(h, (d,), params[p + "ln2.w"], params[p + "ln2.b"])
        a = F.gelu(a @ params[p + "mlp.fc"] + params[p + "mlp.fc.b"])
        h = h + a @ params[p + "mlp.proj"] + params[p + "mlp.proj.b"]
    h = F.layer_norm(h, (d,), params["ln_f.w"], params["ln_f.b"])
    return h @ params["head"]


def loss(params: dict, x, y, cfg: Config):
    """Mean cross-entropy (nats per character) of predicting ``y`` from ``x``."""
    import torch.nn.functional as F

    out = logits(params, x, cfg)
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
