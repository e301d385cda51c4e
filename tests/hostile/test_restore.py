"""RestoreStructure: tampered submissions are rebuilt on the release, and say what was found.

The unit tests derive submissions from the real release and source notebooks
(the solution, the blank release) and tamper with them in memory. The last test
grades tampered submissions through ``nbgrader autograde`` in a scratch course:
they must get exactly what the untampered solution (or blank) gets.
"""

from __future__ import annotations

import copy
import hashlib
import os
import warnings
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator
from traitlets.config import Config, LoggingConfigurable
from traitlets.config.loader import PyFileConfigLoader

from adaptive_lr.course import submissions as subs
from adaptive_lr.course.gradebook import read_grades
from adaptive_lr.course.pipeline import Course, repo_root
from adaptive_lr.course.restore import METADATA_KEY, RestoreStructure, restore_notebook

# On one xdist worker, so that its costly module fixture is built once, not once per worker.
pytestmark = pytest.mark.xdist_group(__name__)

REPO = repo_root()
RELEASE_PATH = REPO / "release" / "adaptive_lr" / "exercises.ipynb"
RELEASE = subs.read(RELEASE_PATH)
SOURCE = subs.read(REPO / "source" / "adaptive_lr" / "exercises.ipynb")
SOLUTION = subs.solution(SOURCE, RELEASE)
BLANK = subs.blank(RELEASE)


def gid(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def at(nb, grade_id) -> int:
    return next(i for i, c in enumerate(nb.cells) if gid(c) == grade_id)


def cell(nb, grade_id):
    return nb.cells[at(nb, grade_id)]


def restored(nb, validate=True):
    before = copy.deepcopy(nb)
    out = restore_notebook(nb, RELEASE)
    assert nb == before, "restore_notebook changed its input"
    if validate:  # about 0.1 s: not for every hypothesis example
        nbformat.validate(out.nb)
        MetadataValidator().validate_nb(out.nb)  # what nbgrader's CheckCellMetadata runs
    assert out.nb.metadata[METADATA_KEY] == {"tampering": out.tampering, "notes": out.notes}
    return out


def release_cells_in_order(nb):
    """(cell id, type, source, metadata) of the release cells in ``nb``, in order."""
    ids = {c.id for c in RELEASE.cells}
    return [c for c in nb.cells if c.get("id") in ids]


def assert_release_structure(nb, answers_from=None):
    """Every release cell is back, in order; tests and read-only cells exactly as released."""
    cells = release_cells_in_order(nb)
    assert [c.id for c in cells] == [c.id for c in RELEASE.cells]
    for got, want in zip(cells, RELEASE.cells):
        assert got.cell_type == want.cell_type
        meta = want.metadata.get("nbgrader")
        if meta and not meta.get("solution"):
            assert got == want, f"{gid(want)} differs from the release"
        elif meta:
            assert got.metadata == want.metadata
            if answers_from is not None:
                assert got.source == cell(answers_from, gid(want)).source


# -- clean submissions ----------------------------------------------------------------------


@pytest.mark.parametrize("name, nb", [("solution", SOLUTION), ("blank", BLANK), ("release", RELEASE)])
def test_clean_submission_is_unchanged_with_no_findings(name, nb):
    out = restored(nb)
    assert out.tampering == [] and out.notes == []
    assert len(out.nb.cells) == len(nb.cells)
    for got, want in zip(out.nb.cells, nb.cells):
        assert (got.id, got.cell_type, got.source, got.metadata) == (want.id, want.cell_type, want.source,
                                                                      want.metadata)
    assert_release_structure(out.nb, answers_from=nb)


def test_restoring_twice_finds_nothing_new():
    once = restored(tampered_solution()).nb
    del once.metadata[METADATA_KEY]
    twice = restored(once)
    assert twice.tampering == []


def test_outputs_and_execution_counts_of_a_run_notebook_are_not_findings():
    sub = copy.deepcopy(SOLUTION)
    for i, c in enumerate(sub.cells):
        if c.cell_type == "code":
            c.execution_count = i
            c.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
        c.metadata["jupyter"] = {"source_hidden": False}  # what JupyterLab may add
    out = restored(sub)
    assert out.tampering == [] and out.notes == []
    assert_release_structure(out.nb, answers_from=SOLUTION)


# -- tests and read-only cells ----------------------------------------------------------------


def test_deleted_test_cell_is_restored_in_place():
    sub = copy.deepcopy(SOLUTION)
    del sub.cells[at(sub, "03d_adam_update_hidden")]
    out = restored(sub)
    assert out.tampering == ["test cell 03d_adam_update_hidden was deleted (restored)"]
    assert at(out.nb, "03d_adam_update_hidden") == at(RELEASE, "03d_adam_update_hidden")
    assert_release_structure(out.nb, answers_from=SOLUTION)


def test_deleted_read_only_cell_is_restored():
    sub = copy.deepcopy(SOLUTION)
    del sub.cells[at(sub, "00_setup")]
    assert restored(sub).tampering == ["read-only cell 00_setup was deleted (restored)"]


def test_edited_read_only_cell_is_restored():
    sub = copy.deepcopy(SOLUTION)
    cell(sub, "00_setup").source += "\nnp.allclose = lambda *a, **k: True\n"
    out = restored(sub)
    assert out.tampering == ["read-only cell 00_setup was edited (restored)"]
    assert cell(out.nb, "00_setup").source == cell(RELEASE, "00_setup").source


def test_edited_test_cell_is_restored():
    sub = copy.deepcopy(SOLUTION)
    cell(sub, "03d_visible").source = "pass"
    out = restored(sub)
    assert out.tampering == ["test cell 03d_visible was edited (restored)"]
    assert cell(out.nb, "03d_visible") == cell(RELEASE, "03d_visible")


def test_line_endings_are_not_edits():
    sub = copy.deepcopy(SOLUTION)
    cell(sub, "00_setup").source = cell(sub, "00_setup").source.replace("\n", "\r\n") + "\n"
    assert restored(sub).tampering == []


def test_moved_test_cell_goes_back_and_the_move_is_reported():
    sub = copy.deepcopy(SOLUTION)
    sub.cells.append(sub.cells.pop(at(sub, "03d_visible")))
    out = restored(sub)
    assert out.tampering == ["cells moved: 03d_visible (put back in order)"]
    assert_release_structure(out.nb, answers_from=SOLUTION)


def test_a_test_swapped_with_its_answer_is_the_one_reported_moved():
    sub = copy.deepcopy(SOLUTION)
    i = at(sub, "07d_visible")
    sub.cells[i - 1], sub.cells[i] = sub.cells[i], sub.cells[i - 1]
    assert gid(sub.cells[i]) == "07d_solution"
    assert restored(sub).tampering == ["cells moved: 07d_visible (put back in order)"]


def _small_release():
    """A five-cell release: a read-only question, two answers with an ungraded cell between, a test."""
    def graded(c, grade_id, **flags):
        meta = {"grade": False, "solution": False, "locked": False, "task": False, "schema_version": 3}
        meta.update(flags, grade_id=grade_id)
        c.metadata["nbgrader"] = meta
        c.id = grade_id.replace("_", "-")
        return c

    cells = [graded(nbformat.v4.new_markdown_cell("Question"), "q", locked=True),
             graded(nbformat.v4.new_markdown_cell("YOUR ANSWER HERE"), "a1", solution=True, grade=True, points=1),
             nbformat.v4.new_code_cell("# try things here"),
             graded(nbformat.v4.new_code_cell("raise NotImplementedError()"), "a2", solution=True),
             graded(nbformat.v4.new_code_cell("assert f(1) == 2"), "t", grade=True, locked=True, points=2)]
    cells[2].id = "free"
    return nbformat.v4.new_notebook(cells=cells)


def test_moves_that_pass_no_test_or_read_only_cell_are_notes():
    release = _small_release()
    sub = copy.deepcopy(release)
    sub.cells[1], sub.cells[3] = sub.cells[3], sub.cells[1]  # the two answers swapped
    out = restore_notebook(sub, release)
    assert out.tampering == []
    assert out.notes == ["cells moved: free, a1 (put back in order)"]  # a2 is the one that stayed
    assert [c.id for c in out.nb.cells] == [c.id for c in release.cells]
    sub.cells.append(sub.cells.pop(1))  # and now an answer after the test
    out = restore_notebook(sub, release)
    assert [line for line in out.tampering if line.startswith("cells moved")]


def test_raised_points_are_restored():
    sub = copy.deepcopy(SOLUTION)
    cell(sub, "03d_visible").metadata.nbgrader.points = 100
    cell(sub, "03d_adam_update_hidden").metadata.nbgrader.points = "3.5"
    cell(sub, "01a_definition").metadata.nbgrader.points = 10  # a manually graded answer
    out = restored(sub)
    assert out.tampering == [
        "points of 01a_definition changed from 1 to 10 (restored)",
        "points of 03d_visible changed from 1 to 100 (restored)",
        "points of 03d_adam_update_hidden changed from 3 to '3.5' (restored)",
    ]
    assert cell(out.nb, "03d_visible").metadata.nbgrader.points == 1
    assert cell(out.nb, "01a_definition").metadata.nbgrader.points == 1


def test_same_points_written_differently_are_not_a_finding():
    sub = copy.deepcopy(SOLUTION)
    cell(sub, "03d_visible").metadata.nbgrader.points = 1.0
    assert restored(sub).tampering == []


@pytest.mark.parametrize("change, finding", [
    (lambda m: m.update(grade=False), "grade flag of test cell 03d_visible was removed (restored)"),
    (lambda m: m.update(solution=True), "solution flag was added to test cell 03d_visible (restored)"),
    (lambda m: m.update(locked=False), "locked flag of test cell 03d_visible was removed (restored)"),
    (lambda m: m.update(grade_id="my_test"), "grade_id of test cell 03d_visible was changed to 'my_test' (restored)"),
    (lambda m: m.pop("grade_id"), "grade_id of test cell 03d_visible was removed (restored)"),
    (lambda m: m.pop("points"), "points of 03d_visible were removed (restored to 1)"),
    (lambda m: m.update(schema_version=1),
     "nbgrader schema_version of test cell 03d_visible changed from 3 to 1 (restored)"),
    (lambda m: m.clear(), "nbgrader metadata of test cell 03d_visible was removed (restored)"),
])
def test_changed_nbgrader_metadata_of_a_test_cell_is_restored(change, finding):
    sub = copy.deepcopy(SOLUTION)
    change(cell(sub, "03d_visible").metadata.nbgrader)
    out = restored(sub)
    assert finding in out.tampering, out.tampering
    assert cell(out.nb, "03d_visible") == cell(RELEASE, "03d_visible")
    assert_release_structure(out.nb, answers_from=SOLUTION)


def test_removed_nbgrader_metadata_is_found_by_cell_id():
    sub = copy.deepcopy(SOLUTION)
    del cell(sub, "03d_visible").metadata["nbgrader"]  # the cell keeps its id, 03d-visible
    del cell(sub, "03d_solution").metadata["nbgrader"]
    out = restored(sub)
    assert out.tampering == ["nbgrader metadata of answer cell 03d_solution was removed (restored)",
                             "nbgrader metadata of test cell 03d_visible was removed (restored)"]
    assert_release_structure(out.nb, answers_from=SOLUTION)


def test_metadata_that_is_not_a_dict_is_survived():
    sub = copy.deepcopy(SOLUTION)
    i, j, k = at(sub, "03d_visible"), at(sub, "02d_visible"), at(sub, "01d_visible")
    sub.cells[i].metadata["nbgrader"] = "grade me"
    sub.cells[j].metadata = ["x"]
    sub.cells[k].source = ["a list", " of lines"]
    sub.cells.append({"not": "a cell"})
    junk = nbformat.v4.new_code_cell("z = 3")
    junk.outputs, junk.execution_count = "forged", "7"
    junk["evil"] = {"x": 1}  # a field nbformat does not know: not carried over
    sub.cells.append(junk)
    sub.metadata = ["not", "a", "dict"]
    out = restored(sub)  # and the result validates
    assert out.nb.cells[-1] == nbformat.v4.new_code_cell("z = 3", id=out.nb.cells[-1].id)
    assert "nbgrader metadata of test cell 03d_visible was removed (restored)" in out.tampering
    assert "nbgrader metadata of test cell 02d_visible was removed (restored)" in out.tampering
    assert "test cell 01d_visible was edited (restored)" in out.tampering
    assert "1 unreadable cell left out" in out.notes
    assert_release_structure(out.nb, answers_from=SOLUTION)


def test_test_cell_turned_into_markdown_is_restored():
    sub = copy.deepcopy(SOLUTION)
    c = cell(sub, "03d_visible")
    c.cell_type = "markdown"
    del c["outputs"], c["execution_count"]
    out = restored(sub)
    assert out.tampering == ["test cell 03d_visible was changed from a code to a markdown cell (restored)"]
    assert cell(out.nb, "03d_visible").cell_type == "code"


@pytest.mark.parametrize("tag", ["skip-execution", "raises-exception"])
def test_tags_that_skip_a_test_are_removed(tag):
    """nbclient does not run a cell tagged skip-execution: its saved (empty) output would pass."""
    sub = copy.deepcopy(BLANK)
    for c in sub.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            c.metadata["tags"] = [tag]
    out = restored(sub)
    assert f"test cell 03d_visible was tagged {tag} (tag removed)" in out.tampering
    assert not any(tag in c.metadata.get("tags", []) for c in out.nb.cells)


def test_answer_cells_with_the_tag_are_left_to_the_student():
    sub = copy.deepcopy(SOLUTION)
    cell(sub, "03d_solution").metadata["tags"] = ["skip-execution"]  # only hurts the student
    out = restored(sub)
    assert out.tampering == []


# -- answer cells, ungraded cells, added cells ----------------------------------------------------


def test_answers_are_kept_and_a_deleted_answer_comes_back_blank():
    sub = copy.deepcopy(SOLUTION)
    del sub.cells[at(sub, "01a_definition")]
    out = restored(sub)
    assert out.tampering == []
    assert out.notes == ["answer cell 01a_definition was deleted (restored blank)"]
    assert cell(out.nb, "01a_definition") == cell(RELEASE, "01a_definition")
    assert cell(out.nb, "03d_solution").source == cell(SOLUTION, "03d_solution").source


def test_answer_attachments_are_kept():
    sub = copy.deepcopy(SOLUTION)
    cell(sub, "01a_definition").attachments = {"fig.png": {"image/png": "iVBORw0KGgo="}}
    out = restored(sub)
    assert cell(out.nb, "01a_definition").attachments == {"fig.png": {"image/png": "iVBORw0KGgo="}}


def test_answer_cell_type_changes_are_notes():
    sub = copy.deepcopy(SOLUTION)
    c = cell(sub, "01a_definition")
    c.cell_type, c.outputs, c.execution_count = "code", [], None
    out = restored(sub)
    assert out.tampering == []
    assert out.notes == ["answer cell 01a_definition was changed from a markdown to a code cell (restored)"]
    assert cell(out.nb, "01a_definition").cell_type == "markdown"
    assert cell(out.nb, "01a_definition").source == cell(SOLUTION, "01a_definition").source


def test_ungraded_cells_are_the_students():
    sub = copy.deepcopy(SOLUTION)
    demo = next(c for c in sub.cells if c.id == "cell-014")
    demo.source = "# my own plot\nprint(1)"
    del sub.cells[next(i for i, c in enumerate(sub.cells) if c.id == "cell-032")]
    out = restored(sub)
    assert out.tampering == []
    assert out.notes == ["ungraded cell cell-032 was deleted (left out)"]
    assert next(c for c in out.nb.cells if c.id == "cell-014").source == "# my own plot\nprint(1)"
    assert not any(c.id == "cell-032" for c in out.nb.cells)


def test_added_cells_stay_after_the_cell_they_followed():
    sub = copy.deepcopy(SOLUTION)
    first = nbformat.v4.new_markdown_cell("my notes at the top")
    scratch = nbformat.v4.new_code_cell("print(adam_update)")
    late = nbformat.v4.new_code_cell("x = 1")
    sub.cells.insert(0, first)
    sub.cells.insert(at(sub, "03d_solution") + 1, scratch)
    moved_test = sub.cells.pop(at(sub, "04d_visible"))
    sub.cells.extend([moved_test, late])  # added after a test cell that was moved to the end
    out = restored(sub)
    assert out.tampering == ["cells moved: 04d_visible (put back in order)"]
    assert out.notes == ["3 cells added by the student (kept after the cell they followed)"]
    cells = out.nb.cells
    assert cells[0].source == "my notes at the top"
    assert cells[at(out.nb, "03d_solution") + 1].source == "print(adam_update)"
    assert cells[at(out.nb, "04d_visible") + 1].source == "x = 1"
    assert len({c.id for c in cells}) == len(cells)
    assert_release_structure(out.nb, answers_from=SOLUTION)


def test_added_cell_claiming_to_be_graded_becomes_an_ordinary_cell():
    sub = copy.deepcopy(BLANK)
    bonus = nbformat.v4.new_code_cell("pass")
    bonus.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": "bonus",
                                  "points": 50, "schema_version": 3}
    legacy = nbformat.v4.new_code_cell("y = 2")  # an old schema: nbgrader would stop the whole batch
    legacy.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "old", "schema_version": 1}
    sub.cells += [bonus, legacy]
    out = restored(sub)
    assert out.tampering == [
        "a cell the student added claimed to be a graded cell 'bonus' worth 50 points (made an ordinary cell)"]
    assert "a cell the student added carried nbgrader metadata for 'old' (made an ordinary cell)" in out.notes
    assert "nbgrader" not in out.nb.cells[-1].metadata and "nbgrader" not in out.nb.cells[-2].metadata


def test_copy_of_a_test_cell_is_kept_ungraded_and_the_original_restored():
    sub = copy.deepcopy(SOLUTION)
    dup = copy.deepcopy(cell(sub, "03d_visible"))
    dup.id = "my-copy"
    dup.source = "pass"
    sub.cells.append(dup)  # nbgrader's DeduplicateIds would keep this last copy and drop the original
    out = restored(sub)
    assert out.tampering == []
    assert "a copy of test cell 03d_visible was kept as the student's own cell (not graded)" in out.notes
    assert cell(out.nb, "03d_visible") == cell(RELEASE, "03d_visible")
    assert out.nb.cells[-1].source == "pass" and "nbgrader" not in out.nb.cells[-1].metadata


def test_a_relabelled_cell_cannot_replace_a_test():
    """A deleted test whose grade_id reappears on the student's own cell: the release's test is used."""
    sub = copy.deepcopy(SOLUTION)
    fake = nbformat.v4.new_code_cell("pass  # always passes")
    fake.metadata["nbgrader"] = copy.deepcopy(cell(sub, "03d_adam_update_hidden").metadata.nbgrader)
    del sub.cells[at(sub, "03d_adam_update_hidden")]
    sub.cells.append(fake)
    out = restored(sub)
    assert "test cell 03d_adam_update_hidden was edited (restored)" in out.tampering
    assert cell(out.nb, "03d_adam_update_hidden") == cell(RELEASE, "03d_adam_update_hidden")
    assert_release_structure(out.nb, answers_from=SOLUTION)


def test_notebook_saved_without_cell_ids():
    """nbformat 4.4 (older JupyterLab): cells matched by grade_id, ungraded ones by their source."""
    sub = copy.deepcopy(SOLUTION)
    for c in sub.cells:
        del c["id"]
    sub.nbformat_minor = 4
    out = restored(sub)
    assert out.tampering == [] and out.notes == []
    assert out.nb.nbformat_minor == 5
    assert [c.id for c in out.nb.cells] == [c.id for c in RELEASE.cells]


def test_planted_grader_metadata_is_replaced():
    sub = copy.deepcopy(SOLUTION)
    sub.metadata[METADATA_KEY] = {"tampering": [], "execution": {"status": "ok"}}
    out = restored(sub)
    assert out.tampering == [
        "the notebook metadata already had an 'adaptive_lr' entry, which only the grader writes (replaced)"]
    assert out.nb.metadata[METADATA_KEY] == {"tampering": out.tampering, "notes": []}


def test_a_release_with_duplicate_ids_is_refused():
    bad = copy.deepcopy(RELEASE)
    bad.cells.append(copy.deepcopy(bad.cells[1]))
    with pytest.raises(ValueError, match="two cells with the grade_id '00_setup'"):
        restore_notebook(SOLUTION, bad)


def tampered_solution():
    """The solution with every structural trick at once (also graded end to end below)."""
    sub = copy.deepcopy(SOLUTION)
    del sub.cells[at(sub, "03d_adam_update_hidden")]
    cell(sub, "00_setup").source += "\nnp.allclose = lambda *a, **k: True\n"
    cell(sub, "01d_visible").source = "pass"
    cell(sub, "01d_visible").metadata.nbgrader.points = 100
    cell(sub, "04d_amsgrad_update_hidden").metadata.nbgrader.points = 30
    cell(sub, "05d_visible").metadata.nbgrader.grade = False
    cell(sub, "06d_visible").metadata.nbgrader.solution = True
    cell(sub, "07d_visible").metadata["tags"] = ["skip-execution"]
    del cell(sub, "08d_visible").metadata["nbgrader"]
    cell(sub, "09d_visible").metadata.nbgrader.grade_id = "mine"
    sub.cells.append(sub.cells.pop(at(sub, "02d_visible")))
    bonus = nbformat.v4.new_code_cell("print('bonus')")
    bonus.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": False, "grade_id": "bonus",
                                  "points": 25, "schema_version": 3}
    sub.cells.insert(at(sub, "10d_solution") + 1, bonus)
    sub.cells.insert(at(sub, "10d_solution") + 1, nbformat.v4.new_code_cell("scratch = 'my own cell'"))
    return sub


TAMPERED_SOLUTION_FINDINGS = [
    "read-only cell 00_setup was edited (restored)",
    "points of 01d_visible changed from 1 to 100 (restored)",
    "test cell 01d_visible was edited (restored)",
    "test cell 03d_adam_update_hidden was deleted (restored)",
    "points of 04d_amsgrad_update_hidden changed from 3 to 30 (restored)",
    "grade flag of test cell 05d_visible was removed (restored)",
    "solution flag was added to test cell 06d_visible (restored)",
    "test cell 07d_visible was tagged skip-execution (tag removed)",
    "nbgrader metadata of test cell 08d_visible was removed (restored)",
    "grade_id of test cell 09d_visible was changed to 'mine' (restored)",
    "a cell the student added claimed to be a graded cell 'bonus' worth 25 points (made an ordinary cell)",
    "cells moved: 02d_visible (put back in order)",
]


def test_every_trick_at_once():
    out = restored(tampered_solution())
    assert out.tampering == TAMPERED_SOLUTION_FINDINGS
    assert out.notes == ["2 cells added by the student (kept after the cell they followed)"]
    assert_release_structure(out.nb, answers_from=SOLUTION)


# -- any mix of deletions, moves and additions --------------------------------------------------

_OPS = st.lists(st.tuples(st.sampled_from(["delete", "move", "add"]), st.integers(0, 10**6),
                          st.integers(0, 10**6)), max_size=12)


@settings(max_examples=30)
@given(_OPS)
def test_any_reshuffle_gives_the_release_structure_back(ops):
    sub = copy.deepcopy(SOLUTION)
    added = 0
    for op, i, j in ops:
        n = len(sub.cells)
        if op == "delete" and n > 1:
            del sub.cells[i % n]
        elif op == "move" and n > 1:
            sub.cells.insert(j % n, sub.cells.pop(i % n))
        elif op == "add":
            sub.cells.insert(i % (n + 1), nbformat.v4.new_code_cell(f"added_{added} = {added}"))
            added += 1
    kept = {gid(c) for c in sub.cells if gid(c)}
    out = restored(sub, validate=False)
    cells = release_cells_in_order(out.nb)
    # tests, read-only and answer cells all back, in release order; ungraded ones kept in order
    expected = [c.id for c in RELEASE.cells if gid(c) or any(s.get("id") == c.id for s in sub.cells)]
    assert [c.id for c in cells] == expected
    for c in cells:
        want = next(r for r in RELEASE.cells if r.id == c.id)
        meta = want.metadata.get("nbgrader")
        if meta and not meta.get("solution"):
            assert c == want
        elif meta:
            assert c.source == (cell(SOLUTION, gid(want)).source if gid(want) in kept else want.source)
    # every added cell that is still in the submission is there, once
    mine = [c.source for c in sub.cells if c.source.startswith("added_")]
    assert sorted(c.source for c in out.nb.cells if c.source.startswith("added_")) == sorted(mine)
    deleted_tests = sorted(gid(c) for c in RELEASE.cells
                           if gid(c) and not c.metadata.nbgrader.get("solution") and gid(c) not in kept)
    reported = sorted(line.split()[-4] for line in out.tampering if line.endswith("was deleted (restored)"))
    assert reported == deleted_tests


# -- the preprocessor ---------------------------------------------------------------------------

RESOURCES = {"nbgrader": {"assignment": "adaptive_lr", "notebook": "exercises", "student": "s1",
                          "db_url": "sqlite://"}}


def _run(pp, nb):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, _ = pp.preprocess(copy.deepcopy(nb), copy.deepcopy(RESOURCES))
    assert caught == []
    return out


def test_preprocessor_finds_the_release_through_the_converters_course_directory(tmp_path, capfd):
    release = tmp_path / "release" / "adaptive_lr" / "exercises.ipynb"
    release.parent.mkdir(parents=True)
    release.write_bytes(RELEASE_PATH.read_bytes())

    class Converter(LoggingConfigurable):  # stands for nbgrader's Autograde: pp.parent.parent.coursedir
        coursedir = None

    converter = Converter()
    converter.coursedir = CourseDirectory(root=str(tmp_path))
    exporter = LoggingConfigurable(parent=converter)
    pp = RestoreStructure(parent=exporter)
    assert pp.release_notebook("adaptive_lr", "exercises") == release
    out = _run(pp, tampered_solution())
    assert out.metadata[METADATA_KEY]["tampering"] == TAMPERED_SOLUTION_FINDINGS
    assert capfd.readouterr().err == "", "the preprocessor writes nothing to stderr but through its logger"


def test_preprocessor_release_path_is_configurable(tmp_path):
    c = Config()
    c.CourseDirectory.root = str(REPO)
    c.RestoreStructure.release_path = "release/{assignment}/{notebook}.ipynb"
    pp = RestoreStructure(config=c)
    assert pp.release_notebook("adaptive_lr", "exercises") == RELEASE_PATH
    assert _run(pp, SOLUTION).metadata[METADATA_KEY] == {"tampering": [], "notes": []}
    c.RestoreStructure.release_path = str(RELEASE_PATH)  # absolute
    assert RestoreStructure(config=c).release_notebook("x", "y") == RELEASE_PATH


def test_preprocessor_without_a_release_says_what_to_do(tmp_path):
    c = Config()
    c.CourseDirectory.root = str(tmp_path)
    with pytest.raises(FileNotFoundError, match="generate_assignment"):
        RestoreStructure(config=c).preprocess(copy.deepcopy(SOLUTION), copy.deepcopy(RESOURCES))


def test_grader_config_runs_it_before_nbgraders_sanitizing_and_keeps_its_metadata():
    c = PyFileConfigLoader("nbgrader_config.py", str(REPO)).load_config()
    steps = list(c.Autograde.sanitize_preprocessors)
    short = [s.rsplit(".", 1)[1] for s in steps]
    assert short == ["ClearOutput", "RestoreStructure", "DeduplicateIds", "OverwriteKernelspec",
                     "OverwriteCells", "CheckCellMetadata"]  # nbgrader's defaults, all kept
    assert "adaptive_lr.course.restore.RestoreStructure" in steps
    mask = c.ClearMetadataPreprocessor.preserve_nb_metadata_mask
    assert ("adaptive_lr",) in mask and ("language_info", "name") in mask
    from nbconvert.preprocessors import ClearMetadataPreprocessor

    nb = restored(tampered_solution()).nb
    kept, _ = ClearMetadataPreprocessor(config=c, enabled=True).preprocess(copy.deepcopy(nb), {})
    assert kept.metadata[METADATA_KEY]["tampering"] == TAMPERED_SOLUTION_FINDINGS


# -- end to end: nbgrader autograde ------------------------------------------------------------


def tampered_blank():
    """The blank release, with tests skipped, edited, relabelled and deleted, and points raised."""
    sub = copy.deepcopy(BLANK)
    for c in sub.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade") and c.cell_type == "code":
            c.metadata["tags"] = ["skip-execution"]  # not run: no error output, full points
    cell(sub, "01d_visible").source = "pass"
    cell(sub, "02d_visible").metadata.nbgrader.points = 40
    cell(sub, "03d_visible").metadata.nbgrader.grade = False
    del sub.cells[at(sub, "04d_amsgrad_update_hidden")]
    cell(sub, "05d_visible").metadata.nbgrader.grade_id = "05d_mine"
    sub.cells.append(sub.cells.pop(at(sub, "06d_visible")))
    return sub


def _checksums(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tampered_batch(tmp_path_factory):
    """One nbgrader batch: the solution, the tampered solution and the tampered blank.

    The grading sandbox is off here (it has its own tests in test_batch.py): this is
    about what nbgrader grades once the structure is restored.
    """
    saved = {k: os.environ.get(k) for k in ("ADAPTIVE_LR_SANDBOX", "MPLBACKEND")}
    os.environ["ADAPTIVE_LR_SANDBOX"] = "0"
    os.environ["MPLBACKEND"] = "Agg"
    try:
        course = Course(tmp_path_factory.mktemp("restore-e2e") / "course", REPO).create()
        course.generate_release()
        release = subs.read(course.release_notebook)
        assert restore_notebook(release, RELEASE).tampering == []  # the committed release is current
        students = {"solution": SOLUTION, "tampered-solution": tampered_solution(),
                    "tampered-blank": tampered_blank()}
        for student, nb in students.items():
            course.submit(student, nb)
        before = _checksums(course.root / "submitted")
        course.autograde()  # fails if nbgrader could not grade any of them
        after = _checksums(course.root / "submitted")
        return course, read_grades(course.db_url), before, after
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.mark.slow
def test_tampering_earns_nothing_end_to_end(tampered_batch):
    course, grades, before, after = tampered_batch
    solution, tampered, blank = grades["solution"], grades["tampered-solution"], grades["tampered-blank"]
    assert solution.auto_score() == solution.auto_max() == 50
    # exactly the solution's score, cell by cell, out of the same points
    assert {k: (c.score, c.max_score) for k, c in tampered.cells.items()} == \
        {k: (c.score, c.max_score) for k, c in solution.cells.items()}
    assert tampered.auto_score() == 50 and tampered.auto_max() == 50
    assert blank.auto_score() == 0 and blank.auto_max() == 50
    assert set(blank.cells) == set(solution.cells)
    # submitted/ is byte-identical
    assert before == after and len(before) == 3

    graded_nb = subs.read(course.autograded_notebook("tampered-solution"))
    assert graded_nb.metadata[METADATA_KEY]["tampering"] == TAMPERED_SOLUTION_FINDINGS
    hidden = cell(graded_nb, "03d_adam_update_hidden")
    assert "BEGIN HIDDEN TESTS" in hidden.source  # OverwriteCells put the hidden test back
    assert not any(o.get("output_type") == "error" for o in hidden.outputs)
    assert any(c.source == "scratch = 'my own cell'" for c in graded_nb.cells)

    blank_nb = subs.read(course.autograded_notebook("tampered-blank"))
    findings = blank_nb.metadata[METADATA_KEY]["tampering"]
    assert "test cell 04d_amsgrad_update_hidden was deleted (restored)" in findings
    assert "test cell 01d_visible was tagged skip-execution (tag removed)" in findings
    assert "grade_id of test cell 05d_visible was changed to '05d_mine' (restored)" in findings
    assert "cells moved: 06d_visible (put back in order)" in findings
    assert all(c.outputs for c in blank_nb.cells if c.cell_type == "code" and gid(c)
               and c.metadata.nbgrader.get("grade")), "every test ran"

    clean_nb = subs.read(course.autograded_notebook("solution"))
    meta = clean_nb.metadata[METADATA_KEY]  # the executor adds its own "execution" record beside ours
    assert (meta["tampering"], meta["notes"]) == ([], [])
    assert "Tampering in tampered-solution's exercises" in course.log_path.read_text()
