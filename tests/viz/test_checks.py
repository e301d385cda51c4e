"""The checks the course's tests run on every figure: what a figure's texts must tell apart."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adaptive_lr import viz
from adaptive_lr.viz import checks


def titled(fmt):
    """A draw function whose title prints its ``value`` with ``fmt``, next to fixed texts that
    happen to hold numbers (a legend "|g| = 1") and a derived number ("max ...")."""

    def draw(ax, value):
        x = np.linspace(0, 1, 5)
        ax.plot(x, x, label="|g| = 1")
        ax.plot(x, x * (1 + 6 * value**40), label=f"max {1 + 6 * value**40:.2f}")
        ax.set(title=f"a line, value={value:{fmt}}", xlabel="x", ylabel="y")
        ax.legend()

    return draw


def problems(fmt, control):
    return viz.control_text_problems(viz.interactive_plot(titled(fmt), value=control))


def test_objects_to_a_title_that_rounds_a_log_slider_to_one_digit():
    found = problems(".0e", viz.log_slider(1e-12, 1e-2, 1e-8))
    assert any("reads 'a line, value=1e-12' at both value=1e-12" in p for p in found), found
    assert any("value=1e-08" in p and "1.2589" in p for p in found), found
    assert all("title" in p for p in found), found  # not the fixed legend, not the derived one


def test_objects_to_a_beta2_title_that_reads_1_at_the_slider_top():
    found = problems(".3g", viz.slider(0.9, 0.9999, 0.999, step=0.0001, fmt=".4g"))
    assert any("'a line, value=1' at both value=0.9998" in p for p in found), found


def test_accepts_titles_that_tell_neighbouring_values_apart():
    assert problems(".3g", viz.log_slider(1e-12, 1e-2, 1e-8)) == []
    assert problems(".4g", viz.slider(0.9, 0.9999, 0.999, step=0.0001, fmt=".4g")) == []
    assert problems("d", viz.slider(1, 9, 3, integer=True)) == []


def test_objects_to_a_slider_readout_too_coarse_for_its_step():
    found = problems(".4g", viz.slider(0.9, 0.9999, 0.999, step=0.0001, fmt=".3g"))
    assert found and all("readout" in p for p in found), found
    assert "shows 0.9995 and 0.9996 both as '1'" in " ".join(
        checks.readout_problems("beta2", viz.slider(0.9995, 0.9999, 0.9995, step=0.0001))
    )


def test_the_controls_are_put_back():
    w = viz.interactive_plot(titled(".0e"), value=viz.log_slider(1e-12, 1e-2, 1e-8))
    w.redraw(value=1e-4)
    viz.control_text_problems(w)
    assert w.values["value"] == 1e-4
    assert w.axes.get_title() == "a line, value=1e-04"


def test_value_readings_skip_fixed_and_derived_numbers():
    texts = {v: {("axes 0", "title"): f"beta2={v:.4g}", ("axes 0", "legend entry 0"): "|g| = 1",
                 ("axes 0", "legend entry 1"): f"max {1 + 6 * v**40:.2f}"}
             for v in (0.9, 0.9001, 0.9998, 0.9999)}
    assert checks.value_readings(texts) == {("axes 0", "title")}


@given(st.floats(1e-12, 1e12), st.integers(1, 6))
def test_a_value_printed_to_any_number_of_digits_is_a_reading_of_it(value, digits):
    assert float(f"{value:.{digits}g}") in checks._roundings(value)


@pytest.mark.parametrize("control, expected", [
    (viz.slider(0.0, 1.0, 0.5, step=0.25), [(0.0, 0.25), (0.75, 1.0), (0.5, 0.75)]),
    (viz.slider(0.0, 1.0, 1.0, step=0.5), [(0.0, 0.5), (0.5, 1.0)]),
    (viz.choice(["a", "b"]), []),
])
def test_neighbouring_values_are_the_ends_and_the_default(control, expected):
    assert checks.neighbouring_values(control) == expected
