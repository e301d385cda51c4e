"""Autograde N generated submissions in one nbgrader batch and print the seconds per submission.

    python benchmarks/autograde.py            # 12 submissions, plots rendered as in `make demo`
    python benchmarks/autograde.py -n 30 --agg

The submissions cycle through the solution and the catalogue of mistakes (so
that failing hidden tests, which run the mistake diagnosis, are part of the
cost). The batch's wall time includes one nbgrader start-up (a few seconds,
paid once per batch); the per-submission figure subtracts a measured no-op
nbgrader run so that it is the marginal cost of one more notebook: kernel
start-up, the notebook's cells (ten plots and 36 test cells), the grader's
own work and nbgrader's bookkeeping.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from adaptive_lr.course import submissions as subs  # noqa: E402
from adaptive_lr.course.gradebook import read_grades  # noqa: E402
from adaptive_lr.course.pipeline import Course  # noqa: E402
from adaptive_lr.grading.mistakes import MISTAKES  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=12, help="number of submissions (default 12)")
    parser.add_argument("--agg", action="store_true", help="MPLBACKEND=Agg: figures are built but not rendered")
    args = parser.parse_args(argv)
    if args.agg:
        os.environ["MPLBACKEND"] = "Agg"
    else:
        os.environ.pop("MPLBACKEND", None)

    with tempfile.TemporaryDirectory() as tmp:
        course = Course(Path(tmp) / "course").create()
        course.generate_release()
        source, release = subs.read(course.source_notebook), subs.read(course.release_notebook)
        solved = subs.solution(source, release)
        for i in range(args.n):
            nb = solved if i % 4 == 0 else subs.with_mistake(solved, MISTAKES[i % len(MISTAKES)])
            course.submit(f"student{i:03d}", nb)

        start = time.perf_counter()
        course.nbgrader("--version")
        startup = time.perf_counter() - start
        seconds = course.autograde()
        graded = read_grades(course.db_url)

    per = (seconds - startup) / args.n
    backend = "Agg (no rendering)" if args.agg else "inline (figures rendered, as in make demo)"
    print(f"{args.n} submissions graded in {seconds:.1f} s, one batch ({len(graded)} in the gradebook); "
          f"matplotlib backend: {backend}")
    print(f"nbgrader start-up: {startup:.1f} s per batch")
    print(f"seconds per submission: {per:.2f}  (batch time / N: {seconds / args.n:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
