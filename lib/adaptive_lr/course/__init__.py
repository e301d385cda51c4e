"""The instructor's side of the course: the nbgrader pipeline around the graded assignment.

``pipeline``     a course folder driven from Python (nbgrader as subprocesses)
``submissions``  sample submissions: solution, blank, mistakes, cheats
``gradebook``    scores per student, exercise and cell; the printed table
``release``      the committed release and whether it matches the source
``feedback``     the nbconvert preprocessor that hides hidden tests in feedback
``demo``         ``make demo``: the whole pipeline in a scratch folder
``exchange``     hand-out and hand-in through nbgrader's file-system exchange
``lms``          Canvas downloads through ``nbgrader zip_collect`` (plugins, intake)
``schedule``     the due date from grader_config.py into the gradebook
``late``         the late-penalty plugin (10 points per started day)
``manual``       grading sheets for the written answers; hand grades on the 0.5 grid
``export``       totals out of 100, the Canvas import CSV and the per-exercise CSV
``class_report`` the class report (``COURSE/report/index.html``)
``similarity``   AST-normalized winnowing of the graded functions
``bundle``       what students receive, and the check that it leaks nothing

Imports nbformat, nbconvert and (lazily) nbgrader: the ``course`` extra.
"""
