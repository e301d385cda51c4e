"""`adaptive-lr grade` refuses, in one line and before grading anyone, a course it cannot grade."""

from __future__ import annotations

import nbformat
import pytest

from adaptive_lr import cli
from adaptive_lr.course.pipeline import Course, normalize_db_url, repo_root


@pytest.fixture
def course(tmp_path):
    c = Course(tmp_path / "course", repo_root()).create()
    student = c.root / "submitted" / "alice" / "adaptive_lr"
    student.mkdir(parents=True)
    (student / "exercises.ipynb").write_text("{}")
    return c


def test_gradebook_without_the_assignment_is_one_line(course, capsys):
    assert cli.main(["grade", str(course.root), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "generate_assignment" in err[0] and "alice" not in err[0]
    assert not (course.root / "gradebook.db").exists(), "checking must not create a gradebook"


def test_gradebook_url_from_the_environment_is_used(course, capsys, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("ADAPTIVE_LR_GRADEBOOK_URL", url)
    assert Course(course.root).db_url == url
    assert Course(course.root).env()["ADAPTIVE_LR_GRADEBOOK_URL"] == url
    assert cli.main(["grade", str(course.root)]) == 2
    assert url in capsys.readouterr().err
    assert Course(course.root, db_url="sqlite:///x.db").db_url == "sqlite:///x.db", "--db wins"


def test_postgresql_urls_get_the_installed_driver():
    assert normalize_db_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_db_url("sqlite:///a.db") == "sqlite:///a.db"


def test_a_non_literal_hidden_test_argument_stops_the_batch(course, capsys):
    nb = nbformat.read(course.source_notebook, as_version=4)
    for cell in nb.cells:
        if 'hidden_test("adam_update"' in cell.source:
            cell.source = cell.source.replace("seed=3101", "seed=SEED")
    nbformat.write(nb, course.source_notebook)
    assert cli.main(["grade", str(course.root)]) == 2
    err = capsys.readouterr().err
    assert "03d_adam_update_hidden" in err and "SEED" in err and "not a literal" in err


def test_workers_must_be_positive():
    with pytest.raises(SystemExit):
        cli.main(["grade", "x", "--workers", "0"])
