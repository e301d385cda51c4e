#!/usr/bin/env python
"""Time one update step of the reference optimizers against torch.optim on CPU.

    python benchmarks/optimizer_step.py                 # 1e4, 1e6 and 1e7 parameters
    python benchmarks/optimizer_step.py --quick         # 1e4 and 1e6 only
    python benchmarks/optimizer_step.py --sizes 1e5,3e6 --rules adam,lamb

For each rule and size (float32) it times, in the same run:

* ``readable``: the oracle's array-API form (what a plain call runs);
* ``oracle``: the same function with ``fast=True``, the NumPy fast path;
* torch.optim's single-tensor (``foreach=False``) and ``foreach=True`` steps, and
  the fused CPU kernel (``fused=True``) where torch has one;
* ``np.copyto`` on an array of the parameters' size, the bandwidth yardstick.

The oracle is a pure function, so it is timed the way it is used: the returned
state is fed back as the next step's input (the previous arrays are freed
inside the timed region, as in a training loop). torch updates in place.
Each variant is timed in several rounds, each round a warm loop of every
variant in turn, so that background load hits all of them alike; the table
shows the fastest call (the least disturbed one: on a shared machine the
median mostly measures the neighbours, and torch's two OpenMP threads suffer
more from a busy core than NumPy's one). The ``med/min`` column flags rows
where the neighbours were loud. See benchmarks/README.md for the columns.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from adaptive_lr.optim import (
    SPECS,
    adafactor_update,
    adagrad_update,
    adam_update,
    adamw_update,
    lamb_update,
    make_optimizer,
)

DTYPE = np.float32

# Hyperparameters shared by the oracle and torch (torch's defaults where it has them).
ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
ADAMW = {**ADAM, "weight_decay": 1e-2}
ADAGRAD = {"lr": 1e-2, "eps": 1e-10}
ADAFACTOR = {"lr": 1e-2, "beta2_decay": -0.8, "eps1": 1e-30, "eps2": 1e-3, "d": 1.0}
LAMB = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-6, "weight_decay": 1e-2}
ADADELTA = {"lr": 1.0, "rho": 0.9, "eps": 1e-6}
LION = {"lr": 1e-4, "beta1": 0.9, "beta2": 0.99, "weight_decay": 1e-2}


# ---------------------------------------------------------------- torch side


def _torch():
    import torch

    return torch


def _torch_optim(cls_name: str, kwargs: dict):
    """A factory ``(param, grad, mode) -> step()`` for a torch.optim class."""

    def make(param, grad, mode):
        torch = _torch()
        p = torch.nn.Parameter(param)
        p.grad = grad
        flag = {
            "single": {"foreach": False},
            "foreach": {"foreach": True},
            "fused": {"fused": True},
        }[mode]
        opt = getattr(torch.optim, cls_name)([p], **kwargs, **flag)
        return opt.step, p

    return make


def _torch_lamb(lr, beta1, beta2, eps, weight_decay):
    """LAMB in torch, written the way torch.optim writes Adam (torch.optim has no LAMB).

    ``single`` is the per-tensor loop of ``torch.optim.adam._single_tensor_adam``
    plus the two norms of the trust ratio; ``foreach`` the same with
    ``torch._foreach_*`` ops, as in ``_multi_tensor_adam``.
    """

    def make(param, grad, mode):
        torch = _torch()
        if mode == "fused":
            return None, None
        params, grads = [param], [grad]
        ms = [torch.zeros_like(param)]
        vs = [torch.zeros_like(param)]
        t = 0

        @torch.no_grad()
        def step():
            nonlocal t
            t += 1
            bc1, bc2 = 1.0 - beta1**t, 1.0 - beta2**t
            if mode == "foreach":
                torch._foreach_lerp_(ms, grads, 1.0 - beta1)
                torch._foreach_mul_(vs, beta2)
                torch._foreach_addcmul_(vs, grads, grads, 1.0 - beta2)
                denom = torch._foreach_div(vs, bc2)
                torch._foreach_sqrt_(denom)
                torch._foreach_add_(denom, eps)
                u = torch._foreach_div(ms, bc1)
                torch._foreach_div_(u, denom)
                del denom
                if weight_decay:
                    torch._foreach_add_(u, params, alpha=weight_decay)
                w_norms = [float(x) for x in torch._foreach_norm(params)]
                u_norms = [float(x) for x in torch._foreach_norm(u)]
                scale = [
                    -lr * (wn / un if wn > 0.0 and un > 0.0 else 1.0)
                    for wn, un in zip(w_norms, u_norms)
                ]
                torch._foreach_mul_(u, scale)
                torch._foreach_add_(params, u)
            else:
                for p, g, m, v in zip(params, grads, ms, vs):
                    m.lerp_(g, 1.0 - beta1)
                    v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
                    denom = (v / bc2).sqrt_().add_(eps)
                    u = (m / bc1).div_(denom)
                    if weight_decay:
                        u.add_(p, alpha=weight_decay)
                    wn, un = float(p.norm()), float(u.norm())
                    p.add_(u, alpha=-lr * (wn / un if wn > 0.0 and un > 0.0 else 1.0))

        return step, param

    return make


def _torch_lion(lr, beta1, beta2, weight_decay):
    """Lion in torch, in place (torch.optim has no Lion): per tensor, or with ``_foreach`` ops."""

    def make(param, grad, mode):
        torch = _torch()
        if mode == "fused":
            return None, None
        params, grads, ms = [param], [grad], [torch.zeros_like(param)]

        @torch.no_grad()
        def step():
            if mode == "foreach":
                c = torch._foreach_mul(ms, beta1)
                torch._foreach_add_(c, grads, alpha=1.0 - beta1)
                torch._foreach_sign_(c)
                if weight_decay:
                    torch._foreach_add_(c, params, alpha=weight_decay)
                torch._foreach_add_(params, c, alpha=-lr)
                torch._foreach_lerp_(ms, grads, 1.0 - beta2)
            else:
                for p, g, m in zip(params, grads, ms):
                    c = (m * beta1).add_(g, alpha=1.0 - beta1).sign_()
                    if weight_decay:
                        c.add_(p, alpha=weight_decay)
                    p.add_(c, alpha=-lr)
                    m.lerp_(g, 1.0 - beta2)

        return step, param

    return make


def _from_spec(name: str, hp: dict, traffic, note: str, torch_make, fused=False) -> Rule:
    """A rule without a fast path, driven through its spec's ``init``/``step`` pair."""
    opt = make_optimizer(name, **hp)
    return Rule(
        name=name,
        traffic=traffic,
        traffic_note=note,
        matrix=SPECS[name].matrix_only,
        init=lambda th, g: (th, opt.init(th)),
        step=lambda s, g, t, fast=False: opt.step(s[0], g, s[1], t),  # no fast path: fast is moot
        torch_make=torch_make,
        fused=fused,
        fast_path=False,
    )


def spec_only(name: str) -> Rule:
    """Any other rule of the registry, from its spec alone: its defaults, no torch peer.

    A rule added to the library is timed with ``--rules <name>`` without an entry
    here (the torch columns stay empty); the bytes counted are the parameters, the
    gradient and the state as its ``init`` makes them, read once and written once.
    """
    # A small lr where the rule has no default: the benchmark feeds one gradient at every
    # step, and a large step on it would grow the parameters until they overflow.
    hp = {"lr": 1e-3} if "lr" in SPECS[name].required else {}
    return _from_spec(name, hp, None, "theta, g, state read; theta, state written", None)


# ---------------------------------------------------------------- the rules


@dataclasses.dataclass
class Rule:
    name: str
    traffic: int | None  # arrays of the parameters' size read + written by one ideal pass
    traffic_note: str  # (None: counted from the state's bytes, see spec_only)
    matrix: bool  # Adafactor acts on a matrix; the others on a vector
    init: Callable  # (theta, grad) -> numpy state tuple, theta first
    step: Callable  # (state, grad, t) -> new state tuple
    torch_make: Callable | None  # (param, grad, mode) -> (step, param) or (None, None)
    fused: bool  # torch has a fused CPU kernel
    fast_path: bool = True  # the oracle has a NumPy fast path (see optim._fast)


_ADAM_TORCH = {"lr": ADAM["lr"], "betas": (ADAM["beta1"], ADAM["beta2"]), "eps": ADAM["eps"]}

RULES = {
    "adam": Rule(
        name="adam",
        traffic=7,
        traffic_note="read theta, g, m, v; write theta, m, v",
        matrix=False,
        init=lambda th, g: (th, np.zeros_like(th), np.zeros_like(th)),
        step=lambda s, g, t, fast=True: adam_update(s[0], g, s[1], s[2], t, **ADAM, fast=fast),
        torch_make=_torch_optim("Adam", _ADAM_TORCH),
        fused=True,
    ),
    "adamw": Rule(
        name="adamw",
        traffic=7,
        traffic_note="read theta, g, m, v; write theta, m, v",
        matrix=False,
        init=lambda th, g: (th, np.zeros_like(th), np.zeros_like(th)),
        step=lambda s, g, t, fast=True: adamw_update(s[0], g, s[1], s[2], t, **ADAMW, fast=fast),
        torch_make=_torch_optim("AdamW", {**_ADAM_TORCH, "weight_decay": ADAMW["weight_decay"]}),
        fused=True,
    ),
    "adagrad": Rule(
        name="adagrad",
        traffic=5,
        traffic_note="read theta, g, G; write theta, G",
        matrix=False,
        init=lambda th, g: (th, np.zeros_like(th)),
        step=lambda s, g, t, fast=True: adagrad_update(s[0], g, s[1], **ADAGRAD, fast=fast),
        torch_make=_torch_optim("Adagrad", {**ADAGRAD, "initial_accumulator_value": 0.0}),
        fused=True,
    ),
    "adafactor": Rule(
        name="adafactor",
        traffic=3,
        traffic_note="read X, G; write X (R and C are only n + m numbers)",
        matrix=True,
        init=lambda X, G: (X, np.zeros(X.shape[0], X.dtype), np.zeros(X.shape[1], X.dtype)),
        step=lambda s, G, t, fast=True: adafactor_update(s[0], G, s[1], s[2], t, **ADAFACTOR, fast=fast),
        torch_make=_torch_optim(
            "Adafactor",
            {
                "lr": ADAFACTOR["lr"],
                "beta2_decay": ADAFACTOR["beta2_decay"],
                "eps": (ADAFACTOR["eps1"], ADAFACTOR["eps2"]),
                "d": ADAFACTOR["d"],
            },
        ),
        fused=False,
    ),
    "lamb": Rule(
        name="lamb",
        traffic=7,
        traffic_note="read w, g, m, v; write w, m, v",
        matrix=False,
        init=lambda w, g: (w, np.zeros_like(w), np.zeros_like(w)),
        step=lambda s, g, t, fast=True: lamb_update(s[0], g, s[1], s[2], t, **LAMB, fast=fast),
        torch_make=_torch_lamb(**LAMB),
        fused=False,
    ),
    # The rules that come next: readable form only (no fast path), torch's defaults.
    "radam": _from_spec(
        "radam", ADAM, 7, "read theta, g, m, v; write theta, m, v", _torch_optim("RAdam", _ADAM_TORCH)
    ),
    "nadam": _from_spec(
        "nadam", ADAM, 7, "read theta, g, m, v; write theta, m, v", _torch_optim("NAdam", _ADAM_TORCH)
    ),
    "adamax": _from_spec(
        "adamax", ADAM, 7, "read theta, g, m, u; write theta, m, u", _torch_optim("Adamax", _ADAM_TORCH)
    ),
    "adadelta": _from_spec(
        "adadelta", ADADELTA, 7, "read theta, g, two averages; write all three but g",
        _torch_optim("Adadelta", ADADELTA),
    ),
    "lion": _from_spec("lion", LION, 5, "read theta, g, m; write theta, m", _torch_lion(**LION)),
    # torch has no 8-bit Adam: its float32 Adam is the yardstick (step 1 of both is identical).
    "adam8bit": _from_spec(
        "adam8bit", ADAM, 4, "read theta, g, two uint8 codes; write theta, codes (1/4 array each)",
        _torch_optim("Adam", _ADAM_TORCH), fused=True,
    ),
}


def near_square(n: int) -> tuple[int, int]:
    """The ``(rows, cols)`` with ``rows * cols == n`` and ``rows <= cols`` closest to square."""
    rows = max(r for r in range(1, math.isqrt(n) + 1) if n % r == 0)
    return rows, n // rows


def problem(rule: Rule, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = near_square(n) if rule.matrix else (n,)
    theta = rng.standard_normal(shape, dtype=DTYPE)
    grad = rng.standard_normal(shape, dtype=DTYPE)
    return theta, grad


# ---------------------------------------------------------------- measuring


class Chain:
    """The oracle used as in a training loop: ``state = step(state, grad, t)``."""

    def __init__(self, rule: Rule, theta, grad, readable: bool):
        self.rule, self.grad, self.readable = rule, grad, readable
        self.state = rule.init(theta.copy(), grad)
        self.t = 0

    def __call__(self):
        self.t += 1
        self.state = self.rule.step(self.state, self.grad, self.t, fast=not self.readable)


def extra_peak(rule: Rule, theta, grad, readable: bool) -> float:
    """Peak memory allocated by one call beyond the arrays it returns, in arrays of the parameters' size.

    NumPy reports its data buffers to tracemalloc, so the traced peak covers
    every temporary. The call is the second step (t=2) from a state built
    before tracing started.
    """
    state = rule.step(rule.init(theta.copy(), grad), grad, 1)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        out = rule.step(state, grad, 2, fast=not readable)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    returned = _nbytes(out)
    return (peak - before - returned) / theta.nbytes


def _nbytes(x) -> int:
    """Bytes of every array in ``x``, looking inside (state) tuples."""
    if isinstance(x, tuple):
        return sum(_nbytes(a) for a in x)
    return int(getattr(x, "nbytes", 0))


def time_variants(variants: dict, rounds: int, per_round: int) -> dict:
    """Seconds of every timed call of each variant.

    ``rounds`` rounds, each a warm loop of ``per_round`` calls of every variant in turn.
    """
    times = {name: [] for name in variants}
    for f in variants.values():  # warm-up: first touch, allocator, torch state
        f()
        f()
    for _ in range(rounds):
        for name, f in variants.items():
            f()
            for _ in range(per_round):
                t0 = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t0)
    return times


def repeats_for(seconds_per_call: float, budget: float, min_repeats: int) -> int:
    return max(min_repeats, min(400, int(budget / max(seconds_per_call, 1e-7))))


def check_against_torch(rule: Rule, n: int = 3000) -> float:
    """Largest relative difference between one oracle step and one step of each torch variant."""
    torch = _torch()
    theta, grad = problem(rule, n, seed=1)
    ref = rule.step(rule.init(theta.copy(), grad), grad, 1)[0]
    worst = 0.0
    for mode in ("single", "foreach", "fused") if rule.fused else ("single", "foreach"):
        step, p = rule.torch_make(torch.from_numpy(theta.copy()), torch.from_numpy(grad), mode)
        if step is None:
            continue
        step()
        got = p.detach().numpy()
        worst = max(worst, float(np.max(np.abs(got - ref) / (np.abs(ref) + 1e-6))))
    return worst


def measure(rule: Rule, n: int, budget: float, min_repeats: int) -> dict:
    torch = _torch()
    theta, grad = problem(rule, n)
    variants = {
        "readable": Chain(rule, theta, grad, readable=True),
        "oracle": Chain(rule, theta, grad, readable=False),
    }
    for mode in ("single", "foreach", "fused") if rule.torch_make else ():
        if mode == "fused" and not rule.fused:
            continue
        step, _ = rule.torch_make(
            torch.from_numpy(theta.copy()), torch.from_numpy(grad.copy()), mode
        )
        if step is not None:
            variants[mode] = step
    src, dst = theta.copy(), np.empty_like(theta)
    variants["copy"] = lambda: np.copyto(dst, src)

    # A first estimate of each call's cost sets how many repeats fit in the budget.
    t0 = time.perf_counter()
    variants["readable"]()
    slowest = time.perf_counter() - t0
    repeats = repeats_for(slowest, budget, min_repeats)
    rounds = 3
    per_round = max(1, math.ceil(repeats / rounds))
    times = time_variants(variants, rounds, per_round)
    best = {k: min(ts) for k, ts in times.items()}
    med = {k: statistics.median(ts) for k, ts in times.items()}
    torch_modes = [m for m in ("single", "foreach") if m in best]

    nbytes = theta.nbytes
    traffic = rule.traffic
    if traffic is None:  # the parameters, the gradient and the state, read; parameters and state, written
        traffic = 3 + 2 * _nbytes(rule.init(theta, grad)[1]) / nbytes
    fastest_torch = min(best[m] for m in torch_modes) if torch_modes else None
    return {
        "rule": rule.name,
        "n": n,
        "shape": theta.shape,
        "repeats": rounds * per_round,
        "ms": {k: v * 1e3 for k, v in best.items()},
        "median_ms": {k: v * 1e3 for k, v in med.items()},
        "noise": max(med[k] / best[k] for k in best),
        "ratio": best["oracle"] / fastest_torch if torch_modes else None,
        "ratio_median": med["oracle"] / min(med[m] for m in torch_modes) if torch_modes else None,
        "ratio_fused": best["oracle"] / best["fused"] if "fused" in best else None,
        "gbs": traffic * nbytes / best["oracle"] / 1e9,
        "gbs_copy": 2 * nbytes / best["copy"] / 1e9,
        "peak_readable": extra_peak(rule, theta, grad, readable=True),
        "peak_oracle": extra_peak(rule, theta, grad, readable=False),
    }


# ---------------------------------------------------------------- report


def fmt_ms(x):
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.2f}" if x < 100 else f"{x:.1f}"


def fmt_n(n: int) -> str:
    k = round(math.log10(n))
    return f"1e{k}" if 10**k == n else str(n)


COLUMNS = [
    ("rule", 9, lambda r: r["rule"]),
    ("n", 5, lambda r: fmt_n(r["n"])),
    ("readable ms", 11, lambda r: fmt_ms(r["ms"]["readable"])),
    ("oracle ms", 9, lambda r: fmt_ms(r["ms"]["oracle"])),
    ("torch single", 12, lambda r: fmt_ms(r["ms"].get("single"))),
    ("torch foreach", 13, lambda r: fmt_ms(r["ms"].get("foreach"))),
    ("ratio", 6, lambda r: "-" if r["ratio"] is None else f"{r['ratio']:.2f}"),
    ("(median)", 8, lambda r: "-" if r["ratio_median"] is None else f"{r['ratio_median']:.2f}"),
    ("GB/s", 6, lambda r: f"{r['gbs']:.1f}"),
    ("copy GB/s", 9, lambda r: f"{r['gbs_copy']:.1f}"),
    ("peak arrays", 11, lambda r: f"{r['peak_oracle']:.2f}"),
    ("(readable)", 10, lambda r: f"{r['peak_readable']:.2f}"),
    ("torch fused", 11, lambda r: fmt_ms(r["ms"].get("fused"))),
    ("vs fused", 8, lambda r: "-" if r["ratio_fused"] is None else f"{r['ratio_fused']:.1f}"),
    ("med/min", 7, lambda r: f"{r['noise']:.1f}"),
]


LEGEND = """\
times: fastest call, ms. ratio = oracle / fastest of torch single and foreach (target <= 1.5
at 1e6 and 1e7); (median) = the same from median times. GB/s = bytes counted above / oracle
time; copy GB/s = 2 arrays / np.copyto time. peak arrays = memory allocated during one oracle
call beyond the arrays it returns, in arrays of the parameters' size; (readable) = the same
for the readable form. vs fused = oracle / torch fused=True. med/min = largest median /
fastest call among the row's variants (well above 1: a noisy row, busy neighbours)."""


def print_header(args):
    torch = _torch()
    cpu = platform.processor() or platform.machine()
    print(f"optimizer_step: one update step, float32, CPU ({cpu}, {os.cpu_count()} logical CPUs)")
    print(
        f"numpy {np.__version__} (ufuncs single-threaded), torch {torch.__version__} "
        f"with {torch.get_num_threads()} intra-op threads"
    )
    print(
        f"sizes {', '.join(fmt_n(n) for n in args.sizes)}; timing: fastest of >= {args.repeats} "
        f"calls in 3 interleaved rounds, budget {args.budget:g} s per variant"
    )
    print(f"load average before the run: {_loadavg()}")
    print("bytes counted per step (float32 arrays of the parameters' size, read + written):")
    for name in args.rules:
        rule = RULES[name]
        count = "state" if rule.traffic is None else rule.traffic
        print(f"  {name:9s} {count} ({rule.traffic_note})")
    print()


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def parse_sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1e4 and 1e6 only")
    parser.add_argument(
        "--sizes", type=parse_sizes, default=None, help="comma-separated, e.g. 1e4,1e6,1e7"
    )
    parser.add_argument(
        "--rules",
        default=",".join(RULES),
        help=f"comma-separated; default {','.join(RULES)}; any other of {','.join(SPECS)} "
        "is timed from its spec alone (no torch columns)",
    )
    parser.add_argument(
        "--repeats", type=int, default=15, help="minimum timed calls per variant (default 15)"
    )
    parser.add_argument(
        "--budget", type=float, default=0.4, help="seconds of timed calls per variant (default 0.4)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: all CPUs)"
    )
    args = parser.parse_args(argv)
    args.sizes = args.sizes or ([10**4, 10**6] if args.quick else [10**4, 10**6, 10**7])
    args.rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    unknown = [r for r in args.rules if r not in SPECS]
    if unknown:
        parser.error(f"unknown rule(s) {unknown}; choose from {list(SPECS)}")
    for name in args.rules:
        RULES.setdefault(name, spec_only(name))

    torch = _torch()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    print_header(args)
    for name in args.rules:
        if RULES[name].torch_make is None:
            continue
        worst = check_against_torch(RULES[name])
        if worst > 1e-3:
            raise SystemExit(f"{name}: torch and the oracle disagree after one step ({worst:.2e})")
    print("torch and the oracle agree after one step on every rule with a torch peer (rel. diff < 1e-3)\n")

    rows = []
    head_printed = False
    for n in args.sizes:
        for name in args.rules:
            try:
                row = measure(RULES[name], n, args.budget, args.repeats)
            except ValueError as err:  # e.g. Shampoo's float32 statistics on one repeated gradient
                if RULES[name].torch_make is not None:
                    raise
                print(f"{name:>9s}  {fmt_n(n):>5s}  not timed: {err}", flush=True)
                continue
            rows.append(row)
            if not head_printed:
                head = "  ".join(f"{c:>{w}}" for c, w, _ in COLUMNS)
                print(head)
                print("-" * len(head))
                head_printed = True
            print("  ".join(f"{f(row):>{w}}" for _, w, f in COLUMNS), flush=True)
    print(f"\nload average after the run: {_loadavg()}")
    print(LEGEND)
    return rows


if __name__ == "__main__":
    main()
