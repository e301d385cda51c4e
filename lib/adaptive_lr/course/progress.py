"""Progress of a batch: a tqdm bar on a terminal, one plain line per student otherwise (CI logs)."""

from __future__ import annotations

import sys

from .record import GradingRecord, Status


class Progress:
    """``update(record)`` once per finished student; the bar shows done/total, ETA and not-ok so far."""

    def __init__(self, total: int, say=print, tty: bool | None = None, stream=None):
        self.total, self.done, self.not_ok, self.say = total, 0, 0, say
        stream = stream or sys.stderr
        self.bar = None
        if (stream.isatty() if tty is None else tty) and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=stream, unit="student", dynamic_ncols=True,
                            desc="grading")

    def line(self, r: GradingRecord, skipped: bool) -> str:
        how = "unchanged, not graded again" if skipped else f"{r.timings.total:.1f} s"
        return (f"[{self.done}/{self.total}] {r.student}: {r.status.value} "
                f"{r.auto:g}/{r.auto_max:g} ({how})")

    def update(self, r: GradingRecord, skipped: bool = False) -> None:
        self.done += 1
        self.not_ok += r.status is not Status.OK
        if self.bar is not None:
            self.bar.set_postfix(not_ok=self.not_ok, refresh=False)
            self.bar.update(1)
        else:
            self.say(self.line(r, skipped))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
