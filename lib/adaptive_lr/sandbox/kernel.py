"""Launch an IPython kernel inside the grading sandbox.

The kernelspec written by :func:`adaptive_lr.sandbox.write_kernelspec` runs::

    python -m adaptive_lr.sandbox.kernel --user NAME --scratch-root DIR [limits] -f CONNECTION_FILE

and this module, in order: makes a private scratch folder, copies the
connection file into it (the original is readable by the grader only), sets
the resource limits, drops to the grading user when started as root, moves
into the scratch folder, and replaces itself with ``ipykernel``. Nothing of
the student's code runs before all of that is in place.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from . import mounts
from .limits import Limits, parse_bytes
from .users import DEFAULT_USER, is_root


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m adaptive_lr.sandbox.kernel")
    p.add_argument("-f", dest="connection_file", required=True)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument(
        "--scratch-root", default=os.path.join(tempfile.gettempdir(), "adaptive-lr-sandbox")
    )
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


def _environment(scratch: str) -> dict:
    env = dict(os.environ)
    for key in (
        "HOME",
        "TMPDIR",
        "MPLCONFIGDIR",
        "IPYTHONDIR",
        "JUPYTER_RUNTIME_DIR",
        "XDG_CACHE_HOME",
    ):
        env[key] = scratch
    env["MPLBACKEND"] = "Agg"
    # One BLAS thread: threads count against the process limit, and grading is
    # parallel across notebooks, not inside one.
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = "1"
    env["ADAPTIVE_LR_SANDBOX"] = scratch
    return env


def main(argv=None) -> None:
    args = _parser().parse_args(argv)
    limits = Limits(args.memory, args.cpu, args.nproc, args.fsize, args.nofile)
    if is_root():
        import pwd

        account = pwd.getpwnam(args.user)
        uid, gid = account.pw_uid, account.pw_gid
        mode = f"user {args.user}"
    else:
        uid, gid = os.getuid(), os.getgid()
        mode = "limits only (not started as root: no separate user)"
    scratch = _scratch_dir(args.scratch_root, uid, gid)
    if mounts.available() and not args.writable_view:
        # The interpreter and the scratch folder must be reachable by the grading
        # user even under a private ancestor (pyenv in /root, pytest's tmp).
        expose = {
            sys.base_prefix,
            sys.prefix,
            os.path.dirname(os.path.realpath(sys.executable)),
            scratch,
        }
        mounts.read_only_except(
            scratch, args.scratch_size, uid, gid, expose=sorted(expose), hide=args.hide
        )
        mode += ", read-only file system except the scratch folder"
    connection = os.path.join(scratch, "kernel.json")
    shutil.copyfile(args.connection_file, connection)
    os.chown(connection, uid, gid)
    os.chmod(connection, 0o600)
    env = _environment(scratch)
    limits.apply()
    if is_root():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)  # irreversible: setuid as root sets real, effective and saved ids
    os.chdir(scratch)
    os.umask(0o077)
    print(f"[sandbox] {mode}; scratch {scratch}", file=sys.stdout, flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection], env)


if __name__ == "__main__":
    main()
