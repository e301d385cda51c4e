"""nbgrader reads only this file; the course's configuration is grader_config.py next to it.

nbgrader 0.9 ignores ``--config FILE``, and the formgrader in JupyterLab looks
for ``nbgrader_config.py`` in the directory it starts from. Keep this a stub:
put settings in grader_config.py.
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets' config loader)

_GRADER_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grader_config.py")
if not os.path.isfile(_GRADER_CONFIG):  # load_subconfig would skip a missing file silently
    raise FileNotFoundError(f"{_GRADER_CONFIG} is missing; nbgrader_config.py only loads it")
load_subconfig(_GRADER_CONFIG)  # noqa: F821
