"""How Jupyter starts a sandbox kernel: over the IPC transport, in a socket folder of its own.

A sandbox kernel has a network namespace of its own (:mod:`.network`), so it
cannot listen on the grader's ``127.0.0.1``. The kernelspec written by
:func:`adaptive_lr.sandbox.write_kernelspec` names this provisioner
(``metadata.kernel_provisioner``, registered under the entry point group
``jupyter_client.kernel_provisioners``), so every client that starts that
kernelspec (nbgrader's executor, the re-check, a test, JupyterLab) talks to
the kernel over Jupyter's IPC transport: ZeroMQ over Unix sockets in a fresh
folder under the sandbox's root, owned by the grading user and closed to
everyone else (``0700``). The kernel's launcher binds that folder, and only
it, into the kernel's view; the folder goes when the kernel does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

from . import zygote
from .kernelspec import default_scratch_root
from .users import DEFAULT_USER, is_root

# A Unix socket's path holds at most 107 bytes; the folder leaves room for "/kernel-NN".
_MAX_FOLDER = 96


def ipc_folder(root: str, user: str) -> str:
    """A fresh folder for one kernel's sockets, owned by ``user`` (when root) and private to it."""
    os.makedirs(root, mode=0o711, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="ipc-", dir=root)
    if len(folder) > _MAX_FOLDER:
        os.rmdir(folder)
        raise ValueError(
            f"the sandbox's IPC folder {folder!r} is {len(folder)} characters long; a Unix "
            f"socket's path holds 107 bytes: use a scratch root of at most {_MAX_FOLDER - 13} "
            "characters (write_kernelspec(scratch_root=...))"
        )
    if is_root():
        account = pwd.getpwnam(user)
        os.chown(folder, account.pw_uid, account.pw_gid)
    os.chmod(folder, 0o700)
    return folder


class SandboxProvisioner(LocalProvisioner):
    """A local kernel reached over IPC, its sockets in a folder only it and the grader can use."""

    user = Unicode(DEFAULT_USER, config=True, help="the grading account the kernel runs as")
    ipc_root = Unicode(
        "", config=True, help="where the IPC folders are made (default: the sandbox's root)"
    )

    async def pre_launch(self, **kwargs):
        km = self.parent
        if km is not None:
            folder = os.path.dirname(km.ip) if km.transport == "ipc" else ""
            if not (folder and os.path.isdir(folder) and _below(folder, self._root())):
                folder = ipc_folder(self._root(), self.user)  # first start (a restart keeps it)
            km.transport = "ipc"
            km.cache_ports = False  # ports of the TCP transport only
            km.ip = os.path.join(folder, "kernel")
        return await super().pre_launch(**kwargs)

    _forked = None  # the kernel a zygote forked (zygote.ForkedKernel), when one did

    async def launch_kernel(self, cmd, **kwargs):
        """Fork the kernel from this worker's zygote when there is one (:mod:`.zygote`: its
        imports are done), else start it as a new process."""
        path = os.environ.get(zygote.ENV)
        if path and zygote.is_sandbox_kernel(cmd):
            try:
                self._forked = self.process = zygote.fork_kernel(path, cmd, kwargs.get("env") or os.environ)
            except zygote.Refused as why:
                self.log.info("%s: starting the kernel as a new process", why)
            except OSError as err:
                self.log.warning("the zygote at %s could not fork a kernel (%s): starting this "
                                 "worker's kernels as new processes until it has another", path, err)
                zygote.retire(path)
            else:
                self.pid = self.pgid = self.process.pid
                self.cwd = kwargs.get("cwd")
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    async def send_signal(self, signum: int) -> None:
        if self._forked is not None:  # through its zygote, which knows if the id is still its
            self._forked.send_signal(signum)
            return
        await super().send_signal(signum)

    async def cleanup(self, restart: bool = False) -> None:
        if self._forked is not None:
            self._forked.close()
            self._forked = None
        await super().cleanup(restart)
        km = self.parent
        if not restart and km is not None and km.transport == "ipc":
            folder = os.path.dirname(km.ip)
            if _below(folder, self._root()):
                shutil.rmtree(folder, ignore_errors=True)

    def _root(self) -> str:
        return os.path.realpath(self.ipc_root or default_scratch_root())


def _below(path: str, folder: str) -> bool:
    return os.path.realpath(path).startswith(folder.rstrip(os.sep) + os.sep)
