"""Grade a generated class with 1, 2, ... workers and plain nbgrader in the same run; print the table.

    python benchmarks/class_scale.py                 # 200 submissions, 1 worker, every core, plain
    python benchmarks/class_scale.py -n 15 --phases 1,plain --budget 600

The submissions cycle through the demo's mix (:func:`adaptive_lr.course.demo.make_submissions`
makes one of each: the solution, the blank release, seven catalogued mistakes,
a call to the reference implementation, three hostile notebooks and two broken
files). Each phase grades the whole class in its own copy of the course:
``adaptive-lr grade --workers N --force`` (sandbox, restore, re-check: the
project's pipeline), or plain ``nbgrader autograde`` of the same notebooks in
one batch, without sandbox, restore or re-check (nbgrader's default
preprocessors, the same cell timeout).

A phase that runs past ``--budget`` seconds is stopped, and its numbers come
from the submissions it finished: seconds per submission is the time to the
last finished one divided by how many finished, counting the broken files in
the share they have in the class (intake refuses them before any kernel runs,
in a few milliseconds). Every phase prints its row as soon as it ends and appends it
to ``results.jsonl`` in the scratch folder, so a run stopped early still has
the phases it finished.

Printed per phase: submissions finished, seconds per submission, speed-up over
one worker and that speed-up per worker, the cost in core-seconds as a ratio
to plain nbgrader (seconds per submission x workers / plain's), the mean
stages of one graded submission from its record (kernel start, execution,
re-check, and the rest of the task: the scratch course, nbgrader's
preprocessors, the gradebook), the peak resident memory of one worker process
and of the largest kernel (sampled each second from /proc: VmHWM), and the
load average of the machine at the start and the largest seen during the phase.
A script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from adaptive_lr.course import demo, resume  # noqa: E402
from adaptive_lr.course.pipeline import ASSIGNMENT, NOTEBOOK, Course, repo_root  # noqa: E402
from adaptive_lr.course.record import GradingRecord  # noqa: E402

_PLAIN = '''\
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db!r}
c.CourseDirectory.course_id = "adaptive-lr"
c.CourseDirectory.assignment_id = {assignment!r}
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
'''


def make_class(course: Course, n: int) -> tuple[list[str], int]:
    """``n`` submissions: the demo's mix, repeated (``s0001-solution``, ``s0002-blank``, ...).

    Returns the students and how many of them are broken files (never run)."""
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
    return made, sum(1 for s in made if "-broken-" in s)


def _processes(root: int):
    """(cmdline, VmHWM in KiB) of ``root`` and every live descendant (kernels start sessions
    of their own, so the tree, not the session, is followed)."""
    parent, info = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            parent[int(pid)] = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            hwm = next((int(line.split()[1]) for line in open(f"/proc/{pid}/status")
                        if line.startswith("VmHWM:")), 0)
            info[int(pid)] = (cmd, hwm)
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(p for p, pp in parent.items() if pp == pid and p not in tree)
    return [info[p] for p in tree if p in info]


def _is_kernel(cmd: str) -> bool:
    # A forked kernel keeps its zygote's command line (sandbox.zygote): the zygote, a kernel
    # with its imports done, counts as one too.
    return any(k in cmd for k in ("adaptive_lr.sandbox.kernel", "adaptive_lr.sandbox.zygote", "ipykernel"))


def _run(cmd, cwd, env, budget: float, finished, is_worker) -> dict:
    """Run ``cmd`` in its own session until it ends or ``budget`` seconds pass; sample it each second.

    ``finished()`` returns the finish times (epoch seconds) of the submissions done so far."""
    start_epoch, start = time.time(), time.monotonic()
    load = [os.getloadavg()[0]]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    worker_kb = kernel_kb = 0
    stopped = False
    while proc.poll() is None:
        for command, hwm in _processes(proc.pid):
            if _is_kernel(command):
                kernel_kb = max(kernel_kb, hwm)
            elif is_worker(command):
                worker_kb = max(worker_kb, hwm)
        load.append(os.getloadavg()[0])
        if time.monotonic() - start > budget:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            stopped = True
            break
        time.sleep(1.0)
    wall = time.monotonic() - start
    times = sorted(t - start_epoch for t in finished())
    return {"wall": wall, "stopped": stopped, "done": len(times),
            "to_last": times[-1] if times else 0.0, "worker_mb": worker_kb / 1024,
            "kernel_mb": kernel_kb / 1024, "load_start": load[0], "load_max": max(load)}


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo_root() / "lib") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("ADAPTIVE_LR_GRADEBOOK_URL", None)
    return env


def run_project(base: Course, out: Path, workers: int, budget: float) -> dict:
    root = out / f"workers-{workers}"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(base.root, root)
    Course(root, base.repo).create(clean=False)  # its config stub points at the copy
    store = resume.RecordStore(root)
    cmd = [sys.executable, "-m", "adaptive_lr.cli", "grade", str(root), "--workers", str(workers),
           "--force", "--db", f"sqlite:///{root / 'gradebook.db'}"]
    r = _run(cmd, root, _env(), budget,
             lambda: [p.stat().st_mtime for p in store.folder.glob("*.json")] if store.folder.is_dir() else [],
             lambda command: "multiprocessing" in command)  # a spawned worker process
    records = [GradingRecord.from_json(p.read_text()) for p in sorted(store.folder.glob("*.json"))] \
        if store.folder.is_dir() else []
    graded = [x for x in records if x.graded]

    def mean(f):
        return statistics.fmean(f(x) for x in graded) if graded else 0.0

    r.update(
        kernel_start=mean(lambda x: x.timings.kernel_start),
        execution=mean(lambda x: x.timings.execution),
        recheck=mean(lambda x: x.timings.recheck),
        rest=mean(lambda x: x.timings.total - x.timings.kernel_start - x.timings.execution
                  - x.timings.recheck),
        task=mean(lambda x: x.timings.total),
        statuses={s: sum(1 for x in records if x.status.value == s)
                  for s in sorted({x.status.value for x in records})},
    )
    return r


def run_plain(base: Course, out: Path, timeout: int, budget: float) -> dict:
    """Plain nbgrader on the same submitted notebooks: its default pipeline, one batch."""
    root = out / "plain"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(base.root / "source", root / "source")
    shutil.copytree(base.root / "submitted", root / "submitted")
    (root / "nbgrader_config.py").write_text(
        _PLAIN.format(root=str(root), db=f"sqlite:///{root / 'gradebook.db'}",
                      assignment=ASSIGNMENT, timeout=timeout)
    )
    env = _env()
    cmd = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*cmd, "generate_assignment", "--force"], cwd=root, env=env,
                   capture_output=True, check=True)
    graded = root / "autograded"
    return _run([*cmd, "autograde", "--force"], root, env, budget,
                lambda: [p.stat().st_mtime for p in graded.glob(f"*/{ASSIGNMENT}/{NOTEBOOK}.ipynb")],
                lambda command: "nbgrader autograde" in command)


def per_submission(r: dict, n: int, broken: int) -> tuple[float, float]:
    """(seconds per submission, submissions counted): the whole class, or what finished of it."""
    if not r["stopped"]:
        return r["wall"] / n, n
    # Stopped: the finished gradable submissions, plus the broken files in their share of the class.
    done = r["done"] * n / max(1, n - broken)
    return (r["to_last"] / done if done else float("nan")), done


def row(name: str, r: dict, n: int, broken: int, base: dict | None, plain: dict | None) -> str:
    per, done = per_submission(r, n, broken)
    w = r.get("workers", 1)
    cells = [f"{name:<16}", f"{done:>6.0f}{'*' if r['stopped'] else ' '}", f"{per:>9.2f}"]
    if base is not None and "workers" in r:
        speed = base["per"] * base["workers"] / per
        cells += [f"{speed:>9.2f}", f"{speed / w:>8.2f}"]
    else:
        cells += [f"{'':>9}", f"{'':>8}"]
    cells.append(f"{per * w / plain['per']:>9.2f}" if plain else f"{'-':>9}")
    if "workers" in r:
        cells += [f"{r[k]:>8.2f}" for k in ("kernel_start", "execution", "recheck", "rest")]
    else:
        cells += [f"{'':>8}"] * 4
    cells += [f"{r['worker_mb']:>10.0f}", f"{r['kernel_mb']:>10.0f}",
              f"{r['load_start']:>6.1f}/{r['load_max']:<4.1f}"]
    return "".join(cells)


HEAD = (f"{'run':<16}{'done':>7}{'s/sub':>9}{'speed-up':>9}{'/worker':>8}{'vs plain':>9}"
        f"{'k.start':>8}{'execute':>8}{'recheck':>8}{'rest':>8}{'worker MB':>10}{'kernel MB':>10}"
        f"{'load':>11}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="submissions (default 200)")
    cores = os.cpu_count() or 1
    default = ",".join([*(str(w) for w in sorted({1, 2, cores})), "plain"])
    parser.add_argument("--phases", default=default,
                        help=f"worker counts and 'plain', in the order to run (default {default})")
    parser.add_argument("--budget", type=float, default=float("inf"),
                        help="seconds after which a phase is stopped and measured on what it finished")
    parser.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    os.environ.setdefault("ADAPTIVE_LR_CELL_TIMEOUT", "15")  # as make demo: the runaway loop
    timeout = int(os.environ["ADAPTIVE_LR_CELL_TIMEOUT"])
    out = Path(args.out or Path("/tmp") / f"adaptive-lr-class-scale-{os.getpid()}")
    out.mkdir(parents=True, exist_ok=True)
    course = Course(out / "course", repo_root()).create()
    course.generate_release()
    students, broken = make_class(course, args.n)
    print(f"{len(students)} submissions ({broken} broken files) in {out} on {cores} cores "
          f"({platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"nice {os.nice(0)}); cell timeout {timeout} s; load average {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    print(HEAD, flush=True)
    results, base, plain = [], None, None
    for phase in args.phases.split(","):
        if phase == "plain":
            r = run_plain(course, out, timeout, args.budget)
            r["per"] = per_submission(r, args.n, broken)[0]
            plain = r
            line = row("plain nbgrader", r, args.n, broken, None, None)
        else:
            w = int(phase)
            r = run_project(course, out, w, args.budget)
            r["workers"] = w
            r["per"] = per_submission(r, args.n, broken)[0]
            base = base or r
            line = row(f"{w} worker(s)", r, args.n, broken, base, plain)
        print(line, flush=True)
        results.append({"phase": phase, **r})
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps({"phase": phase, "n": args.n, "broken": broken, **r}) + "\n")
    if plain:  # the rows again, with plain nbgrader's cost known to every one of them
        print("\n" + HEAD)
        for r in results:
            name = "plain nbgrader" if r["phase"] == "plain" else f"{r['workers']} worker(s)"
            print(row(name, r, args.n, broken, base if "workers" in r else None, plain))
    print("\n* stopped at the budget: measured on the submissions finished. s/sub: wall seconds per "
          "submission; vs plain: core-seconds per submission (s/sub x workers) / plain nbgrader's; "
          "stages: means over the graded submissions, from their records (rest: scratch course, "
          "nbgrader's other preprocessors, gradebook); MB: peak resident memory of one worker "
          "process (plain: the nbgrader process) and of the largest kernel; load: 1-minute load "
          "average at the start / largest during the phase.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
