#!/usr/bin/env python
"""Memory and error of 8-bit Adam (``adam8bit_update``) against float32 Adam.

    python benchmarks/adam8bit_state.py            # n = 65536, 300 steps, block sizes 64..4096

On a noisy ill-conditioned quadratic (curvatures over three decades, float32),
both optimizers start from the same point and see the same gradient noise. It
prints, per block size: the state's bytes per parameter, the relative RMS
error of the dequantized m and v against the float32 moments that the *same*
8-bit trajectory computed before rounding them (the rounding of one step), the
distance between the two trajectories relative to the distance travelled, and
both final losses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from adaptive_lr.optim import (
    adam8bit_state_bytes,
    adam8bit_update,
    adam_update,
    dequantize_blockwise,
    init_adam,
    init_adam8bit,
)
from adaptive_lr.optim.adam import _moments


def measure(n: int, steps: int, block: int, lr: float = 1e-2, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    h = (10.0 ** rng.uniform(-2, 1, n)).astype(np.float32)
    theta0 = rng.standard_normal(n).astype(np.float32)
    noise = np.random.default_rng(seed + 1)
    a, (m, v) = theta0, init_adam(theta0)
    b, state = theta0, init_adam8bit(theta0, block)
    err_m, err_v = [], []
    for t in range(1, steps + 1):
        xi = 0.1 * noise.standard_normal(n).astype(np.float32)
        a, m, v = adam_update(a, h * a + xi, m, v, t, lr=lr)
        g = h * b + xi
        # The moments this step computes before rounding, to measure one rounding's error.
        m8 = dequantize_blockwise(state.m_codes, state.m_scales, True, block, np.float32)
        v8 = dequantize_blockwise(state.v_codes, state.v_scales, False, block, np.float32)
        m_exact, v_exact = _moments(g, m8, v8, 0.9, 0.999)
        b, state = adam8bit_update(b, g, state, t, lr=lr, block_size=block)
        m_back = dequantize_blockwise(state.m_codes, state.m_scales, True, block, np.float32)
        v_back = dequantize_blockwise(state.v_codes, state.v_scales, False, block, np.float32)
        err_m.append(np.linalg.norm(m_back - m_exact) / np.linalg.norm(m_exact))
        err_v.append(np.linalg.norm(v_back - v_exact) / np.linalg.norm(v_exact))
    loss = lambda x: 0.5 * float(np.sum(h * x.astype(np.float64) ** 2))  # noqa: E731
    return {
        "block": block,
        "bytes_per_param": adam8bit_state_bytes(state) / n,
        "adam_bytes_per_param": (m.nbytes + v.nbytes) / n,
        "err_m": float(np.median(err_m)),
        "err_v": float(np.median(err_v)),
        "drift": float(np.linalg.norm(b - a) / np.linalg.norm(a - theta0)),
        "loss0": loss(theta0),
        "loss_adam": loss(a),
        "loss_8bit": loss(b),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=65536)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--blocks", default="64,256,2048,4096")
    args = parser.parse_args(argv)
    print(f"8-bit Adam vs float32 Adam: n = {args.n}, {args.steps} steps, lr = 1e-2, float32")
    head = f"{'block':>6} {'B/param':>8} {'(Adam)':>7} {'err m':>8} {'err v':>8} {'drift':>7} {'loss 8-bit':>11} {'loss Adam':>10} {'loss 0':>9}"
    print(head)
    print("-" * len(head))
    rows = []
    for block in [int(b) for b in args.blocks.split(",")]:
        r = measure(args.n, args.steps, block)
        rows.append(r)
        print(
            f"{r['block']:>6} {r['bytes_per_param']:>8.3f} {r['adam_bytes_per_param']:>7.1f} "
            f"{r['err_m']:>8.2%} {r['err_v']:>8.2%} {r['drift']:>7.2%} {r['loss_8bit']:>11.4g} "
            f"{r['loss_adam']:>10.4g} {r['loss0']:>9.4g}"
        )
    print(
        "err m, err v: median over steps of the relative RMS error that one rounding puts on the\n"
        "moment; drift: |theta_8bit - theta_Adam| / |theta_Adam - theta_0| after the last step."
    )
    return rows


if __name__ == "__main__":
    main()
