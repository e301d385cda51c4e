"""Grade a generated class with 1, 2, ... workers and plain nbgrader in the same run; print the table.

    python benchmarks/class_scale.py                 # 200 submissions, 1 worker and every core
    python benchmarks/class_scale.py -n 28 --workers 1,2

The submissions cycle through the demo's mix (:func:`adaptive_lr.course.demo.make_submissions`
makes one of each: the solution, the blank release, seven catalogued mistakes,
a call to the reference implementation, three hostile notebooks and two broken
files). Each worker count grades the whole class with ``--force`` (sandbox,
restore, re-check: the project's pipeline); then plain ``nbgrader autograde``
grades the same notebooks in one batch, without sandbox, restore or re-check
(nbgrader's default preprocessors, the same cell timeout). Printed per run:
seconds per submission (wall time / submissions), speed-up over one worker and
that speed-up per worker, the cost of the pipeline as a ratio to plain
nbgrader, the mean stages of one submission from the records (kernel start,
execution, re-check, the whole task), and the peak memory of the largest
process of a worker (nbgrader or a kernel). A script that prints numbers, not
a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from adaptive_lr.course import batch, demo  # noqa: E402
from adaptive_lr.course.pipeline import ASSIGNMENT, Course, repo_root  # noqa: E402

_PLAIN = '''\
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db!r}
c.CourseDirectory.course_id = "adaptive-lr"
c.CourseDirectory.assignment_id = {assignment!r}
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
'''


def make_class(course: Course, n: int) -> list[str]:
    """``n`` submissions: the demo's mix, repeated (``s0001-solution``, ``s0002-blank``, ...)."""
    kinds = demo.make_submissions(course)
    submitted = course.root / "submitted"
    made = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        student = f"s{i + 1:04d}-{kind}"
        shutil.copytree(submitted / kind, submitted / student)
        made.append(student)
    for kind in kinds:
        shutil.rmtree(submitted / kind)
    return made


def peak_child_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_project(course: Course, workers: int) -> dict:
    start = time.perf_counter()
    records = batch.grade(course, say=lambda *_: None, workers=workers, force=True, tty=False)
    wall = time.perf_counter() - start
    graded = [r for r in records if r.graded]
    mean = lambda f: statistics.fmean(f(r) for r in graded) if graded else 0.0  # noqa: E731
    return {
        "wall": wall,
        "n": len(records),
        "kernel_start": mean(lambda r: r.timings.kernel_start),
        "execution": mean(lambda r: r.timings.execution),
        "recheck": mean(lambda r: r.timings.recheck),
        "task": mean(lambda r: r.timings.total),
        "peak_mb": peak_child_mb(),
    }


def run_plain(course: Course, timeout: int) -> dict:
    """Plain nbgrader on the same submitted notebooks: its default pipeline, one batch."""
    plain = Course(course.root.parent / "plain", course.repo)
    if plain.root.exists():
        shutil.rmtree(plain.root)
    plain.root.mkdir(parents=True)
    shutil.copytree(course.root / "source", plain.root / "source")
    shutil.copytree(course.root / "submitted", plain.root / "submitted")
    db = f"sqlite:///{plain.root / 'gradebook.db'}"
    (plain.root / "nbgrader_config.py").write_text(
        _PLAIN.format(root=str(plain.root), db=db, assignment=ASSIGNMENT, timeout=timeout)
    )
    env = plain.env()
    env.pop("ADAPTIVE_LR_GRADEBOOK_URL", None)
    cmd = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*cmd, "generate_assignment", "--force"], cwd=plain.root, env=env,
                   capture_output=True, check=True)
    n = sum(1 for p in (plain.root / "submitted").iterdir() if p.is_dir())
    start = time.perf_counter()
    subprocess.run([*cmd, "autograde", "--force"], cwd=plain.root, env=env, capture_output=True)
    return {"wall": time.perf_counter() - start, "n": n}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="submissions (default 200)")
    cores = os.cpu_count() or 1
    parser.add_argument("--workers", default=",".join(str(w) for w in sorted({1, 2, cores})),
                        help="worker counts to time, comma-separated (default: 1, 2 and every core)")
    parser.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--no-plain", action="store_true", help="skip plain nbgrader")
    args = parser.parse_args(argv)
    os.environ.setdefault("ADAPTIVE_LR_CELL_TIMEOUT", "15")  # as make demo: the runaway loop
    out = Path(args.out or Path("/tmp") / f"adaptive-lr-class-scale-{os.getpid()}")
    course = Course(out / "course", repo_root()).create()
    course.generate_release()
    students = make_class(course, args.n)
    print(f"{len(students)} submissions in {course.root} on {cores} cores; "
          f"cell timeout {os.environ['ADAPTIVE_LR_CELL_TIMEOUT']} s", flush=True)
    rows = []
    for w in [int(x) for x in args.workers.split(",")]:
        r = run_project(course, w)
        r["workers"] = w
        rows.append(r)
        print(f"  {w} worker(s): {r['wall']:.0f} s", flush=True)
    plain = None if args.no_plain else run_plain(course, int(os.environ["ADAPTIVE_LR_CELL_TIMEOUT"]))
    base = rows[0]["wall"] * rows[0]["workers"]
    head = (f"{'run':<16}{'s/submission':>13}{'speed-up':>10}{'per worker':>11}{'vs plain':>9}"
            f"{'kernel start':>13}{'execution':>10}{'re-check':>9}{'task':>7}{'peak MB':>9}")
    print("\n" + head + "\n" + "-" * len(head))
    plain_per = plain["wall"] / plain["n"] if plain else None
    for r in rows:
        per = r["wall"] / r["n"]
        speed = base / r["wall"]
        vs = f"{per * r['workers'] / plain_per:.2f}" if plain_per else "-"
        print(f"{r['workers']:>2} worker(s)    {per:>13.2f}{speed:>10.2f}{speed / r['workers']:>11.2f}"
              f"{vs:>9}{r['kernel_start']:>13.2f}{r['execution']:>10.2f}{r['recheck']:>9.2f}"
              f"{r['task']:>7.2f}{r['peak_mb']:>9.0f}")
    if plain:
        print(f"{'plain nbgrader':<16}{plain_per:>13.2f}{'':>10}{'':>11}{1.0:>9.2f}")
    print("\nvs plain: seconds of one core per submission (s/submission x workers) / plain nbgrader's "
          "(one process). Stages: means over the graded submissions, from their records.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
