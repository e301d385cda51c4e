"""Each update rule carries its equations, where epsilon goes, and its paper."""

import inspect

import pytest

from adaptive_lr import optim

UPDATE_RULES = [
    name for name in optim.__all__ if name.endswith("_update") and callable(getattr(optim, name))
]
MATH_FUNCTIONS = UPDATE_RULES + [
    "adagrad_effective_lr",
    "ema_weights",
    "trust_ratio",
    "matrix_inverse_root",
    "newton_schulz",
    "dynamic_map",
    "quantize_blockwise",
]
WITH_EPSILON = {
    "adagrad_update", "adam_update", "amsgrad_update", "adam_l2_update", "adamw_update",
    "adafactor_update", "lamb_update", "rmsprop_update", "soap_update", "shampoo_update",
    "radam_update", "nadam_update", "adamax_update", "adadelta_update", "adam8bit_update",
}


def test_the_exercise_functions_are_all_exported():
    for names in optim.EXERCISE_FUNCTIONS.values():
        for name in names:
            assert callable(getattr(optim, name)), name


@pytest.mark.parametrize("name", MATH_FUNCTIONS)
def test_docstring_has_equations_and_a_reference(name):
    doc = inspect.getdoc(getattr(optim, name)) or ""
    assert ".. math::" in doc or ":math:" in doc, f"{name}: no equations in the docstring"
    assert "Reference" in doc, f"{name}: no paper reference in the docstring"


@pytest.mark.parametrize("name", sorted(WITH_EPSILON))
def test_docstring_says_where_epsilon_goes(name):
    doc = inspect.getdoc(getattr(optim, name)).lower()
    assert "epsilon" in doc and ("outside" in doc or "inside" in doc or "damping" in doc), (
        f"{name}: say where epsilon sits relative to the square root"
    )


@pytest.mark.parametrize("name", UPDATE_RULES)
def test_update_rules_document_their_return_order(name):
    doc = inspect.getdoc(getattr(optim, name))
    assert "Returns" in doc, f"{name}: say what the tuple holds, in order"
