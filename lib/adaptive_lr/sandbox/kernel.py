"""Launch an IPython kernel inside the grading sandbox.

The kernelspec written by :func:`adaptive_lr.sandbox.write_kernelspec` runs::

    python -m adaptive_lr.sandbox.kernel --user NAME --scratch-root DIR [limits] -f CONNECTION_FILE

and this module, in order: makes a private scratch folder, reads the
connection file (readable by the grader only), moves into a network namespace
of its own and a read-only view of the file system when started as root,
copies the connection file into the scratch folder, sets the resource limits,
drops to the grading user, moves into the scratch folder, and replaces itself
with ``ipykernel`` with an allow-listed environment (:func:`environment`).
Nothing of the student's code runs before all of that is in place.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from . import inline, mounts, network
from .kernelspec import PLOT_BACKENDS, default_scratch_root
from .limits import Limits, parse_bytes
from .users import DEFAULT_USER, is_root

# What a kernel's environment holds: these names from the grader's, when set, and the
# values environment() sets. Everything else (tokens, keys, passwords, the gradebook's
# URL, proxies) stays with the grader.
PASSED_ON = ("PYTHONPATH", "LANG", "LANGUAGE", "JPY_PARENT_PID")
PASSED_ON_PREFIXES = ("LC_",)
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m adaptive_lr.sandbox.kernel")
    p.add_argument("-f", dest="connection_file", required=True)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--scratch-root", default=default_scratch_root())
    d = Limits()
    p.add_argument("--memory", type=parse_bytes, default=d.memory_bytes)
    p.add_argument("--cpu", type=int, default=d.cpu_seconds)
    p.add_argument("--nproc", type=int, default=d.max_processes)
    p.add_argument("--fsize", type=parse_bytes, default=d.max_file_bytes)
    p.add_argument("--nofile", type=int, default=d.open_files)
    p.add_argument("--scratch-size", type=parse_bytes, default=64 * 2**20)
    p.add_argument(
        "--hide", action="append", default=[], help="a path to cover with an empty folder"
    )
    p.add_argument(
        "--plot-backend",
        choices=sorted(PLOT_BACKENDS),
        default="inline",
        help="inline: figures reach the notebook as PNG; agg: no figure output",
    )
    p.add_argument(
        "--writable-view",
        action="store_true",
        help="skip the read-only file-system view (rely on file permissions alone)",
    )
    return p


def _scratch_dir(root: str, uid: int, gid: int) -> str:
    os.makedirs(root, mode=0o711, exist_ok=True)
    path = tempfile.mkdtemp(prefix="kernel-", dir=root)
    os.chown(path, uid, gid)
    os.chmod(path, 0o700)
    return path


def passed_on(source) -> dict:
    """The variables of ``source`` a kernel's environment takes: :data:`PASSED_ON` and ``LC_*``."""
    return {k: v for k, v in source.items() if k in PASSED_ON or k.startswith(PASSED_ON_PREFIXES)}


def environment(scratch: str, source=None, plot_backend: str = "inline") -> dict:
    """The kernel's whole environment: an allow-list, never a copy of the grader's.

    From ``source`` (the launcher's environment) only :data:`PASSED_ON` and
    the locale (``LC_*``); ``PATH`` is this interpreter's folder and the
    system's; home, temporary files and every cache are the scratch folder.
    """
    env = passed_on(os.environ if source is None else source)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), *SYSTEM_PATH])
    for key in (
        "HOME",
        "TMPDIR",
        "MPLCONFIGDIR",
        "IPYTHONDIR",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
    ):
        env[key] = scratch
    env["MPLBACKEND"] = PLOT_BACKENDS[plot_backend]
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # debugpy's frozen-modules warning, on stderr
    # One BLAS thread: threads count against the process limit, and grading is
    # parallel across notebooks, not inside one.
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = "1"
    env["ADAPTIVE_LR_SANDBOX"] = scratch
    return env


def _needed_paths() -> set:
    """What the kernel must see: the interpreter, this library and the PYTHONPATH entries."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)), here}
    paths.update(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    return {os.path.realpath(p) for p in paths if os.path.exists(p)}


def _ipc_folder(connection: dict, isolated: bool) -> str | None:
    """The folder of the kernel's IPC sockets; without a network of its own, a kernel needs IPC."""
    if connection.get("transport") == "ipc":
        return os.path.dirname(os.path.abspath(connection["ip"]))
    if isolated:
        raise SystemExit(
            "[sandbox] this kernel has no network (a network namespace of its own): start it "
            "over the IPC transport, as the sandbox kernelspec's provisioner does "
            "(adaptive_lr.sandbox.provisioner), not over "
            f"{connection.get('transport', 'tcp')!r}"
        )
    return None


def main(argv=None) -> None:
    connection, plot_backend, env = enter(argv)
    os.execve(sys.executable, kernel_argv(connection, plot_backend), env)


def enter(argv=None) -> tuple[str, str, dict]:
    """Every step of the module docstring but the last: this process is in the sandbox after it.

    Returns the kernel's connection file (in the scratch folder), its plot
    backend and its whole environment, for :func:`main` to replace this
    process with ipykernel, or for a kernel forked from a process that has
    imported it already (:mod:`.zygote`) to start it in place.
    """
    args = _parser().parse_args(argv)
    limits = Limits(args.memory, args.cpu, args.nproc, args.fsize, args.nofile)
    if is_root():
        import pwd

        account = pwd.getpwnam(args.user)
        uid, gid = account.pw_uid, account.pw_gid
        mode = f"user {args.user}"
    else:
        uid, gid = os.getuid(), os.getgid()
        mode = "limits only (not started as root: no separate user, no namespaces)"
    scratch = _scratch_dir(args.scratch_root, uid, gid)
    # Read before the mounts: its folder may be out of the kernel's view.
    with open(args.connection_file, "rb") as f:
        connection_bytes = f.read()
    isolated = network.available()
    ipc = _ipc_folder(json.loads(connection_bytes), isolated)
    host_sockets = network.host_socket_paths() if isolated else []
    if isolated:
        network.isolate()
        mode += ", own network (loopback only)"
    else:
        mode += ", the machine's network"
    if mounts.available() and not args.writable_view:
        # The interpreter and the scratch folder must be reachable by the grading
        # user even under a private ancestor (pyenv in /root, pytest's tmp).
        mounts.read_only_except(
            scratch,
            args.scratch_size,
            uid,
            gid,
            expose=sorted(_needed_paths() | {scratch}),
            hide=args.hide,
            writable=[ipc] if ipc else [],
            sockets=host_sockets,
            own_sysfs=isolated,
        )
        mode += ", read-only file system except the scratch folder, socket folders hidden"
    connection = os.path.join(scratch, "kernel.json")
    with open(connection, "wb") as f:
        f.write(connection_bytes)
    os.chown(connection, uid, gid)
    os.chmod(connection, 0o600)
    env = environment(scratch, plot_backend=args.plot_backend)
    limits.apply()
    if is_root():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)  # irreversible: setuid as root sets real, effective and saved ids
    os.chdir(scratch)
    os.umask(0o077)
    print(f"[sandbox] {mode}; scratch {scratch}", file=sys.stdout, flush=True)
    return connection, args.plot_backend, env


def kernel_argv(connection: str, plot_backend: str = "inline") -> list:
    """The ipykernel command line the launcher replaces itself with."""
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", connection]
    if plot_backend == "inline":
        argv += inline.kernel_options()
    return argv


if __name__ == "__main__":
    main()
