"""Differential diagnosis, case order, digits, precision, types and double jeopardy, at the referee's level.

Every student function is run on the hidden cases under the tripwires
(:mod:`adaptive_lr.grading.guard`) and judged by the referee's ``judge`` in
this process; no notebook is graded here.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from adaptive_lr import optim
from adaptive_lr.course import verify
from adaptive_lr.grading import callees, guard, hidden_test
from adaptive_lr.grading.api import CALLS, FUNCTIONS
from adaptive_lr.grading.cases import make_cases
from adaptive_lr.grading.compare import low_precision
from adaptive_lr.grading.conventions import CONVENTIONS
from adaptive_lr.grading.mistakes import MISTAKES, runnable
from adaptive_lr.grading.referee import handle, judge
from adaptive_lr.grading.verdict import Verdict

from ._conventions import STUDENTS

SEED = 4242
BY_KEY = {m.key: m for m in MISTAKES + CONVENTIONS}


def results_of(func, name, seed=SEED, stand_in=None):
    out = []
    for case in make_cases(name, seed):
        with callees.standing_in(func, stand_in):
            r = guard.run(func, [v for _, v in case["args"]], case["kwargs"], [n for n, _ in case["args"]])
        out.append({"status": r.status, "error": r.error, "oracle": r.oracle, "mutated": r.mutated,
                    "value": guard.describe(r.value) if r.status == "ok" else None})
    return out


def verdict_of(func, name, seed=SEED) -> Verdict:
    return judge(name, seed, results_of(func, name, seed))


def test_every_convention_has_a_student_implementation():
    assert set(STUDENTS) >= {m.key for m in CONVENTIONS}
    assert set(STUDENTS) <= set(BY_KEY)


@pytest.mark.parametrize("key", sorted(STUDENTS))
def test_the_convention_is_named(key):
    name, student = STUDENTS[key]
    v = verdict_of(student, name)
    assert not v.passed
    assert key in v.mistakes, (v.mistakes, v.guesses, v.message)
    assert BY_KEY[key].description in v.message
    assert "Likely mistake" in v.message and "a guess" not in v.message
    head = v.message.split("Case ")[0]  # how closely the results match it is printed
    assert "relative" in head or "exactly" in head or "float32" in head


@pytest.mark.parametrize("entry", [m for m in CONVENTIONS], ids=lambda m: m.key)
def test_each_convention_really_differs_from_the_reference(entry):
    fn = runnable(entry, optim)
    for case in make_cases(entry.function, 1):
        args = [np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v for _, v in case["args"]]
        with np.errstate(all="ignore"):
            got = fn(*args, **case["kwargs"])
        ref = getattr(optim, entry.function)(*args, **case["kwargs"])
        got, ref = (got, ref) if isinstance(ref, tuple) else ((got,), (ref,))
        if any(not np.allclose(a, b, rtol=1e-6, atol=0) for a, b in zip(got, ref)):
            return
    pytest.fail(f"{entry.key} gives the reference's results on every case")


def test_one_supporting_case_is_called_a_guess(monkeypatch):
    """A convention that differs from the reference on a single hidden case can only be a guess."""
    from adaptive_lr.grading import conventions
    from adaptive_lr.grading.mistakes import Mistake

    def adagrad_update(theta, grad, accum, lr=1e-2, eps=1e-10):
        accum = accum + grad**2
        root = np.sqrt(accum + eps) if eps == 1e-3 else np.sqrt(accum) + eps
        return theta - lr * grad / root, accum

    only_there = Mistake(1, "adagrad_update", "eps-inside-at-1e-3", "eps inside the root when eps is 1e-3",
                         adagrad_update)
    monkeypatch.setattr(conventions, "CONVENTIONS", [only_there])
    v = verdict_of(adagrad_update, "adagrad_update")
    assert not v.passed and v.failed_cases == 1
    assert "a guess" in v.message and v.guesses == (only_there.key,) and v.mistakes == ()


def test_a_wrong_sign_is_not_blamed_on_the_fallback():
    def lars_update(w, grad, velocity, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3):
        u = grad + weight_decay * w
        wn, un = np.linalg.norm(w), np.linalg.norm(u)
        ratio = trust_coefficient * wn / un if wn > 0 and un > 0 else 1.0
        velocity = momentum * velocity + lr * ratio * u
        return w + velocity, velocity  # the sign

    v = verdict_of(lars_update, "lars_update")
    assert not v.passed
    assert not any("fallback" in k for k in v.mistakes + v.guesses), v.message
    assert "zero norm" not in v.message
    assert "-1 times the expected" in v.message


def test_the_case_that_explains_comes_first_with_visible_digits():
    name, student = STUDENTS["03-adam_update-eps-scaled"]
    v = verdict_of(student, name)
    first = v.message.split("Case ", 1)[1].splitlines()[0]
    assert "large eps" in first, first
    # the shown entry: expected and got differ in the printed digits
    line = next(x for x in v.message.splitlines() if "largest difference at index" in x)
    exp, got = line.split("expected ")[1].split(", got ")
    assert exp.strip() != got.split(" (")[0].strip()
    assert "relative difference" in line and "got/expected" in line


def test_a_tiny_difference_is_printed_with_enough_digits():
    def ema_update(m, grad, beta):
        return (beta * m + (1 - beta) * grad) * (1 + 3e-6)

    v = verdict_of(ema_update, "ema_update")
    line = next(x for x in v.message.splitlines() if "expected" in x and "got" in x and "index" in x)
    exp, got = line.split("expected ")[1].split(", got ")
    assert exp != got.split(" (")[0]
    assert "relative difference 3e-06" in line
    assert "1.000003 times" in v.message or "about 1 times" not in v.message


def _bfloat16(x):
    """Round float32 to bfloat16 (nearest, ties to even), as float32."""
    b = np.asarray(x, np.float32).view(np.uint32)
    b = (b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return b.view(np.float32)


def _bfloat16_newton_schulz(G, steps=5, eps=1e-7):
    """Newton-Schulz with every intermediate rounded to bfloat16 (as torch's Muon computes it)."""
    tall = G.shape[0] > G.shape[1]
    X = _bfloat16((G.T if tall else G) / max(np.linalg.norm(G), eps))
    for _ in range(steps):
        S = _bfloat16(X @ X.T)
        X = _bfloat16(3.4445 * X + _bfloat16(-4.7750 * S + 2.0315 * _bfloat16(S @ S)) @ X)
    return (X.T if tall else X).astype(G.dtype)


def test_bfloat16_newton_schulz_is_recognized():
    def newton_schulz(G, steps=5, eps=1e-7):
        return _bfloat16_newton_schulz(G, steps, eps)

    v = verdict_of(newton_schulz, "newton_schulz")
    assert not v.passed and v.precision == "bfloat16"
    assert "bfloat16" in v.message and "times the expected" not in v.message
    assert "normaliz" not in v.message.split("Case ")[0]


def test_float16_arithmetic_is_recognized():
    def ema_update(m, grad, beta):
        return (beta * m.astype(np.float16) + (1 - beta) * grad.astype(np.float16)).astype(m.dtype)

    v = verdict_of(ema_update, "ema_update")
    assert not v.passed and v.precision == "float16" and "float16" in v.message


def test_low_precision_objects_to_ordinary_numbers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20)
    assert low_precision([x], [x]) == ""
    assert low_precision([x.astype(np.float32)], [x]) == ""
    assert low_precision([_bfloat16(x).astype(np.float64)], [x]) == "bfloat16"
    assert low_precision([np.array([1.0, 0.5, 2.0, 4.0])], [np.array([1.0, 0.5, 2.0, 4.0])]) == ""
    # one round value returned on every failing case (a ratio clamped at 1.0) is not bfloat16 arithmetic
    assert low_precision([np.ones(7)], [x[:7]]) == ""
    assert low_precision([np.array([-1.0, -2.0, 0.75, 3.0])], [x[:4]]) == ""


def test_torch_tensors_are_refused_clearly():
    torch = pytest.importorskip("torch")

    def ema_update(m, grad, beta):
        return beta * torch.from_numpy(m) + (1 - beta) * torch.from_numpy(grad)

    v = verdict_of(ema_update, "ema_update")
    assert not v.passed and "torch" in v.message and "NumPy array" in v.message


# --- no double jeopardy ------------------------------------------------------------


def _wrong_ns(G, steps=5, eps=1e-7):  # the normalization divides by the largest entry
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / max(float(np.max(np.abs(X))) * 2.0, eps)
    for _ in range(steps):
        S = X @ X.T
        X = 3.4445 * X + (-4.7750 * S + 2.0315 * S @ S) @ X
    return X.T if tall else X


def _muon_source(body_ns="newton_schulz"):
    return f"""
def muon_update(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
    buf = momentum * buf + (1 - momentum) * G
    u = (1 - momentum) * G + momentum * buf if nesterov else buf
    rows, cols = W.shape
    return W * (1 - lr * weight_decay) - lr * max(1.0, rows / cols) ** 0.5 * {body_ns}(u, steps), buf
"""


def _notebook(newton_schulz, muon=_muon_source()):
    ns = {"np": np, "newton_schulz": newton_schulz}
    exec(muon, ns)  # noqa: S102  (the student's notebook namespace)
    return ns


def test_caller_right_callee_wrong_keeps_its_points(capsys):
    ns = _notebook(_wrong_ns)
    with pytest.raises(AssertionError) as err:
        hidden_test("newton_schulz", ns["newton_schulz"], seed=SEED)
    assert "costs points here only" in str(err.value)
    hidden_test("muon_update", ns["muon_update"], seed=SEED)  # passes
    out = capsys.readouterr().out
    assert "with a correct newton_schulz" in out and "keeps its points" in out
    assert ns["newton_schulz"] is _wrong_ns  # the student's namespace is restored


def test_caller_wrong_callee_wrong_is_judged_on_its_own_logic():
    wrong_muon = _muon_source().replace("(1 - momentum) * G + momentum * buf if", "buf if")
    ns = _notebook(_wrong_ns, wrong_muon)
    with pytest.raises(AssertionError) as err:
        hidden_test("muon_update", ns["muon_update"], seed=SEED)
    message = str(err.value)
    assert "Judged with a correct newton_schulz" in message
    assert BY_KEY["10-muon_update-ignores-nesterov"].description in message


def test_a_caller_that_does_not_call_the_callee_is_judged_as_it_is():
    ns = _notebook(_wrong_ns, _muon_source("_wrong"))
    ns["_wrong"] = _wrong_ns
    with pytest.raises(AssertionError) as err:
        hidden_test("muon_update", ns["muon_update"], seed=SEED)
    assert "correct newton_schulz" not in str(err.value)


def test_lamb_keeps_its_points_when_only_trust_ratio_is_wrong():
    def trust_ratio(w, u):
        return float(np.linalg.norm(w) / np.linalg.norm(u))  # no fallback: 0/0 for zero norms

    ns = {"np": np, "trust_ratio": trust_ratio}
    exec("""
def lamb_update(w, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    u = m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps) + weight_decay * w
    return w - lr * trust_ratio(w, u) * u, m, v
""", ns)  # noqa: S102
    # as in the re-check, outside the student's kernel: the referee in this process
    run = lambda name, cases, stand_in: _recheck_like(ns[name], cases, stand_in)  # noqa: E731
    v = Verdict.from_wire(callees.judge_function("lamb_update", SEED, run, handle))
    assert v.passed and v.substituted == "trust_ratio"


def _recheck_like(func, cases, stand_in):
    out = []
    for case in cases:
        with callees.standing_in(func, stand_in):
            r = guard.run(func, [v for _, v in case["args"]], case["kwargs"], [n for n, _ in case["args"]])
        out.append({"status": r.status, "error": r.error, "oracle": r.oracle, "mutated": r.mutated,
                    "value": guard.describe(r.value) if r.status == "ok" else None})
    return out


class _FakeKernel:
    """The re-check kernel's protocol (execute code, read stdout) in this process, on a namespace."""

    def __init__(self, namespace):
        self.namespace = namespace

    def run(self, code):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(code, self.namespace)  # noqa: S102
        return buf.getvalue()


def test_the_recheck_supplies_the_callee_over_the_wire():
    ns = _notebook(_wrong_ns)
    kernel = _FakeKernel(ns)
    kernel.run(verify._RUNNER)
    check = verify.HiddenCheck("10d_muon_update_hidden", "function", "muon_update", seed=SEED)
    v = verify._check(kernel, check)
    assert v.passed and v.substituted == "newton_schulz", v.message
    callee = verify._check(kernel, verify.HiddenCheck("x", "function", "newton_schulz", seed=SEED))
    assert not callee.passed


def test_the_stand_in_objects_to_a_wrong_call():
    s = callees.StandIn("newton_schulz", {})
    with pytest.raises(TypeError):
        s(np.ones((2, 2)), stepz=3)
    with pytest.raises(TypeError):
        s()
    out = s(np.ones((2, 3), np.float32), 5)
    assert out.shape == (2, 3) and len(s.missing) == 1  # unanswered: recorded, placeholder returned
    assert set(CALLS) <= set(FUNCTIONS) and set(CALLS.values()) <= set(FUNCTIONS)


def test_verdict_round_trip_and_types():
    name, student = STUDENTS["05-adamw_update-hf-transformers"]
    v = verdict_of(student, name)
    assert isinstance(v.mistakes, tuple) and all(isinstance(k, str) for k in v.mistakes)
    assert Verdict.from_wire(v.to_wire()) == v
    with pytest.raises(KeyError):
        Verdict.from_wire({"message": "no verdict"})
    from adaptive_lr.grading.verdict import from_metadata, to_metadata

    back = from_metadata({"adaptive_lr": {"execution": {"recheck": {"verdicts": to_metadata({"05d": v})}}}})
    assert back["05d"] == v
    assert from_metadata({}) == {} and from_metadata({"adaptive_lr": {}}) == {}


def test_a_systematic_small_factor_is_not_called_precision():
    def ema_update(m, grad, beta):
        return (beta * m + (1 - beta) * grad) * 1.002

    v = verdict_of(ema_update, "ema_update")
    assert not v.passed and v.precision == "" and "Precision" not in v.message
    assert "1.002 times" in v.message


def test_bfloat16_numbers_are_recognized_after_a_last_float64_multiplication():
    def newton_schulz(G, steps=5, eps=1e-7):
        return _bfloat16_newton_schulz(G, steps, eps) * (1 + 1e-12)

    v = verdict_of(newton_schulz, "newton_schulz")
    assert not v.passed and v.precision == "bfloat16", v.message


def test_float16_accuracy_without_float16_numbers_is_named():
    def ema_update(m, grad, beta):
        m16, g16 = m.astype(np.float16).astype(m.dtype), grad.astype(np.float16).astype(m.dtype)
        return beta * m16 + (1 - beta) * g16  # 16-bit inputs, float64 arithmetic

    v = verdict_of(ema_update, "ema_update")
    assert not v.passed and v.precision == "float16", v.message
    assert "as if computed in 16-bit floats" in v.message


def test_an_unanswered_callee_does_not_cost_the_caller(capsys):
    def newton_schulz(G, steps=5, eps=1e-7):
        raise NotImplementedError()

    ns = _notebook(newton_schulz)
    with pytest.raises(NotImplementedError):
        hidden_test("newton_schulz", ns["newton_schulz"], seed=SEED)
    hidden_test("muon_update", ns["muon_update"], seed=SEED)
    assert "keeps its points" in capsys.readouterr().out

    def muon_update(W, G, buf, lr=1e-3, momentum=0.95, nesterov=True, steps=5, weight_decay=0.0):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):  # an unanswered caller still says so
        hidden_test("muon_update", muon_update, seed=SEED)


def test_a_full_explanation_makes_partial_ones_moot():
    name, student = STUDENTS["05-adamw_update-hf-transformers"]
    v = verdict_of(student, name)
    assert v.mistakes == ("05-adamw_update-hf-transformers",), v.mistakes


def test_visible_check_shows_digits_and_names_16_bit_results():
    from adaptive_lr.grading import check

    with pytest.raises(AssertionError) as err:
        check.close(np.array([0.1234567]), [0.1234561], "x", hint="h")
    assert "0.1234567" in str(err.value) and "0.1234561" in str(err.value)
    expected = np.array([0.70710678, 0.31622777, -0.12345678])
    with pytest.raises(AssertionError) as err:
        check.close(_bfloat16(expected).astype(np.float64), expected, "X", hint="normalize by the norm first")
    assert "bfloat16" in str(err.value) and "normalize" not in str(err.value)
    with pytest.raises(AssertionError, match="normalize"):  # an ordinary wrong answer keeps its hint
        check.close(expected * 1.5, expected, "X", hint="normalize by the norm first")


def test_a_catalogue_entry_that_fails_to_build_does_not_break_the_verdict(monkeypatch):
    from adaptive_lr.grading import diagnosis

    def broken(mistake, module):
        raise SyntaxError("source changed on disk")

    monkeypatch.setattr(diagnosis, "runnable", broken)
    name, student = STUDENTS["03-adam_update-eps-scaled"]
    v = verdict_of(student, name)
    assert not v.passed and v.mistakes == () and "Case " in v.message


def test_the_exercise_10_templates_default_to_the_exercise():
    """Each Newton-Schulz or Muon entry differs from the reference only where its template call says."""
    from adaptive_lr.grading.mistakes import built, muon_source, newton_schulz_source

    for name, code in (("newton_schulz", newton_schulz_source()), ("muon_update", muon_source())):
        entry = built(10, "as-the-exercise", "", code)
        assert entry.function == name and entry.source == code
        impl = runnable(entry, optim)
        for case in make_cases(name, SEED):
            args = [np.asarray(v, np.float64) if isinstance(v, np.ndarray) else v for _, v in case["args"]]
            want, got = getattr(optim, name)(*args, **case["kwargs"]), impl(*args, **case["kwargs"])
            for w, g in zip(*((x,) if name == "newton_schulz" else x for x in (want, got))):
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=case["label"])
    templated = [m for m in MISTAKES + CONVENTIONS if m.code]
    assert len(templated) == 10 and len({m.code for m in templated}) == 10
