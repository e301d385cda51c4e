"""What the exercise notebook's test cells call.

Visible tests use :mod:`.check` (signature, guarded call, output structure,
pure-Python comparisons with messages that name the likely mistake). Hidden
tests call :func:`hidden_test` and :func:`hidden_number`, which send the
student's results to the referee (:mod:`.referee`): a separate, clean Python
process that generates the hidden cases, computes the expected values with
``adaptive_lr.optim`` and writes the verdict. See ``autograded/README.md`` for
how the pieces fit and what each one protects against.

Kernel side (imported in the notebook): ``api``, ``check``, ``guard``,
``hidden``, ``integrity``, ``wire``. Referee side: ``referee``, ``cases``,
``compare``, ``mistakes``. The kernel side never imports the oracle.
In IPython, :mod:`.display` makes a failing test show its message first,
without this package's frames.
"""

from . import check, display
from .hidden import hidden_number, hidden_test

display.install()

__all__ = ["check", "hidden_number", "hidden_test"]
