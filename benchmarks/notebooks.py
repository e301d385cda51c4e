"""Time the theory notebooks: headless execution of each, and the redraw of every widget figure.

Usage::

    MPLBACKEND=Agg .venv/bin/python benchmarks/notebooks.py [course/01_*.ipynb ...]

Each notebook runs top to bottom in a fresh kernel (nbclient, as nbval and CI
run it). Then, in the same kernel, every interactive figure the notebook made
(``adaptive_lr.viz.instances()``) has each of its controls moved to another
value and back, and each redraw is timed: that is the work a widget callback
does (recompute, redraw, render the PNG). Budgets: 60 s per notebook, 200 ms
per redraw. Exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_BUDGET_S = 60.0
REDRAW_BUDGET_MS = 200.0

TIMING_CELL = """\
import json as _json
from adaptive_lr import viz as _viz
_rows = []
for _k, _w in enumerate(_viz.instances()):
    _ms = _w.time_redraw()
    _rows.append({"figure": _k, "draw": getattr(_w.draw_fn, "__name__", "draw"),
                  "controls": list(_w.controls), "ms": _ms})
print("TIMINGS" + _json.dumps(_rows))
"""


def run_notebook(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        timing = nbformat.v4.new_code_cell(TIMING_CELL)
        nb.cells.append(timing)
        client.execute_cell(timing, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in timing.outputs if o.get("output_type") == "stream")
    rows = json.loads(text.split("TIMINGS", 1)[1]) if "TIMINGS" in text else []
    return {"seconds": seconds, "figures": rows,
            "cells": sum(c.cell_type == "code" for c in nb.cells) - 1}


def main(argv: list[str]) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = [Path(a) for a in argv] or sorted((ROOT / "course").glob("*.ipynb"))
    header = f"{'notebook':<36} {'cells':>5} {'run s':>7} {'figs':>4} {'redraws':>7} {'median ms':>9} {'max ms':>7}  slowest figure"
    print(header)
    print("-" * len(header))
    over = []
    for path in paths:
        res = run_notebook(path)
        times = sorted(t for f in res["figures"] for t in f["ms"])
        med = times[len(times) // 2] if times else float("nan")
        worst = max(res["figures"], key=lambda f: max(f["ms"]), default=None)
        mx = max(worst["ms"]) if worst else float("nan")
        print(f"{path.name:<36} {res['cells']:>5} {res['seconds']:>7.1f} {len(res['figures']):>4} "
              f"{len(times):>7} {med:>9.0f} {mx:>7.0f}  {worst['draw'] if worst else '-'}")
        if res["seconds"] > NOTEBOOK_BUDGET_S:
            over.append(f"{path.name}: {res['seconds']:.1f} s > {NOTEBOOK_BUDGET_S:.0f} s")
        for f in res["figures"]:
            if max(f["ms"]) > REDRAW_BUDGET_MS:
                over.append(f"{path.name}: figure {f['figure']} ({f['draw']}) redraw "
                            f"{max(f['ms']):.0f} ms > {REDRAW_BUDGET_MS:.0f} ms")
    print()
    print(f"budgets: {NOTEBOOK_BUDGET_S:.0f} s per notebook, {REDRAW_BUDGET_MS:.0f} ms per redraw; cores: {os.cpu_count()}")
    for line in over:
        print("OVER BUDGET:", line)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
