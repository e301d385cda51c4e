"""The grading kernel's sandbox: what a student's code may touch while it is graded.

A submission runs in an IPython kernel started by :mod:`.kernel` instead of
the plain ``python3`` kernel. Before the kernel starts, the launcher

* sets resource limits (:mod:`.limits`): address space, CPU seconds,
  processes, size of a written file, open files, no core dumps. A memory bomb
  gets ``MemoryError``, a fork bomb ``BlockingIOError``, a 100 MB file
  ``OSError``, a runaway loop ``SIGXCPU``;
* when started as root, becomes a dedicated unprivileged user
  (:mod:`.users`, ``adaptive-lr-grader`` by default) with no supplementary
  groups, so the kernel cannot write to the course, the gradebook, the
  submissions or other students' folders (they belong to the instructor, and
  the course folder is not readable by other users at all);
* moves into a fresh scratch folder owned by that user, which becomes its
  ``HOME`` and ``TMPDIR``: the only place it can write (:mod:`.mounts`: a
  read-only view of the rest, the course's secrets and the folders of other
  services' Unix sockets hidden);
* when started as root, moves into a network namespace of its own whose
  only interface is its own loopback (:mod:`.network`); the grader reaches
  the kernel over Jupyter's IPC transport (:mod:`.provisioner`);
* replaces itself with ``ipykernel`` under an allow-listed environment
  (:func:`.kernel.environment`): nothing of the grader's secrets.

A grading worker starts its kernels as forks of a *zygote* (:mod:`.zygote`), a
process with that same allow-listed environment that has already imported
ipykernel, NumPy, matplotlib and the grading helpers: each fork takes the
steps above and then starts ipykernel in place.

After a kernel ends, :func:`.users.reap` kills whatever processes the
grading user still has (a fork bomb's orphans, a ``setsid`` escape).

Started by a user other than root, the launcher cannot switch users nor
make namespaces: it still applies the limits, the scratch folder and the
environment allow-list, and says so on its first line of output. Run the
grader as root for full isolation. This is plain POSIX and Linux system calls
(``setrlimit``, ``setuid``, ``unshare``, ``mount``): no containers, nothing
beyond a standard Linux machine.
"""

from .kernelspec import KERNEL_NAME, write_kernelspec
from .limits import Limits
from .users import DEFAULT_USER, ensure_user, reap

__all__ = ["DEFAULT_USER", "KERNEL_NAME", "Limits", "ensure_user", "reap", "write_kernelspec"]
