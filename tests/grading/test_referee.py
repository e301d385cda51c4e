"""The hidden tests' engine, in-process: cases, tolerances, mistakes named, correct variants accepted.

These run the real referee process (through ``hidden_test``) but no notebook,
so they are fast. The seeds are the ones in the source notebook plus others:
the catalogue of mistakes must be caught whatever the seed.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from adaptive_lr import optim
from adaptive_lr.grading import check, hidden_number, hidden_test
from adaptive_lr.grading import guard
from adaptive_lr.grading.api import FUNCTIONS
from adaptive_lr.grading.cases import make_cases
from adaptive_lr.grading.mistakes import MISTAKES, runnable
from adaptive_lr.grading.referee import judge

from .conftest import REPO

SEEDS = (12345, 777)


def _notebook_seeds() -> dict:
    text = (REPO / "source" / "adaptive_lr" / "exercises.ipynb").read_text()
    return {name: int(seed) for name, seed in re.findall(r'hidden_test\(\\"(\w+)\\", \w+, seed=(\d+)\)', text)}


NOTEBOOK_SEEDS = _notebook_seeds()


def test_every_function_has_a_hidden_test_in_the_notebook():
    assert set(NOTEBOOK_SEEDS) == set(FUNCTIONS)
    assert len(set(NOTEBOOK_SEEDS.values())) == len(NOTEBOOK_SEEDS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_cases_are_deterministic_valid_and_quiet(name):
    a, b = make_cases(name, 5), make_cases(name, 5)
    assert len(a) >= 9
    for x, y in zip(a, b):
        assert x["label"] == y["label"]
        for (_, u), (_, v) in zip(x["args"], y["args"]):
            assert np.array_equal(u, v) if isinstance(u, np.ndarray) else u == v
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for case in a + make_cases(name, 6):
            args = [np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v for _, v in case["args"]]
            out = getattr(optim, name)(*args, **case["kwargs"])
            for o in (out if isinstance(out, tuple) else (out,)):
                assert np.all(np.isfinite(o)), case["label"]


@pytest.mark.parametrize("seed", (None,) + SEEDS)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_notebook_solution_passes(solution_namespace, name, seed, capsys):
    seed = NOTEBOOK_SEEDS[name] if seed is None else seed
    hidden_test(name, solution_namespace[name], seed=seed)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "hidden cases match the reference" in out, out


def _alternatives():
    """Correct implementations written differently from the solution (and from the oracle)."""

    def adam_update(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        # torch's rearrangement: step size and denominator corrected separately
        m = m * beta1 + grad * (1.0 - beta1)
        v = v * beta2 + (1.0 - beta2) * grad * grad
        bc1, bc2 = 1.0 - beta1**t, 1.0 - beta2**t
        denom = np.sqrt(v) / np.sqrt(bc2) + eps
        return theta - (lr / bc1) * m / denom, m, v

    def amsgrad_update(theta, grad, m, v, vmax, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = m + (1 - beta1) * (grad - m)
        v = v + (1 - beta2) * (grad**2 - v)
        vmax = np.where(v > vmax, v, vmax)
        return theta - lr / (1 - beta1**t) * m / (np.sqrt(vmax) / (1 - beta2**t) ** 0.5 + eps), m, v, vmax

    def adafactor_update(X, G, R, C, t, lr=1e-2, beta2_decay=-0.8, eps1=1e-30, eps2=1e-3, d=1.0):
        beta2 = 1.0 - t**beta2_decay
        n, m = X.shape
        R = beta2 * R + (1 - beta2) * np.einsum("ij,ij->i", G, G) / m
        C = beta2 * C + (1 - beta2) * np.einsum("ij,ij->j", G, G) / n
        V = R[:, None] * C[None, :] / max(R.sum() / n, eps1)
        U = G * (1.0 / np.sqrt(np.maximum(V, eps1 * eps1)))
        rms_u = np.linalg.norm(U) / np.sqrt(U.size)
        rms_x = np.linalg.norm(X) / np.sqrt(X.size)
        rho = min(lr, 1.0 / np.sqrt(t))
        return X - max(eps2, rms_x) * rho / max(1.0, rms_u / d) * U, R, C

    def matrix_inverse_root(A, p):
        U, s, _ = np.linalg.svd(A)  # A is symmetric positive definite: its SVD is its eigendecomposition
        return U @ np.diag(s ** (-1.0 / p)) @ U.T

    def newton_schulz(G, steps=5, eps=1e-7):
        X = G.T.copy() if G.shape[0] > G.shape[1] else G.copy()
        X /= max(float(np.sqrt((X * X).sum())), eps)
        for _ in range(steps):
            A = X @ X.T
            X = 3.4445 * X - 4.7750 * (A @ X) + 2.0315 * (A @ (A @ X))
        return X.T if G.shape[0] > G.shape[1] else X

    def trust_ratio(w, u):
        wn, un = np.sqrt(np.sum(w * w)), np.sqrt(np.sum(u * u))
        return np.float64(wn / un) if wn * un > 0 else 1

    return {f.__name__: f for f in (adam_update, amsgrad_update, adafactor_update, matrix_inverse_root,
                                    newton_schulz, trust_ratio)}


ALTERNATIVES = _alternatives()


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_correct_solutions_written_differently_pass(name):
    for seed in (NOTEBOOK_SEEDS[name],) + SEEDS:
        hidden_test(name, ALTERNATIVES[name], seed=seed)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_float32_computation_passes(solution_namespace, name):
    """Computing in the input's float32 (as a student's NumPy code does) stays within the tolerance."""
    hidden_test(name, solution_namespace[name], seed=NOTEBOOK_SEEDS[name])
    results = []
    cases = make_cases(name, NOTEBOOK_SEEDS[name])
    assert any(c["dtype"] == "float32" for c in cases) or name == "ema_weights"
    for case in cases:
        r = guard.run(solution_namespace[name], [v for _, v in case["args"]], case["kwargs"])
        results.append({"status": r.status, "error": r.error, "oracle": r.oracle, "mutated": r.mutated,
                        "value": guard.describe(r.value)})
    assert judge(name, NOTEBOOK_SEEDS[name], results).passed


@pytest.mark.parametrize("seed", (None,) + SEEDS)
@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.key for m in MISTAKES])
def test_every_mistake_is_caught_and_named(solution_namespace, mistake, seed):
    seed = NOTEBOOK_SEEDS[mistake.function] if seed is None else seed
    namespace = dict(solution_namespace)
    exec(mistake.source, namespace)  # noqa: S102  (siblings are the solution's, as in a notebook)
    with pytest.raises(AssertionError) as err:
        hidden_test(mistake.function, namespace[mistake.function], seed=seed)
    message = str(err.value)
    if mistake.mutates:
        assert "in place" in message, message
        assert "mistake" not in message, message  # its numbers are right: no value mistake explains them
    else:
        assert mistake.description in message, message
        assert "expected" in message and "got" in message


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if not m.mutates], ids=lambda m: m.key)
def test_each_mistake_really_differs_from_the_reference(mistake):
    """A mistake must give a different result on at least one case (else it is not a mistake)."""
    fn = runnable(mistake, optim)
    differs = False
    for case in make_cases(mistake.function, 1):
        args = [np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v for _, v in case["args"]]
        with np.errstate(all="ignore"):
            got = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args], **case["kwargs"])
        ref = getattr(optim, mistake.function)(*args, **case["kwargs"])
        got, ref = (got, ref) if isinstance(ref, tuple) else ((got,), (ref,))
        if any(np.shape(a) != np.shape(b) or not np.allclose(a, b, rtol=1e-6, atol=0) for a, b in zip(got, ref)):
            differs = True
            break
    assert differs


def test_messages_for_errors_signature_and_structure():
    def wrong_name(theta, grad, accum, lr=1e-2, epsilon=1e-10):
        return theta, accum

    with pytest.raises(AssertionError, match="The API is adagrad_update"):
        hidden_test("adagrad_update", wrong_name, seed=1)
    with pytest.raises(AssertionError, match="expected a tuple of 2 arrays"):
        hidden_test("adagrad_update", lambda theta, grad, accum, lr=1e-2, eps=1e-10: theta, seed=1)
    with pytest.raises(AssertionError, match="is None"):
        check.outputs((None, None), "adagrad_update", shapes=[(2,), (2,)], dtype=np.float64)

    def swapped(theta, grad, accum, lr=1e-2, eps=1e-10):
        accum = accum + grad**2
        return accum, theta - lr * grad / (np.sqrt(accum) + eps)

    with pytest.raises(AssertionError, match="wrong order"):
        hidden_test("adagrad_update", swapped, seed=1)
    with pytest.raises(NotImplementedError):
        def todo(theta, grad, accum, lr=1e-2, eps=1e-10):
            raise NotImplementedError()
        hidden_test("adagrad_update", todo, seed=1)


def test_noisy_student_code_writes_nothing_to_stderr(capfd):
    """Warnings and prints inside the student's function never reach stderr (nbgrader would score 0)."""
    import sys

    def noisy(accum, lr=1e-2, eps=1e-10):
        print("debugging", file=sys.stderr)
        warnings.warn("careful")
        return lr / (np.sqrt(accum) + eps) + np.zeros_like(accum) / np.zeros_like(accum) * 0.0

    with pytest.raises(AssertionError):
        hidden_test("adagrad_effective_lr", noisy, seed=1)
    assert capfd.readouterr().err == ""


def test_numeric_answers():
    hidden_number(0.0020001, 0.002, name="x")
    hidden_number(np.float32(0.002), 0.002, name="x")
    with pytest.raises(AssertionError, match="expected about 0.002"):
        hidden_number(0.003, 0.002, name="x", hint="h")
    with pytest.raises(AssertionError, match="should be a number"):
        hidden_number("0.002", 0.002, name="x")
    with pytest.raises(NotImplementedError):
        hidden_number(None, 0.002, name="x")
    with pytest.raises(NotImplementedError):
        check.answered(None, "x")


def test_visible_checks_messages():
    with pytest.raises(AssertionError, match=r"expected \[1, 2\], got \[1, 3\] \(entry 1: relative difference 0.5\)\. hint"):
        check.close(np.array([1.0, 3.0]), [1.0, 2.0], "x", hint="hint")
    check.close(np.array([1.0, 2.0 + 1e-9]), [1.0, 2.0], "x")
    with pytest.raises(AssertionError, match="float32 inputs must give float32"):
        check.outputs((np.zeros(2), np.zeros(2, np.float32)), "adagrad_update", shapes=[(2,), (2,)], dtype=np.float32)

    def defaults_wrong(theta, grad, accum, lr=1e-3, eps=1e-10):
        pass

    with pytest.raises(AssertionError, match="lr=0.01"):
        check.signature(defaults_wrong, "adagrad_update")

    def mutating(theta, grad, accum, lr=1e-2, eps=1e-10):
        accum += grad**2
        return theta, accum

    with pytest.raises(AssertionError, match="modified its argument accum in place"):
        check.call(mutating, np.ones(2), np.ones(2), np.zeros(2))


FAST_RULES = ("adam_update", "adamw_update", "adagrad_update", "lamb_update", "adafactor_update")


@pytest.mark.parametrize("name", FAST_RULES)
def test_expected_values_come_from_the_readable_rule(name, monkeypatch):
    """The referee never takes the NumPy fast path: it grades against the rule's readable form."""
    from adaptive_lr.optim import _fast

    def refuse(*args, **kwargs):
        raise AssertionError("the referee took the NumPy fast path")

    for kernel in ("adam", "adagrad", "lamb", "adafactor"):
        monkeypatch.setattr(_fast, kernel, refuse)
    readable = getattr(optim, name)
    results = []
    for case in make_cases(name, 11):
        args = [np.array(v) if isinstance(v, np.ndarray) else v for _, v in case["args"]]
        value = readable(*args, **case["kwargs"])
        results.append({"status": "ok", "error": None, "oracle": [], "mutated": [],
                        "value": guard.describe(value)})
    verdict = judge(name, 11, results)
    assert verdict.passed, verdict.message
