"""mounts.expose_privately: a path under a private folder becomes reachable, nothing else of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from adaptive_lr.sandbox import mounts

NOBODY = 65534
# The probe's interpreter, which may itself lie under a private folder (pyenv in /root).
INTERPRETER = sorted({sys.base_prefix, sys.prefix,
                      os.path.dirname(os.path.realpath(sys.executable))})

PROBE = r"""
import json, os, sys
private, needed, secret = sys.argv[1:4]
out = {}
for name, fn in (("read needed", lambda: open(needed).read()),
                 ("read secret", lambda: open(secret).read()),
                 ("list private", lambda: sorted(os.listdir(private)))):
    try:
        out[name] = fn()
    except OSError as exc:
        out[name] = type(exc).__name__
print(json.dumps(out))
"""


def _run_as_nobody(private, needed, secret, expose: bool):
    paths = [*([str(needed)] if expose else []), *INTERPRETER]
    expected = expose or any(mounts._blocking_ancestor(p) for p in INTERPRETER)

    def preexec():
        if mounts.expose_privately(paths) != expected:
            os._exit(3)  # a namespace is made exactly when some path lies under a private folder
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    return subprocess.run([sys.executable, "-c", PROBE, str(private), str(needed), str(secret)],
                          capture_output=True, text=True, preexec_fn=preexec, check=False, cwd="/")


@pytest.fixture
def private_folder():
    if not mounts.available():
        pytest.skip("needs root on Linux (a private mount namespace)")
    base = Path(tempfile.mkdtemp(prefix="adaptive-lr-mounts-"))
    os.chmod(base, 0o755)  # like /home: everyone may traverse it
    private = base / "instructor"
    (private / "shared").mkdir(parents=True)
    needed = private / "shared" / "notes.txt"
    needed.write_text("for everyone")
    secret = private / "source.ipynb"
    secret.write_text("model answers")
    for path in (needed, secret):
        os.chmod(path, 0o644)
    os.chmod(private / "shared", 0o755)
    os.chmod(private, 0o700)
    if (top := mounts._blocking_ancestor(str(needed))) != str(private):
        pytest.skip(f"an ancestor of the temporary folder is private already: {top}")
    yield private, needed, secret
    shutil.rmtree(base, ignore_errors=True)


def test_expose_privately_shows_only_the_needed_path(private_folder):
    private, needed, secret = private_folder
    proc = _run_as_nobody(private, needed, secret, expose=True)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["read needed"] == "for everyone"
    assert seen["read secret"] in ("FileNotFoundError", "PermissionError")
    assert seen["list private"] == ["shared"]
    # The real file system is unchanged: the folder is still private and holds both files.
    assert oct(os.stat(private).st_mode & 0o777) == "0o700"
    assert sorted(os.listdir(private)) == ["shared", "source.ipynb"]


def test_without_it_the_private_folder_stops_the_user(private_folder):
    private, needed, secret = private_folder
    seen = json.loads(_run_as_nobody(private, needed, secret, expose=False).stdout)
    assert seen["read needed"] == "PermissionError" and seen["list private"] == "PermissionError"
    assert seen["read secret"] == "PermissionError"


def test_expose_privately_does_nothing_when_nothing_is_private():
    if not mounts.available():
        pytest.skip("needs root on Linux")
    open_path = "/usr/bin"
    assert mounts._blocking_ancestor(open_path) is None
    assert mounts.expose_privately([open_path]) is False  # in this process: no namespace made
