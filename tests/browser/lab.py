"""A JupyterLab server and a Chromium for browser tests and the latency benchmark.

:class:`Lab` starts ``jupyter lab`` the way ``make lab`` does (``.venv/bin``
first on ``PATH`` so nbgrader finds ``alembic``, no ``MPLBACKEND``, the
repository's ``nbgrader_config.py`` in the working directory) but on
127.0.0.1, a free port, a random token, a fresh ``HOME`` and Jupyter
folders, and a scratch root folder. :func:`chromium` launches Debian's
``/usr/bin/chromium`` through playwright (whose own browser downloads are not
used) with a fresh profile.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ADAPTIVE_LR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium with apt-get)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """``jupyter lab`` on a scratch root folder; ``url(path)`` opens a path with the token."""

    def __init__(self, root: Path, home: Path, course: Path | None = None):
        self.root, self.home, self.course = Path(root), Path(home), course
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.proc = None
        self.log = self.home / "jupyterlab.log"

    def env(self) -> dict:
        venv_bin = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MPL"))}
        env.pop("ADAPTIVE_LR_COURSE_ROOT", None)
        env.update(
            HOME=str(self.home),
            PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""),
            JUPYTER_CONFIG_DIR=str(self.home / ".jupyter"),
            JUPYTER_DATA_DIR=str(self.home / ".local/share/jupyter"),
            JUPYTER_RUNTIME_DIR=str(self.home / ".local/share/jupyter/runtime"),
            IPYTHONDIR=str(self.home / ".ipython"),
            PYTHONPATH=str(ROOT / "lib"),
        )
        if self.course is not None:
            env["ADAPTIVE_LR_COURSE_ROOT"] = str(self.course)
        return env

    def start(self, timeout: float = 120.0) -> "Lab":
        for name in ("nbgrader_config.py", "grader_config.py"):
            shutil.copy(ROOT / name, self.root / name)
        # JupyterLab's news and update checks would only time out here (no internet).
        settings = self.home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false", "checkForUpdates": false}'
        )
        jupyter = Path(sys.executable).with_name("jupyter")
        cmd = [
            str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0", "--allow-root",
            # The lab's kernels over Unix sockets, as the grading kernels: over TCP, another process
            # of the parallel suite can bind a port between jupyter_server choosing it and the
            # kernel binding it ("Address already in use", and a kernel that never starts). The
            # kernels nbgrader's Validate starts for itself do not read this and stay on TCP.
            "--KernelManager.transport=ipc", f"--KernelManager.ip={self.home / 'kernel'}",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=self.env(), stdout=open(self.log, "w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as r:
                    if r.status == 200:
                        return self
            time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not start in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{sep}token={self.token}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def chromium(profile: Path, viewport=(1400, 1000)):
    """A playwright browser context on Debian's Chromium with a fresh profile folder."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            yield context
        finally:
            context.close()
