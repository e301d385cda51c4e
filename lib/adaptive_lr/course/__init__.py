"""The instructor's side of the course: the nbgrader pipeline around the graded assignment.

``pipeline``     a course folder driven from Python (nbgrader as subprocesses)
``submissions``  sample submissions: solution, blank, mistakes, cheats
``gradebook``    scores per student, exercise and cell; the printed table
``release``      the committed release and whether it matches the source
``feedback``     the nbconvert preprocessor that hides hidden tests in feedback
``demo``         ``make demo``: the whole pipeline in a scratch folder

Imports nbformat, nbconvert and (lazily) nbgrader: the ``course`` extra.
"""
