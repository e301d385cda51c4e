"""Resource limits for the grading kernel and every process it starts."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


def parse_bytes(text) -> int:
    """``"4G"`` -> 4294967296; accepts an int, or digits with an optional K/M/G suffix."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", str(text), flags=re.IGNORECASE)
        if not m:
            raise ValueError(f"not a size: {text!r} (use e.g. 512M or 4G)")
        value = int(m.group(1)) * _UNITS[m.group(2).upper()]
    if value <= 0:
        raise ValueError(f"a size must be > 0, got {text!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """What one grading kernel may use.

    ``memory_bytes`` bounds the address space of each process (NumPy,
    matplotlib and the kernel need about 0.3 GB; a 50 GB allocation fails
    at once with ``MemoryError``). ``cpu_seconds`` is a backstop behind the
    grader's per-cell timeout: a process that ignores the interrupt is
    killed by ``SIGXCPU``. ``max_processes`` bounds the grading user's
    processes and threads, so a fork bomb stops there. ``max_file_bytes``
    bounds each file the kernel writes.
    """

    memory_bytes: int = 4 * 2**30
    cpu_seconds: int = 300
    max_processes: int = 256
    max_file_bytes: int = 64 * 2**20
    open_files: int = 256

    def __post_init__(self):
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def as_args(self) -> list[str]:
        return [
            f"--memory={self.memory_bytes}",
            f"--cpu={self.cpu_seconds}",
            f"--nproc={self.max_processes}",
            f"--fsize={self.max_file_bytes}",
            f"--nofile={self.open_files}",
        ]

    def apply(self) -> None:
        """Set the limits on this process; children inherit them. Hard limits too, so they stay."""
        import resource

        pairs = [
            (resource.RLIMIT_AS, self.memory_bytes),
            (resource.RLIMIT_CPU, self.cpu_seconds),
            (resource.RLIMIT_NPROC, self.max_processes),
            (resource.RLIMIT_FSIZE, self.max_file_bytes),
            (resource.RLIMIT_NOFILE, self.open_files),
            (resource.RLIMIT_CORE, 0),
        ]
        for which, value in pairs:
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
