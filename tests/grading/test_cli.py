"""The command line: subcommands parse, `tour` delegates to adaptive_lr.tour when it exists."""

from __future__ import annotations

import sys
import types

import pytest

from adaptive_lr import cli


def test_tour_calls_the_tour_module_with_its_arguments(monkeypatch):
    seen = {}
    fake = types.ModuleType("adaptive_lr.tour")
    fake.main = lambda argv=None: seen.setdefault("argv", argv) and 0
    monkeypatch.setitem(sys.modules, "adaptive_lr.tour", fake)
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: object())
    assert cli.main(["tour", "out_dir"]) == 0
    assert seen["argv"] == ["out_dir"]


def test_tour_without_the_module(monkeypatch, capsys):
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None)
    assert cli.main(["tour"]) == 1
    assert "not available" in capsys.readouterr().err


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        cli.main(["nope"])


def test_gradebook_command_prints_the_table(graded, capsys):
    course = graded.courses["a"]
    assert cli.main(["gradebook", "--db", course.db_url]) == 0
    out = capsys.readouterr().out
    assert "solution" in out and "50/50" in out
