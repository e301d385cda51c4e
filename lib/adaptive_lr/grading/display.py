"""How a failing test cell looks in the notebook: the verdict first, no grading internals.

A visible test's verdict is an ``AssertionError`` raised inside this package
(``check.close``, ``check.outputs`` ...). Shown by IPython's default handler,
it would come under frames of ``grading/check.py`` and ``grading/guard.py``
(absolute paths, the ``raise AssertionError(f"...")`` line) and above them the
test cell's line. :func:`install` registers an IPython exception handler that

* shows a verdict as its message, then the line of the test cell that failed;
* shows any other error (a bug in the student's function, which ``check.call``
  lets through unchanged) with IPython's usual traceback, less the frames of
  this package, so the student's own frames are what remains.

It only changes what is displayed: the cell still fails with the same
exception, so nbgrader's Validate and autograde score it exactly as before.
Outside IPython (pytest, a plain script) nothing is installed.
"""

from __future__ import annotations

import linecache
import os
import sys
import types

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_RED, _RESET = "\x1b[0;31m", "\x1b[0m"


def _internal(frame) -> bool:
    return os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE)


def _frames(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def without_internal_frames(tb):
    """The traceback ``tb`` with the frames of this package left out (None if nothing is left)."""
    kept = [t for t in _frames(tb) if not _internal(t.tb_frame)]
    new = None
    for t in reversed(kept):
        new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return new


def is_verdict(etype, tb) -> bool:
    """An AssertionError raised by this package (the innermost frame is one of its modules)."""
    frames = list(_frames(tb))
    return issubclass(etype, AssertionError) and bool(frames) and _internal(frames[-1].tb_frame)


def verdict_lines(value, tb) -> list[str]:
    """The message, then where in the cell the failing check is."""
    lines = [f"{_RED}{type(value).__name__}{_RESET}: {value}"]
    cell = [t for t in _frames(tb) if not _internal(t.tb_frame)]
    if cell:
        last = cell[-1]
        code = linecache.getline(last.tb_frame.f_code.co_filename, last.tb_lineno).strip()
        lines += ["", f"(the check at line {last.tb_lineno} of this cell: {code})"]
    return lines


def _handler(shell, etype, value, tb, tb_offset=None):
    if not is_verdict(etype, tb):
        # IPython's own display (syntax and usage errors included), less this package's frames.
        trimmed = without_internal_frames(tb) if tb is not None else None
        shell.showtraceback((etype, value, trimmed if trimmed is not None else tb))
        return None
    stb = verdict_lines(value, tb)
    shell._showtraceback(etype, value, stb)
    return stb


def install(shell=None) -> bool:
    """Register the handler in the running IPython shell (once); False outside IPython."""
    if shell is None:
        # No IPython imported, no shell running: nothing to install, and importing IPython
        # here would cost the referee process (which imports this package) a third of a second.
        if "IPython" not in sys.modules:
            return False
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if getattr(shell, "_adaptive_lr_display", False):
        return True
    if tuple(getattr(shell, "custom_exceptions", ())):
        return False  # someone else's handler: leave it in place
    shell.set_custom_exc((Exception,), _handler)
    shell._adaptive_lr_display = True
    return True
