"""adaptive_lr: reference adaptive optimizers, objectives and diagnostics for the course.

``adaptive_lr.optim`` holds the update rules (the grading oracle). The other
modules build on it: ``objectives`` (problems with value and gradient),
``run`` and ``diagnostics`` (trajectories and what to log), ``viz`` (the only
module that imports matplotlib and ipywidgets) and ``grading`` (what the
exercise tests call).
"""

__version__ = "0.1.0"
