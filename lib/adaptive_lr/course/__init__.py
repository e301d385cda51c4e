"""The instructor's side of the course: the nbgrader pipeline around the graded assignment.

``pipeline``     a course folder driven from Python (nbgrader as subprocesses)
``submissions``  sample submissions: solution, blank, mistakes, cheats
``gradebook``    scores per student, exercise and cell; the printed table
``release``      the committed release and whether it matches the source
``feedback``     the nbconvert preprocessor that hides hidden tests in feedback
``demo``         ``make demo``: the whole pipeline in a scratch folder
``batch``        ``adaptive-lr grade``: intake, workers (local or Dask), resume, report
``record``       one typed ``GradingRecord`` per submission; ``Status``; status precedence
``collect``      the producers of a record's fields, from what each stage wrote
``task``         one submission graded in a private scratch course (a worker's unit of work)
``transfer``     the assignment and a student's grades between gradebooks, as data
``resume``       the per-student record store and its checksum key
``report``       ``grading_report.csv``, the printed table and the class summary
``progress``     a tqdm bar on a terminal, one line per student otherwise
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
