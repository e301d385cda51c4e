"""The nbgrader configuration of the course (nbgrader_config.py loads this file).

nbgrader 0.9 ignores ``--config FILE`` and only reads ``nbgrader_config.py``
(from the working directory and Jupyter's config paths); the formgrader in
JupyterLab reads it too. That file is a stub that loads this one, so the
settings live here, with their reasons.

Environment overrides (for a scratch course, CI or a production server):

``ADAPTIVE_LR_COURSE_ROOT``    the course directory (default: this file's folder)
``ADAPTIVE_LR_GRADEBOOK_URL``  the gradebook database URL, e.g.
                               ``postgresql://grader@db/adaptive_lr`` (default:
                               ``sqlite:///<course root>/gradebook.db``)
``ADAPTIVE_LR_CELL_TIMEOUT``   seconds a cell may run while grading (default 60)
``ADAPTIVE_LR_FIGURES``        ``0``: graded notebooks get no figures (faster; default ``1``,
                               figures as inline PNG for the feedback)
``ADAPTIVE_LR_DUE_DATE``       the due date, e.g. ``2027-01-31 23:59:00 UTC`` (empty: none)
``ADAPTIVE_LR_EXCHANGE``       the exchange folder shared by instructor and students
                               (default: nbgrader's ``/usr/local/share/nbgrader/exchange``)

The gradebook holds the hidden tests in plain text: it lives in the course
root, which is never released (``release/`` is), and ``.gitignore`` keeps
``gradebook*.db`` out of git.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (injected by traitlets' config loader)

ASSIGNMENT = "adaptive_lr"
COURSE_ROOT = Path(os.environ.get("ADAPTIVE_LR_COURSE_ROOT") or Path(__file__).resolve().parent).resolve()

c.CourseDirectory.course_id = "adaptive-lr"
c.CourseDirectory.root = str(COURSE_ROOT)
_DB_URL = os.environ.get("ADAPTIVE_LR_GRADEBOOK_URL") or f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"
if _DB_URL.startswith("postgresql://"):  # the installed driver is psycopg 3, not SQLAlchemy's default
    _DB_URL = "postgresql+psycopg://" + _DB_URL[len("postgresql://") :]
c.CourseDirectory.db_url = _DB_URL
# The one assignment: `nbgrader generate_assignment`, `autograde` and
# `generate_feedback` then take no assignment argument (nbgrader refuses both).
c.CourseDirectory.assignment_id = ASSIGNMENT

# A cell that runs longer than this is interrupted and scores 0 (the hidden
# tests of one function take well under a second).
c.Execute.timeout = int(os.environ.get("ADAPTIVE_LR_CELL_TIMEOUT", "60"))
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True

# nbgrader scores a test cell 0 when anything reaches stderr. The graders never
# write there; these messages come from the environment, not from a submission,
# and are dropped before grading (only when the whole stderr output is one of them).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"\A\s*(Matplotlib is building the font cache; this may take a moment\."
    r"|Matplotlib created a temporary cache directory at \S+ because the default path \(.*\) "
    r"is not a writable directory; it is highly recommended to set the MPLCONFIGDIR environment "
    r"variable to a writable directory, in particular to speed up the import of Matplotlib and "
    r"to better support multiprocessing\.)\s*\Z"
)

# Feedback shows each hidden test's docstring, result and message, never its
# code: HideHiddenTests strips the hidden region and shortens tracebacks.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "adaptive_lr.course.feedback.HideHiddenTests",
    "adaptive_lr.course.feedback.ReferenceFigures",  # the reference's figure under each part (d) figure
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "adaptive_lr.course.offline_html.OfflinePage",
]
# The feedback file and the formgrader's pages render math without internet
# (MathML instead of MathJax from a CDN) and wrap long output lines.
c.HTMLExporter.preprocessors = ["adaptive_lr.course.offline_html.OfflinePage"]

# -- Submissions rebuilt on the release (adaptive_lr.course.restore) ------------------
# Before nbgrader's own sanitizing, RestoreStructure puts the release's cells back
# in release order: deleted, edited or moved tests and read-only cells, changed
# points and flags, tags that skip a test. The student's answers and added cells
# are kept. It runs before DeduplicateIds (which fails a notebook whose nbgrader
# metadata is malformed) and so before OverwriteCells (which then restores the
# hidden tests, points and checksums from the gradebook). Findings go to
# nb.metadata["adaptive_lr"]["tampering"]; the metadata mask keeps that key (and
# nbconvert's default, language_info.name) should ClearMetadataPreprocessor be
# enabled in the autograde stage (nbgrader lists it there, disabled).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "adaptive_lr.course.restore.RestoreStructure",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "adaptive_lr.course.metadata.CheckCellMetadata",
]
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("adaptive_lr",)}

# -- The grading sandbox (adaptive_lr.course.execute, adaptive_lr.sandbox) ------------
# Kernels run as an unprivileged user with resource limits, on a read-only file
# system except a scratch folder, with the course folder and the instructor's
# source/ out of sight; kernel deaths and runaway cells are graded, not fatal.
# ADAPTIVE_LR_SANDBOX=0 turns the sandbox off (plain kernels, e.g. on a laptop
# where the grader is not root: the limits still apply when it is on).
c.Autograde.autograde_preprocessors = [
    "adaptive_lr.course.execute.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "adaptive_lr.course.metadata.CheckCellMetadata",
]
c.SandboxedExecute.sandbox = os.environ.get("ADAPTIVE_LR_SANDBOX", "1") != "0"
c.SandboxedExecute.sandbox_user = os.environ.get("ADAPTIVE_LR_SANDBOX_USER", "adaptive-lr-grader")
# Drawing a notebook's figures as PNG takes seconds per notebook; feedback shows them.
c.SandboxedExecute.figures = os.environ.get("ADAPTIVE_LR_FIGURES", "1") != "0"
# Besides the course's source/, submissions, feedback and gradebook (always hidden),
# hide the repository's own source/ when grading in another course folder.
c.SandboxedExecute.hide_paths = [str(Path(__file__).resolve().parent / "source")]
c.SandboxedExecute.timeout = c.Execute.timeout
c.SandboxedExecute.startup_timeout = c.Execute.startup_timeout
c.SandboxedExecute.interrupt_on_timeout = True
c.SandboxedExecute.notebook_timeout = int(os.environ.get("ADAPTIVE_LR_NOTEBOOK_TIMEOUT", "900"))

# -- Due date and late submissions (adaptive_lr.course.schedule, adaptive_lr.course.late) --
# nbgrader keeps the due date in the gradebook; adaptive_lr.course.schedule writes this one
# there (through `nbgrader db assignment add --duedate`) before every autograde.
c.CourseSchedule.due_date = os.environ.get("ADAPTIVE_LR_DUE_DATE", "2027-01-31 23:59:00 UTC")
# 10 points (of 100) per started day late, never below zero; applied by nbgrader's
# AssignLatePenalties (in the autograde preprocessors above) when a notebook is autograded.
c.AssignLatePenalties.plugin_class = "adaptive_lr.course.late.PointsPerDayLate"
c.PointsPerDayLate.points_per_day = 10.0

# -- Hand-out and hand-in through nbgrader's file-system exchange ------------------------
# One folder shared by the instructor and every student (on a JupyterHub, a shared mount).
if os.environ.get("ADAPTIVE_LR_EXCHANGE"):
    c.Exchange.root = os.environ["ADAPTIVE_LR_EXCHANGE"]
# The exchange only ever receives the release: never source/, the gradebook or feedback
# of others. Feedback goes out one HTML file per student, named by a hash of a secret
# written at submission (nbgrader's own scheme).

# -- LMS downloads: `nbgrader zip_collect` of a Canvas archive (adaptive_lr.course.lms) --
# Canvas names each file <name>_[late_]<user id>_<attachment id>_<file name>; the collector
# keeps each student's latest attempt and the submission time the archive records.
c.ZipCollectApp.extractor_plugin = "adaptive_lr.course.lms.TimedExtractor"
c.ZipCollectApp.collector_plugin = "adaptive_lr.course.lms.CanvasCollector"
