"""Cheating submissions, in-process: each trick must fail the hidden test with a clear message.

(The same tricks run through nbgrader in test_pipeline.py; these are the
fast, finer-grained versions, with more variants.)
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import sys
import types

import numpy as np
import pytest

import adaptive_lr.optim as optim
import adaptive_lr.optim.adam as optim_adam
from adaptive_lr.grading import check, guard, hidden_test, integrity

SEED = 4242
ORACLE_MESSAGE = "reference implementation"


def _student_adam(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def _wrong_adam(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * m / (np.sqrt(v) + eps), m, v  # no bias correction


def test_honest_student_passes():
    hidden_test("adam_update", _student_adam, seed=SEED)


def _cheat_by_alias():
    return optim.adam_update


def _cheat_by_module_import():
    def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        from adaptive_lr.optim import adam_update as ref

        return ref(theta, grad, m, v, t, lr, beta1, beta2, eps)

    return adam_update


def _cheat_by_captured_reference():
    ref = optim_adam.adam_update

    def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return ref(theta, grad, m, v, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps)

    return adam_update


def _cheat_by_partial():
    return functools.partial(optim.adam_update)


def _cheat_by_registry():
    opt = optim.make_optimizer("adam")

    def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        hp = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps)
        new, (m2, v2) = optim.make_optimizer("adam", **hp).step(theta, grad, (m, v), t)
        return new, m2, v2

    return adam_update if opt else None


def _cheat_by_reloaded_copy():
    spec = importlib.util.spec_from_file_location("_copy_of_adam", optim_adam.__file__)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "adaptive_lr.optim"
    spec.loader.exec_module(module)
    return module.adam_update


def _cheat_by_copied_code_object():
    code = optim_adam.adam_update.__code__.replace(co_filename="<my own work>")
    copy = types.FunctionType(code, optim_adam.__dict__, "adam_update", optim_adam.adam_update.__defaults__)
    copy.__kwdefaults__ = optim_adam.adam_update.__kwdefaults__  # a faithful copy (fast=False)
    return copy


def _cheat_by_disabling_the_profiler():
    ref = types.FunctionType(optim_adam.adam_update.__code__, optim_adam.__dict__, "adam_update",
                             optim_adam.adam_update.__defaults__)

    def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        sys.setprofile(None)
        return ref(theta, grad, m, v, t, lr, beta1, beta2, eps)

    return adam_update


CHEATS = {
    "alias": _cheat_by_alias,
    "import-inside": _cheat_by_module_import,
    "captured-reference": _cheat_by_captured_reference,
    "partial": _cheat_by_partial,
    "registry-step": _cheat_by_registry,
    "reloaded-copy": _cheat_by_reloaded_copy,
    "copied-code-object": _cheat_by_copied_code_object,
    "disables-profiler": _cheat_by_disabling_the_profiler,
}


@pytest.mark.parametrize("how", sorted(CHEATS))
def test_calling_the_oracle_scores_zero(how):
    cheat = CHEATS[how]()
    with pytest.raises(AssertionError) as err:
        hidden_test("adam_update", cheat, seed=SEED)
    message = str(err.value)
    assert "reference implementation" in message or "disables the check" in message, message
    # the tripwires are gone afterwards: the oracle works and the profiler is restored
    assert sys.getprofile() is None or not isinstance(getattr(sys.getprofile(), "__self__", None), guard.Tripwires)
    theta, m, v = optim.adam_update(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), 1)
    assert np.allclose(theta, 1 - 1e-3)


@pytest.mark.parametrize("how", ["alias", "captured-reference", "reloaded-copy"])
def test_visible_checks_catch_the_oracle_too(how):
    with pytest.raises(AssertionError, match=ORACLE_MESSAGE):
        check.call(CHEATS[how](), np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), 1)
    with pytest.raises(AssertionError, match=ORACLE_MESSAGE):
        check.runs(CHEATS[how](), "adam_update")


@pytest.fixture
def restore(monkeypatch):
    """Undo whatever a test patches on numpy, the oracle and builtins."""
    yield monkeypatch


def test_replacing_the_oracle_and_numpy_comparisons_does_not_help(restore):
    """A wrong function that also replaces the reference by itself and np.allclose & co. by 'always equal'."""
    restore.setattr(optim, "adam_update", _wrong_adam)
    restore.setattr(optim_adam, "adam_update", _wrong_adam)
    restore.setattr(np, "allclose", lambda *a, **k: True)
    restore.setattr(np, "isclose", lambda a, b, *r, **k: np.ones(np.shape(a), bool))
    restore.setattr(np, "array_equal", lambda *a, **k: True)
    restore.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    restore.setattr(np.testing, "assert_array_almost_equal", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="bias correction missing"):
        hidden_test("adam_update", _wrong_adam, seed=SEED)
    with pytest.raises(AssertionError, match="theta after the first step"):
        theta = check.call(_wrong_adam, np.array([1.0, -2.0]), np.array([0.5, -0.1]), np.zeros(2), np.zeros(2), 1,
                           lr=0.1)[0]
        check.close(theta, [0.9, -1.9], "theta after the first step")
    # and the honest student still passes in the same, patched kernel
    hidden_test("adam_update", _student_adam, seed=SEED)


def test_replacing_the_oracle_code_object_does_not_help(restore):
    restore.setattr(optim_adam.adam_update, "__code__", _wrong_adam.__code__)
    with pytest.raises(AssertionError):
        hidden_test("adam_update", _wrong_adam, seed=SEED)


@pytest.mark.parametrize("target", ["abs", "sum", "print", "sorted"])
def test_patched_builtins_are_detected(target):
    original = getattr(builtins, target)
    setattr(builtins, target, lambda *a, **k: 0)
    try:
        found = integrity.problems()
    finally:
        setattr(builtins, target, original)
    assert f"builtins.{target}" in found
    assert integrity.problems() == []


@pytest.mark.parametrize("module, name", [
    ("adaptive_lr.grading.guard", "run"),
    ("adaptive_lr.grading.guard", "describe"),
    ("adaptive_lr.grading.wire", "decode"),
    ("adaptive_lr.grading.check", "close"),
    ("json", "loads"),
    ("subprocess", "Popen"),
])
def test_patched_grader_plumbing_is_detected(restore, module, name):
    mod = sys.modules[module] if module in sys.modules else importlib.import_module(module)
    restore.setattr(mod, name, lambda *a, **k: None)
    with pytest.raises(integrity.TamperingDetected, match="restart the kernel"):
        hidden_test("adam_update", _student_adam, seed=SEED)


def test_swapped_code_of_a_grader_function_is_detected(restore):
    from adaptive_lr.grading import compare  # referee side: irrelevant in the kernel, not checked

    restore.setattr(check.close, "__code__", (lambda *a, **k: None).__code__)
    with pytest.raises(integrity.TamperingDetected):
        integrity.verify()
    assert compare  # imported only to show the referee-side module is not part of the check


def test_the_referee_is_a_separate_clean_process():
    """Expected values come from another interpreter: patching this process cannot reach them."""
    from adaptive_lr.grading import hidden

    hidden.request({"op": "ping"})
    proc = hidden._STATE["proc"]
    assert proc.poll() is None and proc.pid != __import__("os").getpid()
    assert "-I" in proc.args


# -- the tripwires' caches (guard._ORACLE_FILE, guard._ORACLE_MODULE) never let a call through --

def _run(func):
    return guard.run(func, [np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), 1], {},
                     ["theta", "grad", "m", "v", "t"])


def test_an_oracle_module_whose_file_is_renamed_after_a_guarded_call_is_still_tripped(monkeypatch):
    assert _run(_cheat_by_alias()).oracle  # the module is now known as the oracle's
    monkeypatch.setattr(optim_adam, "__file__", "/somewhere/else.py")
    assert _run(_cheat_by_alias()).oracle


def test_a_relative_file_name_is_resolved_in_each_calls_working_directory(monkeypatch, tmp_path):
    code = optim_adam.adam_update.__code__.replace(co_filename="adam.py")
    copy = types.FunctionType(code, optim_adam.__dict__, "adam_update",
                              optim_adam.adam_update.__defaults__)
    copy.__kwdefaults__ = optim_adam.adam_update.__kwdefaults__
    monkeypatch.chdir(tmp_path)
    elsewhere = _run(copy).oracle  # caught as a copy of the reference's bytecode, not by its file
    assert all("adam.py:" not in e for e in elsewhere), elsewhere
    monkeypatch.chdir(guard.OPTIM_DIR)
    assert any("adam.py:" in e for e in _run(copy).oracle)
