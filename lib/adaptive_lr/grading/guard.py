"""Run a student's function in the notebook's kernel so that using the oracle is caught.

While the student's function runs, three tripwires are armed:

1. every function defined in ``adaptive_lr/optim`` that is loaded in the kernel
   has its ``__code__`` swapped for a tripwire, so a call through *any*
   reference to it (``from adaptive_lr.optim import adam_update`` at the top of
   the notebook, an alias, a ``functools.partial``, a ``make_optimizer`` step)
   is recorded and raises;
2. a profiler (``sys.setprofile``) records every Python frame whose code lives
   in ``adaptive_lr/optim`` (a reloaded or re-imported copy of the module), or
   whose bytecode is that of an exercise function of the oracle (a copy of its
   code object under another file name);
3. the profiler must still be ours when the call returns.

The call also runs with NumPy floating-point warnings and Python warnings
silenced and with ``sys.stdout``/``sys.stderr`` captured: nbgrader scores a
test cell 0 as soon as anything reaches stderr, and a student's stray warning
or print should cost the points of a wrong answer, not of a noisy one. NaN and
infinity in the results are judged like any other wrong number.

Inputs are fingerprinted (their bytes) before the call and compared after it:
a function that modifies an argument in place is reported by name.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import types
import warnings

import numpy as np

from .api import FUNCTIONS

_NDARRAY = np.ndarray
_GENERIC = np.generic
_HERE = os.path.dirname(os.path.abspath(__file__))
OPTIM_DIR = os.path.join(os.path.dirname(_HERE), "optim") + os.sep
_MARK = "__adaptive_lr_tripwire__"


class ReferenceCalled(RuntimeError):
    """Raised inside a student's function when it calls the reference implementation."""


class OracleCallError(AssertionError):
    """A test's verdict: the student's function calls the reference implementation.

    A test cell fails with this error type (``ename`` in the autograded
    notebook), so the batch records the call as data, whichever test saw it.
    """


def _tripwire(*args, **kwargs):  # its code object is copied onto the oracle's functions
    __adaptive_lr_tripwire__()  # noqa: F821  (looked up in the oracle module's globals)


_FINGERPRINTS: set | None = None


def _fingerprint(code) -> tuple:
    consts = tuple(repr(c) for c in code.co_consts if not isinstance(c, types.CodeType))
    return (code.co_code, code.co_names, code.co_varnames, consts)


def oracle_fingerprints() -> set:
    """Bytecode fingerprints of the oracle's exercise functions, compiled afresh from its files."""
    global _FINGERPRINTS
    if _FINGERPRINTS is None:
        prints = set()
        wanted = set(FUNCTIONS)
        try:
            names = sorted(os.listdir(OPTIM_DIR))
        except OSError:
            names = []
        for fname in names:
            if not fname.endswith(".py"):
                continue
            path = os.path.join(OPTIM_DIR, fname)
            try:
                with open(path, encoding="utf-8") as f:
                    top = compile(f.read(), path, "exec")
            except (OSError, SyntaxError):
                continue
            stack = [top]
            while stack:
                code = stack.pop()
                for c in code.co_consts:
                    if isinstance(c, types.CodeType):
                        if c.co_name in wanted:
                            prints.add(_fingerprint(c))
                        stack.append(c)
        _FINGERPRINTS = prints
    return _FINGERPRINTS


# Answers of _in_oracle for absolute file names (a relative one depends on the working
# directory, so it is resolved each time). The profiler asks for every call the student's
# function makes, and _oracle_functions for every loaded module, on every guarded call.
_ORACLE_FILE: dict = {}
# id(module) -> (module, is it an oracle module, its __file__ then): a kernel holds about a
# thousand modules, and resolving each one's file on each of a notebook's ~400 guarded calls
# took seconds.
# A module once seen as the oracle's stays one, even should its __file__ change.
_ORACLE_MODULE: dict = {}


def _in_oracle(filename: str) -> bool:
    if not isinstance(filename, str):
        return False
    known = _ORACLE_FILE.get(filename)
    if known is not None:
        return known
    inside = os.path.abspath(filename).startswith(OPTIM_DIR)
    if os.path.isabs(filename):
        _ORACLE_FILE[filename] = inside
    return inside


def _is_oracle_module(module, namespace: dict) -> bool:
    """Whether ``module`` (its ``__dict__`` is ``namespace``) was loaded from adaptive_lr/optim."""
    # The file is read from the namespace: getattr on a module can run its __getattr__.
    filename = namespace.get("__file__")
    seen = _ORACLE_MODULE.get(id(module))
    if seen is not None and seen[0] is module and (seen[1] or seen[2] is filename):
        return seen[1]
    inside = _in_oracle(filename or "")
    _ORACLE_MODULE[id(module)] = (module, inside, filename)
    return inside


def _oracle_functions():
    """Every function object defined in adaptive_lr/optim that a loaded module holds."""
    found = {}
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        if not _is_oracle_module(module, namespace):
            continue
        for value in list(namespace.values()):
            if isinstance(value, types.FunctionType) and _in_oracle(value.__code__.co_filename):
                found[id(value)] = (value, module)
    return list(found.values())


class Tripwires:
    """Context manager: arm the three tripwires, collect what they saw in ``events``."""

    def __init__(self):
        self.events: list[str] = []
        self._swapped = []
        self._marked = []
        self._previous_profile = None
        self._prints = oracle_fingerprints()
        self._seen: dict = {}

    # -- recorder called by the swapped code objects ------------------------
    def _record(self):
        frame = sys._getframe(1)
        module = frame.f_globals.get("__name__", "adaptive_lr.optim")
        self.events.append(f"{module}.{frame.f_code.co_qualname}")
        raise ReferenceCalled(
            f"{frame.f_code.co_qualname} is the reference implementation; "
            "the exercise asks you to write it yourself"
        )

    def _profile(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            if _in_oracle(code.co_filename):
                self.events.append(f"{os.path.basename(code.co_filename)}:{code.co_qualname}")
            else:
                copied = self._seen.get(code)
                if copied is None:
                    copied = self._seen[code] = _fingerprint(code) in self._prints
                if copied:
                    self.events.append(f"a copy of the reference's {code.co_qualname}")

    def __enter__(self):
        for fn, module in _oracle_functions():
            if fn.__code__.co_freevars:
                continue  # closures are caught by the profiler
            namespace = fn.__globals__  # where the tripwire's code looks the recorder up
            if _MARK not in namespace:
                namespace[_MARK] = self._record
                self._marked.append(namespace)
            trip = _tripwire.__code__.replace(co_name=fn.__name__, co_qualname=fn.__qualname__)
            self._swapped.append((fn, fn.__code__))
            fn.__code__ = trip
        self._previous_profile = sys.getprofile()
        self._hook = self._profile  # one bound-method object, to recognise it afterwards
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc):
        current = sys.getprofile()
        sys.setprofile(self._previous_profile)
        if current is not self._hook:
            self.events.append("sys.setprofile (the function replaced the grader's profiler)")
        for fn, code in reversed(self._swapped):
            fn.__code__ = code
        for namespace in self._marked:
            namespace.pop(_MARK, None)
        return False


class Result:
    """What one guarded call produced."""

    __slots__ = ("status", "value", "exception", "error", "oracle", "mutated", "printed")

    def __init__(self):
        self.status = "ok"
        self.value = None
        self.exception = None
        self.error = ""
        self.oracle: list[str] = []
        self.mutated: list[str] = []
        self.printed = ""


def _snapshot(x):
    if isinstance(x, _NDARRAY):
        return (x.shape, x.dtype.str, x.tobytes())
    return None


def run(func, args, kwargs, names=None) -> Result:
    """Call ``func(*args, **kwargs)`` with the tripwires armed and the output captured."""
    names = list(names) if names is not None else [f"argument {i + 1}" for i in range(len(args))]
    named = list(zip(names, args)) + list(kwargs.items())
    before = [(n, _snapshot(a)) for n, a in named]
    result = Result()
    out, err = io.StringIO(), io.StringIO()
    wires = Tripwires()
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            stack.enter_context(np.errstate(all="ignore"))
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            stack.enter_context(wires)
            result.value = func(*args, **kwargs)
    except NotImplementedError as exc:
        result.status, result.exception = "not_implemented", exc
        result.error = f"NotImplementedError: {exc}".rstrip(": ")
    except Exception as exc:  # the student's bug, reported in the verdict
        result.status, result.exception = "error", exc
        result.error = f"{type(exc).__name__}: {exc}"
    result.oracle = wires.events
    result.printed = (out.getvalue() + err.getvalue())[:2000]
    for (name, snap), (_, arg) in zip(before, named):
        if snap is not None and _snapshot(arg) != snap:
            result.mutated.append(name)
    return result


def describe(value, depth=0):
    """A wire-safe description of whatever a student's function returned."""
    if isinstance(value, _NDARRAY):
        if value.dtype.kind in "biufc":
            return {"kind": "array", "data": np.array(value, copy=True)}
        return {"kind": "other", "type": f"numpy array of dtype {value.dtype}"}
    if isinstance(value, _GENERIC):
        if value.dtype.kind in "biufc":
            return {"kind": "numpy_scalar", "type": type(value).__name__, "data": np.asarray(value)}
        return {"kind": "other", "type": type(value).__name__}
    if isinstance(value, bool):
        return {"kind": "other", "type": "bool"}
    if isinstance(value, (int, float)):
        return {"kind": "number", "type": type(value).__name__, "value": float(value)}
    if isinstance(value, (tuple, list)) and depth == 0:
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"kind": kind, "items": [describe(v, depth + 1) for v in list(value)[:16]], "length": len(value)}
    if isinstance(value, (tuple, list)):
        return {"kind": "other", "type": type(value).__name__}
    if value is None:
        return {"kind": "none"}
    t = type(value)
    return {"kind": "other", "type": f"{t.__module__}.{t.__qualname__}"}
