"""Real Unix student accounts for the lifecycle tests (created as root, removed afterwards)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: the exchange test creates Unix student accounts (useradd) so that "
                    "permissions are those of a shared JupyterHub; run the suite as root (CI does)")
    if shutil.which("useradd") is None:
        pytest.skip("needs useradd to create student accounts")


def _run(*cmd):
    for attempt in range(10):  # /etc/passwd may be locked by a parallel useradd
        proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return
        if "lock" not in proc.stderr:
            break
        time.sleep(0.3 * (attempt + 1))
    raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr}")


@contextmanager
def student_accounts(homes: Path, names):
    """Accounts ``alr<random>-<name>`` with private homes under ``homes``; yields name -> (user, home)."""
    tag = secrets.token_hex(3)
    made = {}
    try:
        for name in names:
            user = f"alr{tag}-{name}"
            home = homes / user
            _run("useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
                 "--user-group", user)
            made[name] = (user, home)
            entry = pwd.getpwnam(user)
            home.mkdir(parents=True)
            os.chown(home, entry.pw_uid, entry.pw_gid)
            os.chmod(home, 0o700)  # a hub's homes are private
        yield made
    finally:
        for user, _ in made.values():
            subprocess.run(["userdel", user], capture_output=True, check=False)
            subprocess.run(["groupdel", user], capture_output=True, check=False)
