"""The grading table is the one declaration of a graded function, and agrees with adaptive_lr.optim."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from adaptive_lr import optim
from adaptive_lr.grading import api, cases, check, referee
from adaptive_lr.grading.api import EXERCISES, FUNCTIONS, Output
from adaptive_lr.grading.facts import disagreements


def test_the_grading_table_agrees_with_optim():
    assert disagreements(FUNCTIONS, EXERCISES, optim) == []


def _with(name, **changes):
    return {**FUNCTIONS, name: FUNCTIONS[name]._replace(**changes)}


def _mismatches():
    adam, ams = FUNCTIONS["adam_update"], FUNCTIONS["amsgrad_update"]
    yield "default", _with("adam_update", hyper=(("lr", 1e-2),) + adam.hyper[1:]), "lr defaults to 0.01"
    yield "order", _with("adam_update", required=("theta", "grad", "v", "m", "t")), "parameters theta, grad, v, m"
    yield ("required", _with("ema_update", required=("m", "grad"), hyper=(("beta", 0.9),)),
           "beta defaults to 0.9 in the table, no default")
    yield ("state name", _with("adam_update", outputs=adam.outputs[:2] + (Output("s", "state", ""),)),
           "from the adam spec")
    yield ("state order", _with("amsgrad_update", outputs=(ams.outputs[0], ams.outputs[3]) + ams.outputs[1:3]),
           "from the amsgrad spec")
    yield "param kind", _with("muon_update", outputs=(FUNCTIONS["muon_update"].outputs[0]._replace(kind="value"),)
                              + FUNCTIONS["muon_update"].outputs[1:]), "from the muon spec"
    yield "smoke", _with("adam_update", smoke=adam.smoke[:-1]), "4 smoke inputs for 5"
    yield "fill", _with("trust_ratio", smoke=(api.Array("empty", (2,)), api.Array("ones", (2,)))), "fills"
    yield "exercise", _with("ema_weights", exercise=3), "exercise 2"
    yield "no oracle", {**FUNCTIONS, "adan_update": adam._replace(name="adan_update")}, "no function adan_update"
    yield "name", {**FUNCTIONS, "adam_update": ams}, "named amsgrad_update"


@pytest.mark.parametrize("label, table, finding", list(_mismatches()), ids=[m[0] for m in _mismatches()])
def test_a_mismatch_is_named(label, table, finding):
    found = disagreements(table, EXERCISES, optim)
    assert any(finding in f for f in found), found


def test_a_function_without_a_case_generator_is_refused():
    table = {**FUNCTIONS, "adan_update": FUNCTIONS["adam_update"]._replace(name="adan_update")}
    with pytest.raises(ImportError, match="adan_update"):
        cases._generators(table, vars(cases))
    assert cases._generators(FUNCTIONS, vars(cases)).keys() == FUNCTIONS.keys()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_smoke_inputs_are_a_valid_call(name):
    args = [check._materialized(v) for v in FUNCTIONS[name].smoke]
    out = getattr(optim, name)(*args)
    assert all(np.all(np.isfinite(o)) for o in (out if isinstance(out, tuple) else (out,)))


def test_smoke_inputs_are_materialized_as_declared():
    assert np.array_equal(check._materialized(api.Array("eye", (2,), 4.0)), 4.0 * np.eye(2))
    zeros = check._materialized(api.Array("zeros", (2, 3)))
    assert zeros.shape == (2, 3) and zeros.dtype == np.float64 and not zeros.any()
    assert check._materialized(0.9) == 0.9


def test_check_runs_uses_the_smoke_inputs():
    seen = []

    def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        seen.append([a.tolist() if isinstance(a, np.ndarray) else a for a in (theta, grad, m, v, t)])
        return theta, m, v

    check.runs(adam_update, "adam_update")
    assert seen == [[[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], 1]]


def test_float32_tolerance_widens_by_the_declared_factor():
    for name, fn in FUNCTIONS.items():
        assert referee._rtol(name, "float32") == referee._rtol("adam_update", "float32") * fn.f32_factor
        assert referee._rtol(name, "float64") == referee._rtol("adam_update", "float64")
    assert FUNCTIONS["newton_schulz"].f32_factor == 5.0 and FUNCTIONS["adam_update"].f32_factor == 1.0


def test_the_table_imports_nothing_but_the_standard_library():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import importlib.util as u; "
            "spec = u.spec_from_file_location('api', sys.argv[1] + '/adaptive_lr/grading/api.py'); "
            "m = u.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('numpy', 'adaptive_lr')))")
    lib = str(__import__("pathlib").Path(api.__file__).parents[2])
    out = subprocess.run([sys.executable, "-c", code, lib], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
