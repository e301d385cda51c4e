"""``adaptive-lr``: the command line of the course.

    adaptive-lr demo [--out DIR] [--no-copy]   the instructor's pipeline, end to end (make demo)
    adaptive-lr grade COURSE [--workers N] [--scheduler ADDR] [--db URL] [--force]
                                               grade every submission of a course; report with statuses
    adaptive-lr release [--check]              regenerate release/ from source/ (or only compare)
    adaptive-lr gradebook --db URL             print a gradebook's table
    adaptive-lr tour [ARGS]                    a headless tour of the library (adaptive_lr.tour)
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import sys


def _demo(args) -> int:
    from .course import demo

    demo.run(out=args.out, copy_back=not args.no_copy)
    return 0


def _grade(args) -> int:
    from .course import batch
    from .course.pipeline import Course
    from .course.record import Status
    from .course.verify import ConfigurationError

    course = Course(args.course, db_url=args.db)
    try:
        records = batch.grade(course, workers=args.workers, scheduler=args.scheduler, force=args.force)
    except (batch.NotReady, ConfigurationError) as err:
        print(f"adaptive-lr grade: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0 if all(r.status is not Status.NOT_GRADED for r in records) else 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _release(args) -> int:
    import tempfile

    from .course import release

    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            diff = release.differences(release.committed_release(), release.regenerate(tmp))
        if diff:
            print("release/adaptive_lr/exercises.ipynb is out of sync with source/:")
            print("\n".join("  " + d for d in diff))
            return 1
        print("release/adaptive_lr/exercises.ipynb matches source/.")
        return 0
    changes = release.update()
    print("release/adaptive_lr/exercises.ipynb " + ("updated: " + "; ".join(changes[:5]) if changes else "unchanged."))
    return 0


def _gradebook(args) -> int:
    from .course.gradebook import read_grades, table

    print(table(read_grades(args.db)))
    return 0


def _tour(args) -> int:
    if importlib.util.find_spec("adaptive_lr.tour") is None:
        print("adaptive_lr.tour is not available in this version.", file=sys.stderr)
        return 1
    main = importlib.import_module("adaptive_lr.tour").main
    takes_argv = bool(inspect.signature(main).parameters)
    result = main(list(args.tour_args)) if takes_argv else main()
    return result if isinstance(result, int) else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adaptive-lr", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="run the instructor pipeline in a scratch course")
    p.add_argument("--out", default=None, help="scratch folder (default: demo_output/ in the repository)")
    p.add_argument("--no-copy", action="store_true", help="leave autograded/ and feedback/ in the scratch folder")
    p.set_defaults(run=_demo)
    p = sub.add_parser("grade", help="grade every submission in COURSE/submitted (sandbox, report)")
    p.add_argument("course", help="the course folder (holds nbgrader_config.py and submitted/)")
    p.add_argument("--workers", type=_positive, default=None,
                   help="submissions graded at a time on this machine (default: the number of cores)")
    p.add_argument("--scheduler", default=None,
                   help="a Dask scheduler address (tcp://host:8786): grade on that cluster instead")
    p.add_argument("--db", default=None,
                   help="the gradebook URL (default: $ADAPTIVE_LR_GRADEBOOK_URL, else COURSE/gradebook.db), "
                   "e.g. postgresql://grader@dbhost/adaptive_lr")
    p.add_argument("--force", action="store_true",
                   help="grade every submission again, also those unchanged since they were graded")
    p.set_defaults(run=_grade)
    p = sub.add_parser("release", help="regenerate release/adaptive_lr/exercises.ipynb from source/")
    p.add_argument("--check", action="store_true", help="only compare; exit 1 when out of sync")
    p.set_defaults(run=_release)
    p = sub.add_parser("gradebook", help="print the table of a gradebook")
    p.add_argument("--db", required=True, help="gradebook URL, e.g. sqlite:///demo_output/course/gradebook.db")
    p.set_defaults(run=_gradebook)
    p = sub.add_parser("tour", help="a headless tour of the library (arguments go to adaptive_lr.tour)")
    p.add_argument("tour_args", nargs=argparse.REMAINDER)
    p.set_defaults(run=_tour)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
