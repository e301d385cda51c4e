"""The class in one page: ``adaptive-lr report COURSE`` -> ``COURSE/report/index.html``.

A self-contained HTML page (figures embedded as PNG, no scripts, no network)
for the instructor, built from typed data only:

* the totals out of 100 (:func:`.export.totals`: autograded and hand-graded
  points, late penalty; ``pending`` while written answers are ungraded),
  with the distribution of the total and of each exercise;
* how many students made each catalogued mistake, and who
  (``bias correction missing: 2 students (alice, bob)``), from the
  ``mistakes`` field of each graded cell's record, never from a message;
* every status that is not ``ok`` (timeouts, dead kernels, tampering,
  refused files) with its reason and a link to the student's feedback;
* the time each submission took to grade;
* the similarity of the students' graded functions to the reference
  implementation and to each other (:mod:`.similarity`), pairs above the
  threshold flagged for a look, never penalized.

What it reads per student (:class:`Student`): the status, reason, graded
cells (with their diagnosed mistakes) and seconds. :func:`from_records`
takes the batch's records; :func:`from_course` reads a graded course folder
from disk (the batch's ``grading_report.csv`` and the autograded notebooks).
"""

from __future__ import annotations

import base64
import csv
import html
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from ..grading.api import FUNCTIONS
from .export import totals
from .gradebook import EXERCISES
from .pipeline import ASSIGNMENT, NOTEBOOK

REPORT_DIR = "report"


@dataclass
class Student:
    """What the report knows about one student's submission."""

    student: str
    status: str
    reason: str = ""
    mistakes: dict = field(default_factory=dict)  # catalogue key -> grade ids where diagnosed
    seconds: float | None = None


# -- adapters: what the batch produced -> Student ---------------------------------------------


def _seconds_from_notebook(course, student) -> float | None:
    path = course.autograded_notebook(student)
    if not path.is_file():
        return None
    meta = nbformat.read(path, as_version=4).metadata.get("adaptive_lr", {})
    seconds = meta.get("execution", {}).get("seconds")
    return float(seconds) if seconds is not None else None


def from_records(course, records) -> list[Student]:
    """Students from the batch's records (typed: ``status``, ``reason``, ``cells[].mistakes``)."""
    out = []
    for r in records:
        mistakes: dict = {}
        for cell in getattr(r, "cells", ()) or ():
            for key in getattr(cell, "mistakes", ()) or ():
                mistakes.setdefault(key, []).append(cell.grade_id)
        timings = getattr(r, "timings", None)
        seconds = getattr(timings, "total", None) if timings is not None else None
        if not seconds:
            seconds = _seconds_from_notebook(course, r.student)
        out.append(Student(r.student, str(r.status), r.reason or "", mistakes, seconds))
    return out


def from_course(course) -> list[Student]:
    """Students of a graded course folder: each graded student's stored record (:mod:`.resume`),
    and the batch's report file for those the intake refused (they have no record)."""
    from .batch import REPORT_NAME
    from .resume import RecordStore

    path = course.root / REPORT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: grade the course first (adaptive-lr grade "
                                f"{course.root})")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    store = RecordStore(course.root)
    out = []
    for row in rows:
        record = store.load(row["student"])
        if record is not None:
            out += from_records(course, [record])
        else:
            out.append(Student(row["student"], row["status"], row.get("reason", ""), {},
                               _seconds_from_notebook(course, row["student"])))
    return out


# -- figures ------------------------------------------------------------------------------------


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_totals(scores: list[float], max_score: float) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = [i * 5 for i in range(int(max_score // 5) + 2)]
    ax.hist(scores, bins=bins, color="#3a6ea5", edgecolor="white", label=f"{len(scores)} students")
    ax.set(title="Total score (autograded + written - late penalty)", xlabel=f"points (of {max_score:g})",
           ylabel="students", xlim=(0, max_score + 5))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return _png(fig)


def _figure_exercises(per_exercise: dict, top: float, what: str) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 5, figsize=(12, 4.6), sharey=True)
    bins = [i * 0.5 - 0.25 for i in range(int(top * 2) + 2)]
    for ax, e in zip(axes.flat, EXERCISES):
        ax.hist(per_exercise[e], bins=bins, color="#3a6ea5", edgecolor="white", label="students")
        ax.set_title(f"Exercise {e}")
        ax.set_xlim(-0.5, top + 0.5)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel(f"points (of {top:g})")
    for ax in axes[:, 0]:
        ax.set_ylabel("students")
    axes.flat[0].legend(loc="upper left", fontsize=7)
    fig.suptitle(f"Points per exercise: {what}")
    fig.tight_layout()
    return _png(fig)


def _figure_times(times: dict) -> str:
    import matplotlib.pyplot as plt

    names = sorted(times, key=lambda s: -times[s])
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.2))
    ax.barh(names[::-1], [times[s] for s in names[::-1]], color="#56a36c", label="grading time")
    ax.set(title="Time to grade each submission", xlabel="seconds (run + re-check)", ylabel="student")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


# -- the mistake catalogue -----------------------------------------------------------------------


def mistake_title(key: str) -> str:
    """The catalogue's short name of a mistake: its description up to the first colon."""
    from ..grading import mistakes as catalogue

    known = {m.key: m for m in catalogue.MISTAKES}
    try:
        from ..grading import conventions  # a second catalogue, where there is one

        known.update({m.key: m for m in getattr(conventions, "CONVENTIONS", ())})
    except ImportError:
        pass
    m = known.get(key)
    if m is None:
        return key
    return m.description.split(":", 1)[0].split(" (", 1)[0].strip()


def mistake_counts(students: list[Student]) -> list[tuple[str, str, list[str]]]:
    """(key, title, students) per catalogued mistake, most frequent first."""
    by_key: dict = {}
    for s in students:
        for key in s.mistakes:
            by_key.setdefault(key, []).append(s.student)
    return sorted(((k, mistake_title(k), sorted(v)) for k, v in by_key.items()),
                  key=lambda x: (-len(x[2]), x[0]))


# -- similarity -----------------------------------------------------------------------------------


def graded_functions(course, students) -> tuple[dict, dict]:
    """student -> {function: source} from the autograded notebooks; the release's skeletons."""
    from .similarity import functions_of

    names = set(FUNCTIONS)

    def answer_code(nb):
        return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code"
                           and c.get("metadata", {}).get("nbgrader", {}).get("solution"))

    codes = {}
    for s in students:
        path = course.autograded_notebook(s)
        if path.is_file():
            codes[s] = functions_of(answer_code(nbformat.read(path, as_version=4)), names)
    release = course.release_notebook
    skeleton = functions_of(answer_code(nbformat.read(release, as_version=4)), names) if release.is_file() else {}
    return codes, skeleton


# -- the page -------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,sans-serif;max-width:75em;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#eef2f7}td.num{text-align:right}
.bad{color:#a40000;font-weight:bold}.ok{color:#2a7a2a}.note{color:#555;font-size:.92em}
img{max-width:100%}h2{border-bottom:2px solid #3a6ea5;padding-bottom:.2em;margin-top:1.6em}"""


def _e(x) -> str:
    return html.escape(str(x))


def _feedback_link(course, student: str) -> str:
    path = course.feedback_html(student)
    if not path.is_file():
        return '<span class="note">no feedback yet</span>'
    rel = f"../feedback/{student}/{ASSIGNMENT}/{NOTEBOOK}.html"
    return f'<a href="{_e(rel)}">feedback</a>'


MAX_PAIRS_SHOWN = 25


def _pair_rows(pairs) -> str:
    return "".join(
        f"<tr><td>{_e(p.a)}</td><td>{_e(p.b)}</td><td class='num'>{p.similarity:.0%}</td>"
        f"<td class='{'bad' if p.flagged else 'ok'}'>{'look' if p.flagged else ''}</td>"
        f"<td>{_e(', '.join(f'{n} {j:.0%}' for n, j in p.functions[:4]))}</td></tr>" for p in pairs)


def _similarity_section(pairs) -> str:
    from .similarity import REFERENCE, groups

    head = ("<table><tr><th>student</th><th>compared with</th><th>similarity</th><th>flag</th>"
            "<th>most similar functions</th></tr>")
    out = []
    reference = [p for p in pairs if p.b == REFERENCE]
    between = [p for p in pairs if p.b != REFERENCE]
    flagged_ref = [p for p in reference if p.flagged]
    out.append(f"<h3>Compared with the reference implementation</h3><p>{len(flagged_ref)} of "
               f"{len(reference)} students flagged (share of the student's code found in the reference).</p>")
    if reference:
        out.append(head + _pair_rows((flagged_ref or reference)[:MAX_PAIRS_SHOWN]) + "</table>")
    flagged = [p for p in between if p.flagged]
    out.append(f"<h3>Between students</h3><p>{len(flagged)} of {len(between)} pairs flagged.</p>")
    clusters = groups(flagged)
    if clusters:
        out.append("<p>Groups of students whose code is alike (each linked to another by a flagged pair):</p><ul>"
                   + "".join(f"<li>{len(g)} students: {_e(', '.join(g))}</li>" for g in clusters) + "</ul>")
    shown = (flagged or between)[:MAX_PAIRS_SHOWN]
    if shown:
        more = len(flagged or between) - len(shown)
        out.append(head + _pair_rows(shown) + "</table>"
                   + (f"<p class='note'>... and {more} more pairs.</p>" if more > 0 else ""))
    return "".join(out)


def build(course, students: list[Student]) -> str:
    """The report's HTML."""
    from . import similarity

    all_totals = totals(course.db_url)
    by_student = {s.student: s for s in students}
    names = sorted(set(by_student) | set(all_totals))
    graded = [t for t in all_totals.values() if t.submitted]
    max_score = next(iter(all_totals.values())).max_score if all_totals else 100.0
    final = [t for t in graded if t.final]
    parts = [f"<h1>Class report: {_e(ASSIGNMENT)}</h1>",
             (f'<p class="note">{len(names)} students, {len(graded)} graded submissions, '
              f"{len(final)} with every written answer graded. Written "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC from {_e(course.root)}.</p>")]

    # totals
    parts.append("<h2>Scores</h2>")
    if final:
        scores = [t.score for t in final]
        mean = sum(scores) / len(scores)
        parts.append(f"<p>Total out of {max_score:g}: mean {mean:.1f}, lowest {min(scores):g}, highest "
                     f"{max(scores):g} ({len(final)} students with final grades).</p>")
        parts.append(f'<img alt="distribution of the total" src="{_figure_totals(scores, max_score)}">')
    if final:
        per = {e: [t.exercise(e) for t in final] for e in EXERCISES}
        figure = _figure_exercises(per, 10, f"autograded + written, {len(final)} students with final grades")
        parts.append(f'<img alt="distribution per exercise" src="{figure}">')
    elif graded:
        per = {e: [t.auto.get(e, 0.0) for t in graded] for e in EXERCISES}
        figure = _figure_exercises(per, 5, "autograded part only (no written answers graded yet)")
        parts.append(f'<img alt="distribution per exercise" src="{figure}">')
    rows = []
    for s in names:
        t, st = all_totals.get(s), by_student.get(s)
        if t is None or not t.submitted:
            total = "0 (no graded submission)"
        elif t.pending:
            total = f"pending ({len(t.pending)} written answers ungraded)"
        else:
            total = f"{t.score:g} / {t.max_score:g}"
        cells = "".join(f'<td class="num">{t.exercise(e):g}</td>' if t and t.submitted else "<td></td>"
                        for e in EXERCISES)
        penalty = f"{t.penalty:g}" if t and t.penalty else ""
        status = st.status if st else ("graded" if t and t.submitted else "not submitted")
        cls = "ok" if status == "ok" else "bad"
        rows.append(f"<tr><td>{_e(s)}</td>{cells}<td class='num'>{penalty}</td><td>{_e(total)}</td>"
                    f"<td class='{cls}'>{_e(status)}</td><td>{_feedback_link(course, s)}</td></tr>")
    parts.append("<p class='note'>Columns 1-10: points per exercise, autograded and written (of 10 "
                 "each; of 5 while the written answers are not graded).</p>")
    head = "".join(f"<th>{e}</th>" for e in EXERCISES)
    parts.append(f"<table><tr><th>student</th>{head}<th>late penalty</th><th>total</th><th>status</th>"
                 f"<th></th></tr>{''.join(rows)}</table>")

    # mistakes
    parts.append("<h2>Catalogued mistakes</h2>")
    counts = mistake_counts(students)
    if counts:
        parts.append("<table><tr><th>mistake</th><th>students</th><th>who</th><th>catalogue key</th></tr>"
                     + "".join(f"<tr><td>{_e(title)}</td><td class='num'>{len(who)}</td>"
                               f"<td>{_e(', '.join(who))}</td><td><code>{_e(k)}</code></td></tr>"
                               for k, title, who in counts) + "</table>")
        parts.append("<ul>" + "".join(f"<li><b>{_e(title)}</b>: {len(who)} student"
                                      f"{'s' if len(who) != 1 else ''}</li>" for _, title, who in counts)
                     + "</ul>")
    else:
        parts.append("<p>No failing hidden test matched a catalogued mistake.</p>")

    # statuses
    parts.append("<h2>Statuses that need a look</h2>")
    odd = [st for st in students if st.status != "ok"]
    if odd:
        parts.append("<table><tr><th>student</th><th>status</th><th>reason</th><th></th></tr>"
                     + "".join(f"<tr><td>{_e(st.student)}</td><td class='bad'>{_e(st.status)}</td>"
                               f"<td>{_e(st.reason)}</td><td>{_feedback_link(course, st.student)}</td></tr>"
                               for st in odd) + "</table>")
    else:
        parts.append("<p>Every submission was graded with status ok.</p>")
    with_reason = [st for st in students if st.status == "ok" and st.reason]
    if with_reason:
        parts.append("<p class='note'>Graded ok, with notes:</p><ul>" + "".join(
            f"<li>{_e(st.student)}: {_e(st.reason)}</li>" for st in with_reason) + "</ul>")

    # time
    times = {st.student: st.seconds for st in students if st.seconds is not None}
    parts.append("<h2>Time per submission</h2>")
    if times:
        parts.append(f"<p>{len(times)} notebooks, {sum(times.values()):.0f} s in total, "
                     f"slowest {max(times.values()):.1f} s.</p>")
        parts.append(f'<img alt="time per submission" src="{_figure_times(times)}">')
    else:
        parts.append("<p>No timings recorded.</p>")

    # similarity
    parts.append("<h2>Similarity of the graded functions</h2>")
    codes, skeleton = graded_functions(course, [s for s in names if course.autograded_notebook(s).is_file()])
    pairs = similarity.compare_all(codes, skeleton, sorted(FUNCTIONS))
    parts.append(
        f"<p>Detector: AST-normalized winnowing (k = {similarity.K}, window {similarity.WINDOW}; names, "
        "numbers, comments and formatting do not count). Each student is compared with the reference "
        "implementation and with every other student; the release's own code and functions too short "
        "to tell apart are left out. "
        f"Pairs at or above {similarity.THRESHOLD:.0%} are flagged <b>for you to look at, never "
        "penalized</b>: correct solutions of a precisely specified exercise also look alike.</p>")
    parts.append(_similarity_section(pairs))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Class report: '
            f"{_e(ASSIGNMENT)}</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")


def write(course, records=None) -> Path:
    """Write ``COURSE/report/index.html`` from the batch's records (or the course folder)."""
    students = from_records(course, records) if records is not None else from_course(course)
    folder = course.root / REPORT_DIR
    folder.mkdir(exist_ok=True)
    path = folder / "index.html"
    path.write_text(build(course, students), encoding="utf-8")
    return path
