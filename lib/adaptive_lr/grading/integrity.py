"""Check, before a test runs, that what the kernel-side grader relies on is genuine.

The verdicts come from the referee process, so the notebook cannot change
what is expected or how it is compared. What runs in the kernel is the
plumbing: the Python builtins, a few standard-library functions (``json``,
``subprocess``, ``inspect``, ``warnings``, ``contextlib``) and this package's
kernel-side modules. :func:`verify` refuses to grade when any of them has
been replaced:

* a builtin must still be the C function of the ``builtins`` module with that
  name (a Python function put in its place is not);
* a standard-library function must still be the one compiled from its
  module's file;
* every function of the grader's kernel-side modules must have the bytecode
  compiled afresh from its file on disk.

The test cell then fails with a message saying that the kernel was modified
and should be restarted. This is a tripwire, not a sandbox: code that runs in
the student's kernel can in principle rewrite anything in it. The sandbox and
the out-of-kernel checks are the job of the hostile-submission layer.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import json
import os
import subprocess
import sys
import types
import warnings

_BUILTIN_FUNCTION = type([].append)
_FUNCTION = type(lambda: None)
_HERE = os.path.dirname(os.path.abspath(__file__))
_KERNEL_MODULES = ("api", "callees", "check", "guard", "hidden", "integrity", "verdict", "wire")

_BUILTIN_NAMES = (
    "abs", "all", "any", "callable", "compile", "exec", "getattr", "hasattr", "isinstance", "iter",
    "len", "max", "min", "next", "open", "print", "repr", "setattr", "sorted", "sum", "__import__",
)
_BUILTIN_TYPES = {
    "float": type(0.0), "int": type(0), "bool": type(True), "str": type(""), "list": type([]),
    "tuple": type(()), "dict": type({}), "set": type(set()), "type": type(type), "range": type(range(0)),
    "zip": type(zip()), "enumerate": type(enumerate(())), "bytes": type(b""),
}
_STDLIB = (
    (json, ("dumps", "loads")),
    (subprocess, ("Popen",)),
    (inspect, ("signature",)),
    (warnings, ("catch_warnings", "simplefilter")),
    (contextlib, ("redirect_stdout", "redirect_stderr", "ExitStack")),
)


class TamperingDetected(AssertionError):
    """The kernel's builtins, standard library or the grader itself were replaced."""


def _fingerprint(code) -> tuple:
    consts = tuple(
        _fingerprint(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts
    )
    return (code.co_code, code.co_names, code.co_varnames, consts)


_FRESH: dict = {}


def _fresh_functions(module_name: str) -> dict:
    """qualname -> fingerprint of every function in the module's file, compiled afresh."""
    if module_name not in _FRESH:
        path = os.path.join(_HERE, module_name + ".py")
        with open(path, encoding="utf-8") as f:
            top = compile(f.read(), path, "exec")
        found = {}
        stack = [top]
        while stack:
            code = stack.pop()
            for c in code.co_consts:
                if isinstance(c, types.CodeType):
                    if "<" not in c.co_qualname and c.co_flags & inspect.CO_OPTIMIZED:
                        found[c.co_qualname] = _fingerprint(c)
                    stack.append(c)
        _FRESH[module_name] = found
    return _FRESH[module_name]


def _python_functions_of(obj):
    if isinstance(obj, _FUNCTION):
        yield obj
    elif isinstance(obj, type):
        for klass in obj.__mro__:
            if klass.__module__ == "builtins":
                continue
            for value in vars(klass).values():
                value = _unwrap(value)
                if isinstance(value, _FUNCTION):
                    yield value


def _unwrap(value):
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    if isinstance(value, property):
        return value.fget
    return value


def problems() -> list[str]:
    """What has been replaced, as readable lines (empty when all is genuine)."""
    found = []
    for name in _BUILTIN_NAMES:
        obj = getattr(builtins, name, None)
        owner = getattr(obj, "__self__", None)
        home = ("io", "_io") if name == "open" else ("builtins",)
        if not (type(obj) is _BUILTIN_FUNCTION and getattr(obj, "__name__", None) == name
                and getattr(owner, "__name__", None) in home):
            found.append(f"builtins.{name}")
    for name, typ in _BUILTIN_TYPES.items():
        if getattr(builtins, name, None) is not typ:
            found.append(f"builtins.{name}")
    for module, names in _STDLIB:
        folder = os.path.dirname(os.path.abspath(getattr(module, "__file__", "") or ""))
        for name in names:
            obj = getattr(module, name, None)
            funcs = list(_python_functions_of(obj))
            genuine = (
                isinstance(obj, (_FUNCTION, type))
                and getattr(obj, "__module__", None) == module.__name__
                and all(os.path.dirname(os.path.abspath(f.__code__.co_filename)) == folder for f in funcs)
            )
            if not genuine:
                found.append(f"{module.__name__}.{name}")
    package = __name__.rsplit(".", 1)[0]
    for short in _KERNEL_MODULES:
        module = sys.modules.get(f"{package}.{short}")
        if module is None:
            continue
        fresh = _fresh_functions(short)
        for qualname, fp in fresh.items():
            head, _, tail = qualname.partition(".")
            obj = module.__dict__.get(head)
            if tail:
                obj = _unwrap(vars(obj).get(tail)) if isinstance(obj, type) and "." not in tail else None
                if obj is None:
                    continue  # a nested function, checked through its parent's bytecode
            if not isinstance(obj, _FUNCTION) or _fingerprint(obj.__code__) != fp:
                found.append(f"{package}.{short}.{qualname}")
    return found


def verify() -> None:
    """Raise :class:`TamperingDetected` when the grader's plumbing was replaced in this kernel."""
    __tracebackhide__ = True
    bad = problems()
    if bad:
        raise TamperingDetected(
            "The grader cannot trust this kernel: "
            + ", ".join(bad[:6])
            + (" and more" if len(bad) > 6 else "")
            + " were replaced by code in the notebook. Remove the cell that does it, restart the "
            "kernel and run all cells again. (0 points for this test.)"
        )
