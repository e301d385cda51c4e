"""The course's late-submission policy, as an nbgrader late-submission plugin.

Policy: **10 points (of 100) per started day late**. A submission 1 second to
24 hours after the due date loses 10 points, 24 to 48 hours late loses 20,
and so on; the penalty never exceeds the notebook's score (nbgrader's own
rule in ``AssignLatePenalties``).

nbgrader applies the plugin when it *autogrades* a notebook
(``nbgrader.preprocessors.AssignLatePenalties``, listed in
``grader_config.py``): it stores the penalty in the gradebook, and both
``nbgrader export`` and ``adaptive-lr export`` subtract it from the score.
Because the penalty is a fixed number of points, it does not change when the
written answers are graded by hand afterwards; nbgrader caps it at the score
the notebook had when it was autograded (the autograded points), so a
submission late by many days never goes below zero.

How late a submission is comes from nbgrader: the submission's timestamp
(``timestamp.txt``, written by ``nbgrader submit`` on the student's side, or
by ``zip_collect`` from the archive, see :mod:`.lms`) minus the assignment's
due date in the gradebook (set from ``grader_config.py``, see :mod:`.schedule`).
A submission without a timestamp is never late.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

DAY = 24 * 3600.0


def penalty_points(seconds_late: float, points_per_day: float) -> float:
    """Points lost for a submission ``seconds_late`` after the due date: per *started* day."""
    if seconds_late < 0 or not math.isfinite(seconds_late):
        raise ValueError(f"seconds_late must be a finite number >= 0, got {seconds_late}")
    if points_per_day < 0:
        raise ValueError(f"points_per_day must be >= 0, got {points_per_day}")
    return points_per_day * math.ceil(seconds_late / DAY)


class PointsPerDayLate(LateSubmissionPlugin):
    """``points_per_day`` points off per started day late (at most the notebook's score)."""

    points_per_day = Float(10.0, help="points subtracted per started day late").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        penalty = penalty_points(total_seconds_late, self.points_per_day)
        self.log.info(
            "%s is %.0f s late: %g points off (%g per started day)",
            student_id, total_seconds_late, penalty, self.points_per_day,
        )
        return min(penalty, score)
