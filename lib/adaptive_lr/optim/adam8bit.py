"""8-bit Adam: Adam whose two moments are stored block-wise quantized to one byte each.

The quantization map is a *dynamic* (tree) map in the manner of Dettmers et
al. (2022): in a code, the number of leading zero bits is a decimal exponent,
the next 1 bit is an indicator, and the bits after it are a linear fraction.
Codes near the block's largest value are therefore finely spaced on a linear
scale, and small values keep a few significant bits over six or seven decades,
where a linear 8-bit map would round to zero every magnitude below about
1/254 of the block's maximum (signed, 255 levels on [-max, max]; unsigned,
256 levels on [0, max]: below 1/510). The map is built here from that description; it is not
bitsandbytes' exact table.

* ``m`` (signed): a sign bit, then 7 bits: magnitudes
  :math:`10^{-z}\\left(0.1 + 0.9\\,\\tfrac{k+1}{2^{6-z}}\\right)` for
  :math:`z = 0..6` leading zeros and :math:`k = 0..2^{6-z}-1`, their negatives, and 0:
  255 values, symmetric (:math:`\\mathcal{Q}(-x) = -\\mathcal{Q}(x)`), smallest non-zero :math:`10^{-6}`.
* ``v`` (unsigned, :math:`v \\ge 0`): 8 bits, :math:`z = 0..7`, and 0: 256
  values, smallest non-zero :math:`10^{-7}`.

Both contain 1 exactly, so the largest entry of each block is stored exactly.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

from .. import validation as check
from .adam import _check_adam, _moments
from .spec import ADAM_VARIANTS, RuleSpec

# What adaptive_lr.optim exports from this module.
__all__ = [
    "Adam8bitState",
    "adam8bit_state_bytes",
    "adam8bit_update",
    "dequantize_blockwise",
    "dynamic_map",
    "init_adam8bit",
    "quantize_blockwise",
]


@lru_cache(maxsize=2)
def dynamic_map(signed: bool) -> tuple:
    r"""The sorted values of the 8-bit dynamic quantization map, in ``[-1, 1]`` or ``[0, 1]``.

    .. math::

        \mathcal{Q}_{z,k} = 10^{-z} \left(0.1 + 0.9\, \frac{k+1}{2^{\,b-1-z}}\right),
        \qquad z = 0, \dots, b-1, \quad k = 0, \dots, 2^{\,b-1-z} - 1

    with :math:`b = 7` bits after the sign (signed map: these, their negatives
    and 0; 255 values) or :math:`b = 8` (unsigned map: these and 0; 256 values).
    :math:`z` is the number of leading zero bits of a code, the decimal
    exponent; the :math:`b-1-z` bits after the indicator bit are a linear fraction.

    Reference: Dettmers, Lewis, Shleifer and Zettlemoyer, "8-bit Optimizers via
    Block-wise Quantization", ICLR 2022, Section 2 and Appendix (dynamic tree quantization).
    """
    bits = 7 if signed else 8  # bits after the sign bit
    magnitudes = []
    for z in range(bits):  # z leading zeros, then the indicator bit, then bits - 1 - z fraction bits
        n = 2 ** (bits - 1 - z)
        magnitudes += [10.0**-z * (0.1 + 0.9 * (k + 1) / n) for k in range(n)]
    values = [0.0, *magnitudes] + ([-x for x in magnitudes] if signed else [])
    return tuple(sorted(values))


class Adam8bitState(NamedTuple):
    """8-bit Adam's state: codes (uint8, the parameter's shape) and one scale per block."""

    m_codes: Any
    """Codes of :math:`m_t / s^m_b` in the signed map (one byte per entry)."""
    m_scales: Any
    """:math:`s^m_b = \\max_{i \\in b} |m_{t,i}|`, one per block of ``block_size`` entries."""
    v_codes: Any
    """Codes of :math:`v_t / s^v_b` in the unsigned map."""
    v_scales: Any
    """:math:`s^v_b = \\max_{i \\in b} v_{t,i}`, one per block."""


def _n_blocks(shape, block_size) -> int:
    return max(1, math.ceil(math.prod(shape) / block_size))


def _as_blocks(xp, x, block_size):
    flat = xp.reshape(x, (-1,))
    n = flat.shape[0]
    pad = _n_blocks(x.shape, block_size) * block_size - n
    if pad:
        flat = xp.concat([flat, xp.zeros((pad,), dtype=flat.dtype)])
    return xp.reshape(flat, (-1, block_size)), n


def quantize_blockwise(x, signed: bool, block_size: int = 2048):
    r"""Block-wise absmax quantization of ``x``. Returns ``(codes, scales)``.

    .. math::

        s_b = \max_{i \in b} |x_i|, \qquad
        c_i = \arg\min_k \left| \mathcal{Q}_k - x_i / s_b \right|

    over consecutive blocks :math:`b` of ``block_size`` entries of ``x``
    flattened (the last block padded with zeros), with :math:`\mathcal{Q}` the
    :func:`dynamic_map` (an entry half-way between two map values takes the one
    nearer zero, so that the signed quantization is odd). ``codes`` is uint8 with
    the shape of ``x``; a block of zeros gets the scale 0.

    Reference: Dettmers et al., "8-bit Optimizers via Block-wise Quantization", ICLR 2022.
    """
    xp = check.namespace(x=x)
    block_size = check.positive_int("block_size", block_size)
    qmap = dynamic_map(bool(signed))
    mids = xp.asarray([(a + b) / 2.0 for a, b in zip(qmap[:-1], qmap[1:])], dtype=x.dtype)
    blocks, n = _as_blocks(xp, x, block_size)
    scales = xp.max(xp.abs(blocks), axis=1)
    safe = xp.where(scales > 0.0, scales, xp.ones_like(scales))
    normed = xp.reshape(blocks / safe[:, None], (-1,))
    # The nearest map value, ties towards zero. The signed map is symmetric (its 255 sorted
    # values satisfy Q_{254-k} = -Q_k), so a negative entry takes the mirror of its magnitude's
    # code and the quantization is odd, quant(-x) = -quant(x) exactly, where one search on the
    # signed values would break ties downwards on both sides of 0.
    codes = xp.searchsorted(mids, xp.abs(normed) if signed else normed)
    if signed:
        codes = xp.where(normed < 0, len(qmap) - 1 - codes, codes)
    codes = xp.reshape(xp.astype(codes[:n], xp.uint8), x.shape)
    return codes, scales


def dequantize_blockwise(codes, scales, signed: bool, block_size: int = 2048, dtype=None):
    r"""The values :math:`s_b\, \mathcal{Q}_{c_i}` that ``codes`` and ``scales`` stand for (shape of ``codes``)."""
    xp = check.namespace(scales=scales)
    block_size = check.positive_int("block_size", block_size)
    dtype = scales.dtype if dtype is None else dtype
    qmap = xp.asarray(dynamic_map(bool(signed)), dtype=dtype)
    values = xp.take(qmap, xp.reshape(xp.astype(codes, xp.int64), (-1,)))
    n = values.shape[0]
    blocks, _ = _as_blocks(xp, values, block_size)
    values = xp.reshape(blocks * xp.astype(scales, dtype)[:, None], (-1,))[:n]
    return xp.reshape(values, codes.shape)


def init_adam8bit(theta, block_size=2048):
    """8-bit Adam state for ``theta``: zero codes and zero scales (``m = v = 0``)."""
    xp = check.namespace(theta=theta)
    block_size = check.positive_int("block_size", block_size)
    zeros = xp.zeros_like(theta)
    m_codes, m_scales = quantize_blockwise(zeros, True, block_size)
    v_codes, v_scales = quantize_blockwise(zeros, False, block_size)
    return Adam8bitState(m_codes, m_scales, v_codes, v_scales)


def adam8bit_state_bytes(state: Adam8bitState) -> int:
    """Bytes held by an 8-bit Adam state: one per entry and moment, plus the block scales."""
    return sum(int(math.prod(a.shape)) * _itemsize(a) for a in state)


def _itemsize(a) -> int:
    return int(getattr(a, "itemsize", None) or a.dtype.itemsize)


def _check_state(xp, theta, state, block_size):
    if not isinstance(state, tuple) or len(state) != 4:
        raise TypeError(
            "state must be the Adam8bitState (m_codes, m_scales, v_codes, v_scales) "
            "from init_adam8bit or the previous step"
        )
    n_blocks = _n_blocks(theta.shape, block_size)
    for name, codes, scales in (
        ("m", state.m_codes, state.m_scales),
        ("v", state.v_codes, state.v_scales),
    ):
        check.shape_is(f"{name}_codes", codes, tuple(theta.shape))
        if codes.dtype != xp.uint8:
            raise TypeError(f"{name}_codes must have dtype uint8, got {codes.dtype}")
        check.shape_is(f"{name}_scales", scales, (n_blocks,))


def adam8bit_update(
    theta, grad, state, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, block_size=2048
):
    r"""One step of Adam with 8-bit block-wise quantized moments. Returns ``(theta, state)``.

    .. math::

        m_{t-1} &= \mathrm{deq}(c^m, s^m), \qquad v_{t-1} = \mathrm{deq}(c^v, s^v) \\
        m_t, v_t, \hat m_t, \hat v_t &\ \text{as in Adam} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} \\
        (c^m, s^m) &= \mathrm{quant}_{\pm}(m_t), \qquad (c^v, s^v) = \mathrm{quant}_{+}(v_t)

    The step itself is Adam's in the parameters' precision (epsilon *outside*
    the square root, after bias correction, as in ``torch.optim.Adam``); only
    the moments carried to the next step are rounded, each to the nearest value
    of the :func:`dynamic_map` after division by its block's absolute maximum
    (:func:`quantize_blockwise`: signed map for :math:`m`, unsigned for
    :math:`v`). The state costs 2 bytes per parameter plus one scale per block
    and moment, against 8 bytes for float32 Adam.

    Reference: Dettmers, Lewis, Shleifer and Zettlemoyer, "8-bit Optimizers via
    Block-wise Quantization", ICLR 2022, Section 2.
    """
    xp = check.namespace(theta=theta, grad=grad)
    check.same_shape(theta=theta, grad=grad)
    block_size = check.positive_int("block_size", block_size)
    _check_state(xp, theta, state, block_size)
    m = dequantize_blockwise(state.m_codes, state.m_scales, True, block_size, theta.dtype)
    v = dequantize_blockwise(state.v_codes, state.v_scales, False, block_size, theta.dtype)
    xp, (t, lr, beta1, beta2, eps) = _check_adam({"theta": theta}, grad, m, v, t, lr, beta1, beta2, eps)
    m, v = _moments(grad, m, v, beta1, beta2)
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    theta = theta - lr * m_hat / (xp.sqrt(v_hat) + eps)
    m_codes, m_scales = quantize_blockwise(m, True, block_size)
    v_codes, v_scales = quantize_blockwise(v, False, block_size)
    return theta, Adam8bitState(m_codes, m_scales, v_codes, v_scales)


SPECS = (
    RuleSpec(
        "adam8bit", adam8bit_update, init_adam8bit, Adam8bitState, ADAM_VARIANTS, tour_lr=0.3,
        init_hyperparams=("block_size",),
    ),
)
