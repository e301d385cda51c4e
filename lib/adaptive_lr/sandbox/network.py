"""A network of its own for the grading kernel: a fresh namespace whose only interface is ``lo``.

Run as root before dropping privileges: ``unshare(CLONE_NEWNET)`` moves the
process into a new network namespace, which has a loopback interface and
nothing else; this module brings that loopback up. The machine's interfaces,
its ``127.0.0.1`` and its routes are out of reach: a connection to a host
service is refused, any other address is unreachable, and a name resolves
only through ``/etc/hosts``. Sockets in the abstract Unix namespace belong to
the network namespace too, so the host's are out of reach as well.

Sockets bound to a *path* are files and are not affected: the mount
namespace (:mod:`.mounts`) hides them. :func:`host_socket_paths` lists them,
and must be called before :func:`isolate` (afterwards ``/proc/net/unix``
shows the new namespace's sockets only).

The grader then cannot reach the kernel over TCP either: it talks to it over
Jupyter's IPC transport (Unix sockets in a folder bound into the kernel's
view, :mod:`.provisioner`).
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

from .mounts import _c, _check

CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the name, then ifr_flags in the union


def available() -> bool:
    return os.geteuid() == 0 and os.path.exists("/proc/self/ns/net")


def host_socket_paths() -> list[str]:
    """Paths of the Unix sockets bound in this network namespace (``/proc/net/unix``)."""
    found = set()
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="surrogateescape") as f:
            next(f, None)  # the header
            for line in f:
                fields = line.rstrip("\n").split(None, 7)
                if len(fields) == 8 and fields[7].startswith("/"):
                    found.add(fields[7])
    except OSError:
        return []
    return sorted(found)


def _bring_up(name: str = "lo") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack(_IFREQ, name.encode(), 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack(_IFREQ, name.encode(), flags | _IFF_UP))


def isolate() -> None:
    """Move this process into a new network namespace with only its own loopback, up."""
    _check(_c().unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
    _bring_up("lo")
