"""The lab's training loop: the library's update rules on the transformer's torch tensors.

``python -m adaptive_lr.lab.train OUT_DIR`` regenerates the cached comparisons
that the lab notebook loads (``course/lab_data/``), a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import validation
from ..diagnostics import detect_loss_spikes
from ..optim import SPECS, trust_ratio
from . import model as M
from .data import Corpus, batch, load_corpus
from .methods import METHODS, Method

DASHBOARD = ("update_rms", "effective_lr", "trust_ratio", "grad_norm")
"""Per-tensor quantities logged every ``log_every`` steps (see :func:`train`)."""


class RunConfig(NamedTuple):
    steps: int = 300
    batch_size: int = 32
    warmup: int = 30
    """Linear warm-up steps; then a cosine decay to 10% of the peak at the last step."""
    seed: int = 0
    log_every: int = 10
    eval_every: int = 50
    context: int = 64
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4

    def model_config(self, vocab_size: int) -> M.Config:
        return M.Config(vocab_size, self.context, self.d_model, self.n_layers, self.n_heads)


def schedule(t: int, steps: int, warmup: int) -> float:
    """The learning-rate multiplier at step ``t``: linear warm-up, then cosine to 0.1."""
    if warmup and t <= warmup:
        return t / warmup
    progress = (t - warmup) / max(1, steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class Result(NamedTuple):
    method: str
    label: str
    loss: np.ndarray
    """Training loss (nats per character) of each step's batch, before its update."""
    val_steps: np.ndarray
    val_loss: np.ndarray
    log_steps: np.ndarray
    dashboard: dict
    """``{quantity: (n_logs, n_tensors) array}`` for the quantities of :data:`DASHBOARD`."""
    tensor_names: tuple
    spikes: np.ndarray
    """Steps (1-based) that ``diagnostics.detect_loss_spikes`` flags in ``loss``."""
    state_bytes: int
    """Bytes of optimizer state over all tensors, measured on the state arrays."""
    seconds: float
    n_params: int


def _state_bytes(state) -> int:
    total = 0
    for a in state:
        if hasattr(a, "element_size"):  # torch
            total += int(a.numel()) * int(a.element_size())
        elif hasattr(a, "nbytes"):
            total += int(a.nbytes)
    return total


def state_bytes(method: Method, params: Mapping) -> int:
    """Bytes of ``method``'s optimizer state for ``params``, from the rules' own ``init``."""
    total = 0
    for name, p in params.items():
        part = method.part_for(name, p)
        init, _ = SPECS[part.rule].bind(**part.hp)
        total += _state_bytes(init(p.detach()))
    return total


def _tensor_stats(theta, new, grad, lr_t):
    """Update RMS, median effective learning rate, trust ratio, gradient norm of one tensor."""
    import torch

    delta = new - theta
    g_abs = grad.abs()
    ratio = delta.abs()[g_abs > 0] / g_abs[g_abs > 0]
    return (
        float(torch.sqrt(torch.mean(delta * delta))),
        float(torch.median(ratio)) if ratio.numel() else math.nan,
        # ||w|| / ||u|| for the update direction u = -delta / lr: the ratio LAMB would apply for
        # the other rules; 1 for LAMB itself (its step has norm lr * ||w||), not LAMB's own ratio.
        trust_ratio(theta, delta / lr_t) if lr_t > 0 else math.nan,
        float(torch.linalg.vector_norm(grad)),
    )


def _as_stored(a):
    return a


def _transposed(a):
    """A matrix in torch.nn.Linear's (out, in) layout, for a rule defined on it (Method.out_in)."""
    return a.T


def train(
    method: Method,
    corpus: Corpus | None = None,
    run: RunConfig = RunConfig(),
    update_functions: Mapping[str, Callable] | None = None,
) -> Result:
    """Train the transformer with ``method``; returns the losses, the dashboard and the costs.

    ``update_functions`` maps a registry rule (``"adamw"``) to another function
    with the same signature, called in its place (a student's ``adamw_update``).
    """
    import torch

    corpus = corpus or load_corpus()
    steps = validation.positive_int("steps", run.steps)
    cfg = run.model_config(corpus.vocab_size)
    params = M.init_params(cfg, run.seed)
    names = tuple(params)
    parts = {n: method.part_for(n, p) for n, p in params.items()}
    overrides = dict(update_functions or {})
    calls = {}
    for n, part in parts.items():
        spec = SPECS[part.rule]
        init, _ = spec.bind(**part.hp)
        hp = {**spec.bound, **{k: v for k, v in part.hp.items() if k in spec.parameters}}
        layout = _transposed if method.sees_transpose(n, params[n]) else _as_stored
        calls[n] = (spec, overrides.get(part.rule, spec.update), hp, init(layout(params[n])), layout)
    state = {n: calls[n][3] for n in names}
    memory = sum(_state_bytes(s) for s in state.values())

    loss = np.full(steps, np.nan)
    val_steps, val_loss, log_steps = [], [], []
    dash = {q: [] for q in DASHBOARD}
    start = time.perf_counter()
    for t in range(1, steps + 1):
        x, y = (torch.from_numpy(a) for a in batch(corpus.train, run.batch_size, run.context, run.seed, t))
        for p in params.values():
            p.requires_grad_(True)
        value = M.loss(params, x, y, cfg)
        grads = torch.autograd.grad(value, [params[n] for n in names])
        loss[t - 1] = float(value.detach())
        if not math.isfinite(loss[t - 1]):
            break
        scale = schedule(t, steps, run.warmup)
        logging = t % run.log_every == 0 or t == 1
        rows = {q: [] for q in DASHBOARD}
        with torch.no_grad():
            for n, g in zip(names, grads):
                spec, fn, hp, _, layout = calls[n]
                theta = params[n].detach()
                lr_t = hp["lr"] * scale
                # The rule sees the tensor in its own layout, and its state stays in it.
                out = fn(layout(theta), layout(g), **spec.arguments(state[n], t), **{**hp, "lr": lr_t})
                new, state[n] = spec.new_state(out)
                new = layout(new)
                if logging:
                    for q, v in zip(DASHBOARD, _tensor_stats(theta, new, g, lr_t)):
                        rows[q].append(v)
                params[n] = new
        if logging:
            log_steps.append(t)
            for q in DASHBOARD:
                dash[q].append(rows[q])
        if t % run.eval_every == 0 or t == steps:
            val_steps.append(t)
            val_loss.append(evaluate(params, corpus, cfg, run))
    seconds = time.perf_counter() - start
    finite = loss[np.isfinite(loss)]
    spikes = detect_loss_spikes(finite, window=50, threshold=6.0) + 1 if finite.size > 60 else np.array([], int)
    return Result(
        method.name, method.label, loss, np.array(val_steps), np.array(val_loss),
        np.array(log_steps), {q: np.array(v, dtype=float) for q, v in dash.items()}, names,
        np.asarray(spikes, dtype=int), memory, seconds, M.n_params(params),
    )


def evaluate(params, corpus: Corpus, cfg: M.Config, run: RunConfig, batches: int = 4) -> float:
    """Mean loss on fixed windows of the held-out sonnets."""
    import torch

    with torch.no_grad():
        vals = []
        for k in range(1, batches + 1):
            x, y = (torch.from_numpy(a) for a in batch(corpus.val, run.batch_size, run.context, 10_000, k))
            vals.append(float(M.loss({n: p.detach() for n, p in params.items()}, x, y, cfg)))
    return float(np.mean(vals))


# -- cached runs ------------------------------------------------------------------------

def save_results(path: Path, results: Mapping[str, Result], run: RunConfig) -> Path:
    """Store results as one ``.npz`` (arrays) with a JSON header (labels, costs, config)."""
    arrays, meta = {}, {"run": run._asdict(), "results": {}}
    for key, r in results.items():
        arrays[f"{key}/loss"] = r.loss
        arrays[f"{key}/val_steps"], arrays[f"{key}/val_loss"] = r.val_steps, r.val_loss
        arrays[f"{key}/log_steps"], arrays[f"{key}/spikes"] = r.log_steps, r.spikes
        for q, v in r.dashboard.items():
            arrays[f"{key}/{q}"] = v
        meta["results"][key] = {
            "method": r.method, "label": r.label, "tensor_names": list(r.tensor_names),
            "state_bytes": r.state_bytes, "seconds": round(r.seconds, 2), "n_params": r.n_params,
        }
    arrays["meta"] = np.array(json.dumps(meta))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def load_results(path: Path) -> tuple[dict, dict]:
    """``({key: Result}, run config dict)`` from :func:`save_results`' file."""
    with np.load(Path(path)) as data:
        meta = json.loads(str(data["meta"]))
        out = {}
        for key, m in meta["results"].items():
            out[key] = Result(
                m["method"], m["label"], data[f"{key}/loss"], data[f"{key}/val_steps"],
                data[f"{key}/val_loss"], data[f"{key}/log_steps"],
                {q: data[f"{key}/{q}"] for q in DASHBOARD}, tuple(m["tensor_names"]),
                data[f"{key}/spikes"], m["state_bytes"], m["seconds"], m["n_params"],
            )
    return out, meta["run"]


COMPARISON = RunConfig(steps=300, batch_size=16, warmup=30, log_every=10, eval_every=50)
# beta2 experiment: a high peak learning rate and a short warm-up, where the slow second
# moment of beta2 = 0.999 lets updates blow up when a gradient suddenly grows.
BETA2 = RunConfig(steps=300, batch_size=16, warmup=10, log_every=2, eval_every=100)
BETA2_LR = 1e-2
BETA2_SEEDS = (0, 1)


def experiments() -> dict:
    """``{"group/key": (method, run config)}``: every cached run of the lab."""
    out = {f"comparison/{name}": (m, COMPARISON) for name, m in METHODS.items()}
    for b2 in (0.95, 0.999):
        for seed in BETA2_SEEDS:
            method = METHODS["adamw"].with_hp(beta2=b2, lr=BETA2_LR)
            out[f"beta2/beta2_{b2}_seed{seed}"] = (method, BETA2._replace(seed=seed))
    return out


def regenerate(out_dir: Path, only=None) -> list[Path]:
    """Run the cached experiments (all, or the keys in ``only``); one ``.npz`` per run under ``out_dir``."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)  # the runs are small; one thread each leaves the other core free
    corpus = load_corpus()
    paths = []
    for key, (method, run) in experiments().items():
        if only and key not in only:
            continue
        r = train(method, corpus, run)
        group, name = key.split("/")
        paths.append(save_results(Path(out_dir) / group / f"{name}.npz", {name: r}, run))
        print(f"{key}: final loss {r.loss[-1]:.3f}, val {r.val_loss[-1]:.3f}, spikes at "
              f"{r.spikes.tolist()}, {r.seconds:.0f} s", flush=True)
    return paths


def load_group(folder: Path) -> dict:
    """``{key: Result}`` of every run cached in ``folder``, in the order of :func:`experiments`."""
    folder = Path(folder)
    order = [k.split("/")[1] for k in experiments() if k.startswith(folder.name + "/")]
    out = {}
    for name in order:
        path = folder / f"{name}.npz"
        if path.is_file():
            out.update(load_results(path)[0])
    missing = [n for n in order if n not in out]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks the cached runs {missing}; regenerate them with "
            f"python -m adaptive_lr.lab.train (or REGENERATE = True in the lab notebook)"
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adaptive_lr.lab.train", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?", default="course/lab_data")
    parser.add_argument("--only", default="", help="comma-separated keys, e.g. comparison/adamw")
    args = parser.parse_args(argv)
    only = {k for k in args.only.split(",") if k}
    for p in regenerate(Path(args.out_dir), only):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
