"""The batch report, rendered from :class:`~.record.GradingRecord` objects only.

:func:`write_csv` writes ``grading_report.csv`` (student, points per
exercise, total, status, reason, seconds); :func:`table` is the printed
table with a reason under it for every student who lost points or is not
``ok``; :func:`summary` is the class summary printed after the gradebook.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from .record import GradingRecord, Status

EXERCISES = tuple(range(1, 11))


def csv_row(r: GradingRecord) -> dict:
    row = {"student": r.student}
    row.update({f"ex{e:02d}": f"{r.score(e):g}" for e in EXERCISES})
    row.update(
        {
            "auto": f"{r.auto:g}",
            "auto_max": f"{r.auto_max:g}",
            "status": r.status.value,
            "reason": r.reason,
            "seconds": f"{r.timings.total:.1f}",
            "sha256": r.sha256,
        }
    )
    return row


def write_csv(records, path: Path) -> Path:
    rows = [csv_row(r) for r in records]
    fields = list(rows[0]) if rows else ["student"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def table(records) -> str:
    head = ["student"] + [f"{e}" for e in EXERCISES] + ["auto", "status"]
    body = [
        [r.student]
        + [f"{r.score(e):g}" for e in EXERCISES]
        + [f"{r.auto:g}/{r.auto_max:g}" if r.auto_max else "0", r.status.value]
        for r in records
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]

    def fmt(cols):
        return "  ".join(
            x.ljust(w) if j in (0, len(cols) - 1) else x.rjust(w)
            for j, (x, w) in enumerate(zip(cols, widths))
        )

    lines = [fmt(head), "-" * len(fmt(head))] + [fmt(row) for row in body]
    reasons = [f"  {r.student}: {r.reason}" for r in records if r.reason]
    if reasons:
        lines += ["", "Reasons:"] + reasons
    return "\n".join(lines)


def summary(records) -> str:
    """Counts per status, the mean score of the graded, and the points lost per exercise."""
    records = list(records)
    counts = Counter(r.status for r in records)
    graded = [r for r in records if r.graded]
    parts = [f"{n} {s.value}" for s, n in sorted(counts.items(), key=lambda x: list(Status).index(x[0]))]
    lines = [f"{len(records)} submissions: " + ", ".join(parts)]
    if graded:
        mean = sum(r.auto for r in graded) / len(graded)
        lines.append(f"mean autograded score {mean:.1f}/{graded[0].auto_max:g} over {len(graded)} graded")
        lost = {e: sum(r.max_score(e) - r.score(e) for r in graded) / len(graded) for e in EXERCISES}
        lines.append("points lost per student, by exercise: "
                     + ", ".join(f"{e}: {v:.1f}" for e, v in lost.items()))
    return "\n".join(lines)
