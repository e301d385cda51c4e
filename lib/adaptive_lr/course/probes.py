"""Probes of what a grading kernel can reach, and the host services they try.

Each probe is a :class:`~adaptive_lr.course.hostile.Hostile` submission whose
code prints what it found (every line starts with ``probe``) and never
raises, so the submission is graded normally. :class:`HostServices` opens
what a grading machine typically has around a kernel: a TCP listener on
``127.0.0.1``, Unix-socket listeners where services keep them (``/run``, a
folder under ``/tmp`` as a PostgreSQL started for a test uses, a folder no
convention names) and one in the abstract namespace. It records every
connection it receives: with the sandbox in place there are none.

The codes take the placeholders ``{tcp_port}`` and ``{sockets}`` (see
:meth:`HostServices.targets`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from typing import NamedTuple


class Probe(NamedTuple):
    slug: str
    description: str
    code: str


PRINTS_ENVIRONMENT = Probe(
    "prints-environment",
    "prints its environment and tries to read the grader's (its parent's) and init's",
    "import os\n"
    "print('probe environ:', sorted(os.environ))\n"
    "for key, value in sorted(os.environ.items()):\n"
    "    print('probe env', key + '=' + value)\n"
    "for pid in sorted(set([os.getppid(), 1])):\n"
    "    try:\n"
    "        text = open('/proc/%d/environ' % pid, 'rb').read().replace(b'\\0', b' ')\n"
    "        print('probe /proc/%d/environ:' % pid, text.decode('utf-8', 'replace'))\n"
    "    except OSError as err:\n"
    "        print('probe /proc/%d/environ:' % pid, type(err).__name__)\n",
)

TCP_TO_HOST = Probe(
    "tcp-to-host",
    "connects to a TCP listener on the grading machine's 127.0.0.1 and sends bytes",
    "import socket\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', {tcp_port}), timeout=3)\n"
    "    s.sendall(b'probe: a grading kernel reached this listener')\n"
    "    s.close()\n"
    "    print('probe tcp 127.0.0.1: connected and sent')\n"
    "except OSError as err:\n"
    "    print('probe tcp 127.0.0.1:', type(err).__name__)\n",
)

UNIX_TO_HOST = Probe(
    "unix-to-host",
    "connects to Unix-socket listeners of the grading machine and sends bytes",
    "import socket\n"
    "for path in {sockets!r}:\n"
    "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "    s.settimeout(3)\n"
    "    try:\n"
    "        s.connect(path)\n"
    "        s.sendall(b'probe: a grading kernel reached this listener')\n"
    "        print('probe unix', repr(path), 'connected and sent')\n"
    "    except OSError as err:\n"
    "        print('probe unix', repr(path), type(err).__name__)\n"
    "    finally:\n"
    "        s.close()\n",
)

NETWORK_VIEW = Probe(
    "network-view",
    "lists its network interfaces, resolves a name and connects to an address outside",
    "import os, socket\n"
    "print('probe interfaces:', sorted(name for _, name in socket.if_nameindex()))\n"
    "print('probe /sys/class/net:', sorted(os.listdir('/sys/class/net')))\n"
    "print('probe /proc/net/dev:', sorted(line.split(':')[0].strip()\n"
    "      for line in open('/proc/net/dev').read().splitlines()[2:]))\n"
    "try:\n"
    "    found = socket.getaddrinfo('pypi.org', 443, proto=socket.IPPROTO_TCP)\n"
    "    print('probe resolve pypi.org:', sorted(set(a[4][0] for a in found)))\n"
    "except OSError as err:\n"
    "    print('probe resolve pypi.org:', type(err).__name__)\n"
    "try:\n"
    "    socket.create_connection(('1.1.1.1', 443), timeout=2).close()\n"
    "    print('probe tcp 1.1.1.1:443: connected')\n"
    "except OSError as err:\n"
    "    print('probe tcp 1.1.1.1:443:', type(err).__name__)\n",
)

PROBES = [PRINTS_ENVIRONMENT, TCP_TO_HOST, UNIX_TO_HOST, NETWORK_VIEW]


def probe_lines(text: str) -> list[str]:
    """The lines a probe printed, in order."""
    return [line for line in text.splitlines() if line.startswith("probe")]


class HostServices:
    """Listeners a grading kernel must not reach; a context manager that records what reached them.

    ``received`` maps each listener's name to the byte strings its clients
    sent (a connection that sent nothing still leaves ``b""``). Unix sockets
    are mode 0777 in folders anyone may enter, as PostgreSQL's are: only the
    sandbox's view of the file system keeps a kernel away from them.
    ``odd_folder`` is a folder outside the usual socket places (none by
    default) for a listener there.
    """

    def __init__(self, odd_folder: str | None = None):
        self.odd_folder = odd_folder
        self.received: dict[str, list[bytes]] = {}
        self._servers: list[tuple[str, socket.socket]] = []
        self._folders: list[str] = []
        self._threads: list[threading.Thread] = []
        self.tcp_port = 0
        self.unix_paths: list[str] = []

    def __enter__(self) -> "HostServices":
        tcp = socket.create_server(("127.0.0.1", 0))
        self.tcp_port = tcp.getsockname()[1]
        self._serve("tcp 127.0.0.1", tcp)
        places = [p for p in ("/run", tempfile.gettempdir(), self.odd_folder) if p]
        for place in places:
            folder = tempfile.mkdtemp(prefix="adaptive-lr-probe-", dir=place)
            os.chmod(folder, 0o755)
            self._folders.append(folder)
            path = os.path.join(folder, ".s.PGSQL.5432")
            self._serve(path, self._unix(path))
            os.chmod(path, 0o777)
            self.unix_paths.append(path)
        abstract = "\0adaptive-lr-probe-" + secrets.token_hex(8)
        self._serve(repr(abstract), self._unix(abstract))
        self.unix_paths.append(abstract)
        return self

    @staticmethod
    def _unix(address: str) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(address)
        return s

    def _serve(self, name: str, server: socket.socket) -> None:
        server.listen(16)
        server.settimeout(0.2)
        self.received[name] = []
        self._servers.append((name, server))
        stop = threading.Event()

        def accept():
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    return
                with conn:
                    conn.settimeout(2)
                    try:
                        self.received[name].append(conn.recv(4096))
                    except OSError:
                        self.received[name].append(b"")

        thread = threading.Thread(target=accept, daemon=True)
        thread.stop = stop  # type: ignore[attr-defined]
        thread.start()
        self._threads.append(thread)

    def targets(self) -> dict:
        return {"tcp_port": self.tcp_port, "sockets": list(self.unix_paths)}

    def ping(self, timeout: float = 5.0) -> None:
        """Connect to every listener from this process and send a line: shows that they listen.

        Returns once every listener has recorded the line (or after ``timeout``).
        """
        before = {name: len(got) for name, got in self.received.items()}
        addresses = [(socket.AF_INET, ("127.0.0.1", self.tcp_port))]
        addresses += [(socket.AF_UNIX, path) for path in self.unix_paths]
        for family, address in addresses:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(3)
                s.connect(address)
                s.sendall(b"ping from the host")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
            len(got) <= before[name] for name, got in self.received.items()
        ):
            time.sleep(0.02)

    def reached(self) -> dict:
        """Listener name -> what it received, for the listeners that received anything."""
        return {name: got for name, got in self.received.items() if got}

    def __exit__(self, *exc) -> None:
        for thread in self._threads:
            thread.stop.set()  # type: ignore[attr-defined]
        for thread in self._threads:
            thread.join(timeout=2)
        for _, server in self._servers:
            server.close()
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
