"""The compiled check of nbgrader's cell metadata (course.metadata) decides as nbgrader's does."""

import copy
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbgrader.nbgraderformat import MetadataValidator, ValidationError

from adaptive_lr.course.metadata import CheckCellMetadata, CompiledMetadataValidator

REPO = Path(__file__).resolve().parents[2]
SOURCE = nbformat.read(REPO / "source" / "adaptive_lr" / "exercises.ipynb", as_version=4)
GRADED = [i for i, c in enumerate(SOURCE.cells) if "nbgrader" in c.metadata]
KEYS = ["grade", "solution", "locked", "points", "grade_id", "schema_version", "task", "cell_type"]
JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 5) | st.floats(-1, 3) | st.text(max_size=4),
                    lambda inner: st.lists(inner, max_size=2), max_leaves=3)


def verdict(validator, nb):
    """What ``validator`` says of ``nb``: None, or the error's type and message."""
    try:
        validator.validate_nb(copy.deepcopy(nb))
    except Exception as err:  # noqa: BLE001 - any error, to compare nbgrader's with ours
        return type(err).__name__, str(err).splitlines()[0]
    return None


def test_the_source_and_its_release_validate():
    release = nbformat.read(REPO / "release" / "adaptive_lr" / "exercises.ipynb", as_version=4)
    for nb in (SOURCE, release):
        assert verdict(CompiledMetadataValidator(), nb) is None


@pytest.mark.parametrize("change, error", [
    (lambda m: m.update(points="two"), "'two' is not of type 'number'"),
    (lambda m: m.pop("grade_id"), "does not have a grade_id"),
    (lambda m: m.update(schema_version=2), "Outdated schema version"),
    (lambda m: m.update(schema_version=4), "too new"),
    (lambda m: m.update(grade_id=""), "grade_id is empty"),
    (lambda m: m.update(locked="yes"), "'yes' is not of type 'boolean'"),
])
def test_broken_metadata_is_refused_with_nbgraders_message(change, error):
    nb = copy.deepcopy(SOURCE)
    change(nb.cells[GRADED[3]].metadata["nbgrader"])
    ours = verdict(CompiledMetadataValidator(), nb)
    assert ours is not None and error in ours[1], ours
    assert ours == verdict(MetadataValidator(), nb)


def test_a_duplicate_grade_id_is_refused():
    nb = copy.deepcopy(SOURCE)
    a, b = (nb.cells[i].metadata["nbgrader"] for i in GRADED[2:4])
    b["grade_id"] = a["grade_id"]
    assert verdict(CompiledMetadataValidator(), nb) == ("ValidationError", f"Duplicate grade id: {a['grade_id']}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell=st.sampled_from(GRADED), key=st.sampled_from(KEYS), value=JSON | st.just("<removed>"))
def test_any_change_to_one_cells_metadata_gets_nbgraders_verdict(cell, key, value):
    nb = copy.deepcopy(SOURCE)
    meta = nb.cells[cell].metadata["nbgrader"]
    if value == "<removed>":
        meta.pop(key, None)
    else:
        meta[key] = value
    assert verdict(CompiledMetadataValidator(), nb) == verdict(MetadataValidator(), nb)


def test_the_preprocessor_raises_nbgraders_error_and_passes_a_good_notebook():
    nb = copy.deepcopy(SOURCE)
    assert CheckCellMetadata().preprocess(nb, {})[0] is nb
    nb.cells[GRADED[0]].metadata["nbgrader"]["points"] = "x"
    with pytest.raises(ValidationError, match="Notebook failed to validate"):
        CheckCellMetadata().preprocess(nb, {})


def test_grader_config_uses_it_in_both_stages():
    from traitlets.config.loader import PyFileConfigLoader

    c = PyFileConfigLoader("nbgrader_config.py", str(REPO)).load_config()
    for stage in (c.Autograde.sanitize_preprocessors, c.Autograde.autograde_preprocessors):
        assert stage[-1] == "adaptive_lr.course.metadata.CheckCellMetadata"
        assert "nbgrader.preprocessors.CheckCellMetadata" not in stage
