"""A throwaway PostgreSQL server for tests: Debian's initdb and pg_ctl, a Unix socket, no TCP.

Runs as the unprivileged ``postgres`` account when the tests run as root (a
server refuses to run as root), else as the current user. The data folder and
the socket folder are a fresh temporary folder owned by that account, mode
0700: the grading kernels' accounts cannot even reach the socket.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager


def pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def server(user: str = "grader", database: str = "gradebook"):
    """Yield a ``postgresql://`` URL of a fresh database; stop and delete the server afterwards."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql")
    run_as = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    base = tempfile.mkdtemp(prefix="adaptive-lr-pg-", dir="/tmp")
    os.chmod(base, 0o700)
    if run_as:
        os.chown(base, run_as.pw_uid, run_as.pw_gid)
    data, log = os.path.join(base, "data"), os.path.join(base, "server.log")
    port = str(20000 + os.getpid() % 20000)
    kw = {"user": run_as.pw_uid, "group": run_as.pw_gid, "extra_groups": []} if run_as else {}

    def pg(*args, check=True):
        return subprocess.run([os.path.join(bin_dir, args[0]), *args[1:]], check=check,
                              capture_output=True, text=True, cwd=base, **kw)

    try:
        pg("initdb", "-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-k {base} -c listen_addresses='' -p {port} -c fsync=off"
        pg("pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", "-t", "60", "start")
        pg("createdb", "-h", base, "-p", port, "-U", user, database)
        yield f"postgresql://{user}@/{database}?host={base}&port={port}"
    finally:
        pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", check=False)
        time.sleep(0.1)
        shutil.rmtree(base, ignore_errors=True)
