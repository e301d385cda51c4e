"""What each probe of adaptive_lr.course.probes must print from inside a grading kernel.

Shared by the kernel-level tests (tests/sandbox/test_network.py) and the
hostile batch (tests/hostile/test_batch.py), which see the same probes'
output through a kernel and through an autograded notebook.
"""

from __future__ import annotations

import ast
import os

from adaptive_lr.course.probes import NETWORK_VIEW, PRINTS_ENVIRONMENT, TCP_TO_HOST, UNIX_TO_HOST
from adaptive_lr.sandbox.kernel import PASSED_ON
from adaptive_lr.sandbox.mounts import SOCKET_FOLDERS

ROOT = os.geteuid() == 0

# What a grader's environment may hold that no kernel may see (values, not only names).
SECRETS = {
    "GRADER_SECRET_TOKEN": "grader-secret-7f3a9c",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-2b8e41",
    "ADAPTIVE_LR_GRADEBOOK_URL": "postgresql://grader:db-password-5d1c@localhost/adaptive_lr",
}
# Set by the launcher (kernel.environment), or by ipykernel itself when it starts.
SET_IN_KERNEL = {
    "PATH", "HOME", "TMPDIR", "MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
    "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
    "MKL_NUM_THREADS", "ADAPTIVE_LR_SANDBOX",
}  # fmt: skip
BY_IPYKERNEL = {"TERM", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "PAGER", "GIT_PAGER",
                "PYDEVD_USE_FRAME_EVAL"}  # fmt: skip


def _after(lines, prefix: str) -> str:
    found = [line[len(prefix) :].strip() for line in lines if line.startswith(prefix)]
    assert found, f"the probe printed no line starting with {prefix!r}: {lines}"
    return found[0]


def check_environment(lines, secrets=SECRETS) -> None:
    names = ast.literal_eval(_after(lines, "probe environ:"))
    assert "HOME" in names and "PATH" in names, names
    stray = [
        n for n in names
        if n not in PASSED_ON and not n.startswith("LC_") and n not in SET_IN_KERNEL | BY_IPYKERNEL
    ]  # fmt: skip
    assert not stray, f"the kernel's environment holds names outside the allow-list: {stray}"
    text = "\n".join(lines)
    for name, value in secrets.items():
        assert value not in text and name not in names, f"{name} reached the kernel"
    if ROOT:  # another user's processes: the grader's environment is not readable
        for line in lines:
            if line.startswith("probe /proc/"):
                assert line.endswith("PermissionError"), line


def check_tcp(lines) -> None:
    assert _after(lines, "probe tcp 127.0.0.1:") == "ConnectionRefusedError", lines


def check_unix(lines, socket_paths) -> None:
    """A socket in a hidden folder (/run, /tmp, ...) is not there; one elsewhere is covered by
    /dev/null; an abstract one lives in the host's network namespace, not the kernel's."""
    for path in socket_paths:
        verdict = _after(lines, f"probe unix {path!r}")
        hidden = any(path.startswith(os.path.realpath(f) + "/") for f in SOCKET_FOLDERS)
        expected = "FileNotFoundError" if hidden else "ConnectionRefusedError"
        assert verdict == expected, (path, verdict)


def check_network(lines) -> None:
    for source in ("interfaces", "/sys/class/net", "/proc/net/dev"):
        assert ast.literal_eval(_after(lines, f"probe {source}:")) == ["lo"], source
    assert _after(lines, "probe resolve pypi.org:") == "gaierror", lines
    assert _after(lines, "probe tcp 1.1.1.1:443:") == "OSError", lines


def check(slug: str, lines, socket_paths) -> None:
    if slug == PRINTS_ENVIRONMENT.slug:
        check_environment(lines)
    elif slug == TCP_TO_HOST.slug:
        check_tcp(lines)
    elif slug == UNIX_TO_HOST.slug:
        check_unix(lines, socket_paths)
    elif slug == NETWORK_VIEW.slug:
        check_network(lines)
    else:
        raise KeyError(slug)
