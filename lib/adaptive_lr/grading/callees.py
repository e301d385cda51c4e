"""No double jeopardy: a graded function that calls another one is judged on its own logic.

``muon_update`` calls the student's ``newton_schulz``, ``lamb_update`` their
``trust_ratio``, ``shampoo_update`` their ``matrix_inverse_root``
(:data:`.api.CALLS`). When the caller fails its hidden test *and* the callee
fails its own, :func:`judge_function` runs the caller's cases again with a
:class:`StandIn` in the callee's place: a function that answers each call
with the referee's value for exactly those arguments. The values come over
the wire (the referee computes them in its own process), so the kernel never
runs the reference implementation: the tripwires stay quiet, and the
re-check kernel, which cannot even see the reference, works the same way.

A stand-in does not know the answers in advance: the first run records the
calls it could not answer (and returns a placeholder), the referee computes
those, and the run is repeated until every call is answered.

Kernel side (standard library and NumPy only).
"""

from __future__ import annotations

import hashlib

import numpy as np

from .api import CALLS, FUNCTIONS

_ROUNDS = 4


def _key(args: list, kwargs: dict) -> str:
    h = hashlib.sha256()
    for value in list(args) + [kwargs[k] for k in sorted(kwargs)]:
        if isinstance(value, np.ndarray):
            h.update(f"{value.dtype.str}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(repr(value).encode())
        h.update(b"|")
    return h.hexdigest()


class StandIn:
    """Takes the place of the student's callee ``name``: answers from ``table`` (key -> value)."""

    def __init__(self, name: str, table: dict):
        self.fn = FUNCTIONS[name]
        self.__name__ = name
        self.table = table
        self.missing: list = []
        self.calls = 0

    def _bind(self, args, kwargs):
        fn = self.fn
        names = list(fn.required) + [k for k, _ in fn.hyper]
        if len(args) > len(names):
            raise TypeError(f"{fn.name}() takes {len(names)} arguments but {len(args)} were given")
        bound = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names or k in bound:
                raise TypeError(f"{fn.name}() got an unexpected or repeated argument {k!r}")
            bound[k] = v
        missing = [k for k in fn.required if k not in bound]
        if missing:
            raise TypeError(f"{fn.name}() missing required argument {missing[0]!r}")
        required = [np.asarray(bound[k]) if isinstance(bound[k], (list, tuple)) else bound[k]
                    for k in fn.required]
        hyper = {k: bound.get(k, d) for k, d in fn.hyper}
        return required, hyper

    def __call__(self, *args, **kwargs):
        self.calls += 1
        required, hyper = self._bind(args, kwargs)
        required = [np.array(v) if isinstance(v, np.ndarray) else v for v in required]
        key = _key(required, hyper)
        first = next((v for v in required if isinstance(v, np.ndarray)), None)
        scalar = self.fn.outputs[0].kind == "scalar"
        answer = self.table.get(key)
        if answer is None:
            self.missing.append({"key": key, "args": required, "kwargs": hyper})
            return 1.0 if scalar or first is None else np.zeros_like(first)
        if "error" in answer:
            raise ValueError(answer["error"])
        value = answer["value"]
        if scalar:
            return float(value)
        dtype = first.dtype if first is not None and first.dtype.kind == "f" else np.float64
        return np.asarray(value).astype(dtype)


class standing_in:  # noqa: N801  (used as a function: ``with standing_in(func, stand_in):``)
    """While the block runs, ``func``'s module globals name ``stand_in`` in place of the callee.

    A class rather than a ``contextlib`` generator: :mod:`.integrity` checks this module's
    functions against their compiled bytecode, and a decorated generator is not one."""

    def __init__(self, func, stand_in: StandIn | None):
        namespace = getattr(func, "__globals__", None)
        self.namespace = namespace if stand_in is not None and isinstance(namespace, dict) else None
        self.stand_in = stand_in

    def __enter__(self):
        if self.namespace is not None:
            name = self.stand_in.__name__
            self.had, self.previous = name in self.namespace, self.namespace.get(name)
            self.namespace[name] = self.stand_in
        return self

    def __exit__(self, *exc):
        if self.namespace is not None:
            name = self.stand_in.__name__
            if self.had:
                self.namespace[name] = self.previous
            else:
                self.namespace.pop(name, None)
        return False


def judge_function(name: str, seed: int, run, ask) -> dict:
    """The verdict (wire form) on ``name`` for ``seed``, with no double jeopardy.

    ``run(function_name, cases, stand_in)`` runs the student's function on the
    cases (``stand_in`` is ``None`` or a :class:`StandIn` for its callee) and
    returns the results to judge; ``ask(request)`` sends a request to the
    referee and returns its reply.
    """
    cases = ask({"op": "cases", "name": name, "seed": seed})["cases"]
    results = run(name, cases, None)
    verdict = ask({"op": "judge", "name": name, "seed": seed, "results": results})
    callee = CALLS.get(name)
    if verdict["passed"] or callee is None or any(r.get("oracle") for r in results):
        return verdict
    callee_cases = ask({"op": "cases", "name": callee, "seed": seed})["cases"]
    callee_verdict = ask({"op": "judge", "name": callee, "seed": seed,
                          "results": run(callee, callee_cases, None)})
    if callee_verdict["passed"]:
        return verdict
    table: dict = {}
    for _ in range(_ROUNDS):
        stand_in = StandIn(callee, table)
        substituted = run(name, cases, stand_in)
        if stand_in.calls == 0 or any(r.get("oracle") for r in substituted):
            return verdict  # the caller does not call the callee by its name: nothing to replace
        if not stand_in.missing:
            break
        table.update(ask({"op": "callee", "name": callee, "calls": stand_in.missing})["values"])
    else:
        return verdict
    failed = f"{callee_verdict.get('failed_cases', 0)} of {callee_verdict.get('cases', 0)}"
    return ask({"op": "judge", "name": name, "seed": seed, "results": substituted,
                "substituted": {"callee": callee, "own_results": results, "callee_failed": failed}})
