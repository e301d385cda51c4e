"""Chromium and playwright are there and Chromium runs, or every browser test is skipped with this one line."""

import subprocess

import pytest

from .lab import CHROMIUM, browser_missing


def test_chromium_runs():
    missing = browser_missing()
    if missing:
        pytest.skip(f"browser tests skipped: {missing}")
    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Chromium" in out.stdout, out.stdout + out.stderr
