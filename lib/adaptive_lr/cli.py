"""``adaptive-lr``: the command line of the course.

    adaptive-lr demo [--out DIR] [--no-copy]   the instructor's pipeline, end to end (make demo)
    adaptive-lr grade COURSE [--workers N] [--scheduler ADDR] [--db URL] [--force]
                                               grade every submission of a course; report with statuses
    adaptive-lr release [--check]              regenerate release/ from source/ (or only compare)
    adaptive-lr gradebook --db URL             print a gradebook's table
    adaptive-lr grading-sheets COURSE          per-exercise sheets for grading the written answers
    adaptive-lr export COURSE --out FILE.csv   grades for Canvas (and FILE_per_exercise.csv)
    adaptive-lr report COURSE                  the class report, COURSE/report/index.html
    adaptive-lr student-bundle --out DIR       what students receive (no source, answers, hidden tests)
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


def _grading_sheets(args) -> int:
    from .course.manual import write_sheets
    from .course.pipeline import Course

    paths = write_sheets(Course(args.course), formgrader_url=args.formgrader)
    print(f"Grading sheets: {paths[0]} ({len(paths) - 1} exercises)")
    return 0


def _export(args) -> int:
    from .course.export import ExportRefused, export
    from .course.pipeline import Course

    try:
        canvas, plain = export(Course(args.course), args.out, roster=args.roster,
                               allow_pending=args.allow_pending, column=args.column)
    except ExportRefused as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return 1
    print(f"Canvas gradebook import: {canvas}\nPer exercise:            {plain}")
    return 0


def _report(args) -> int:
    from .course import class_report
    from .course.pipeline import Course

    print(f"Class report: {class_report.write(Course(args.course))}")
    return 0


def _student_bundle(args) -> int:
    from .course import bundle

    files = bundle.build(args.out)
    print(f"Student bundle: {args.out} ({len(files)} files; no source/, model answers, rubrics, "
          "hidden tests or gradebook)")
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
    p = sub.add_parser("grading-sheets", help="write COURSE/grading/exNN.html: model answers and rubrics")
    p.add_argument("course")
    p.add_argument("--formgrader", default="http://localhost:8888", help="where the formgrader runs")
    p.set_defaults(run=_grading_sheets)
    p = sub.add_parser("export", help="write the grades as a Canvas import CSV and a per-exercise CSV")
    p.add_argument("course")
    p.add_argument("--out", required=True, help="the Canvas CSV; FILE_per_exercise.csv is written next to it")
    p.add_argument("--roster", default=None, help="a Canvas gradebook export: names, SIS ids, sections")
    p.add_argument("--column", default="adaptive_lr", help="the assignment's column name in Canvas")
    p.add_argument("--allow-pending", action="store_true", help="export although written answers are ungraded")
    p.set_defaults(run=_export)
    p = sub.add_parser("report", help="write COURSE/report/index.html, the class report")
    p.add_argument("course")
    p.set_defaults(run=_report)
    p = sub.add_parser("student-bundle", help="write what students receive into a new folder")
    p.add_argument("--out", required=True)
    p.set_defaults(run=_student_bundle)
    p = sub.add_parser("tour", help="a headless tour of the library (arguments go to adaptive_lr.tour)")
    p.add_argument("tour_args", nargs=argparse.REMAINDER)
    p.set_defaults(run=_tour)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
