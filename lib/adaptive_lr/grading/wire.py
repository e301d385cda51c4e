"""The messages between a notebook's kernel and the referee process.

A message is a JSON tree whose NumPy arrays travel as raw bytes next to it:
each array in the tree is replaced by ``{"__nd__": k}`` and described (dtype,
shape) in the header. Nothing is pickled, so neither side can make the other
run code by what it sends, and only numeric dtypes are accepted back.

Frame on a pipe: 8-byte big-endian length, then the message.
"""

from __future__ import annotations

import json
import struct

import numpy as np

_NUMERIC_KINDS = "biufc"
_LEN = struct.Struct(">Q")
MAX_MESSAGE = 1 << 30


def _strip(obj, arrays):
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"__nd__": len(arrays) - 1}
    if isinstance(obj, dict):
        return {str(k): _strip(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strip(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _fill(obj, arrays):
    if isinstance(obj, dict):
        if len(obj) == 1 and "__nd__" in obj:
            return arrays[obj["__nd__"]]
        return {k: _fill(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fill(v, arrays) for v in obj]
    return obj


def encode(tree) -> bytes:
    """The message for ``tree`` (dicts, lists, str, numbers, None, bool and NumPy arrays)."""
    arrays: list = []
    body = _strip(tree, arrays)
    meta = []
    blobs = []
    for a in arrays:
        if a.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"cannot send an array of dtype {a.dtype}")
        blob = np.ascontiguousarray(a).tobytes()
        meta.append({"dtype": a.dtype.str, "shape": list(a.shape), "nbytes": len(blob)})
        blobs.append(blob)
    header = json.dumps({"body": body, "arrays": meta}).encode("utf-8")
    return _LEN.pack(len(header)) + header + b"".join(blobs)


def decode(message: bytes):
    """The tree sent by :func:`encode`; arrays come back as fresh, writable arrays."""
    (n,) = _LEN.unpack_from(message, 0)
    header = json.loads(message[8 : 8 + n].decode("utf-8"))
    pos = 8 + n
    arrays = []
    for spec in header["arrays"]:
        dtype = np.dtype(spec["dtype"])
        if dtype.kind not in _NUMERIC_KINDS:
            raise ValueError(f"refusing an array of dtype {dtype}")
        size = spec["nbytes"]
        flat = np.frombuffer(message[pos : pos + size], dtype=dtype)
        arrays.append(flat.reshape(spec["shape"]).copy())
        pos += size
    return _fill(header["body"], arrays)


def write_frame(stream, message: bytes) -> None:
    stream.write(_LEN.pack(len(message)))
    stream.write(message)
    stream.flush()


def read_frame(stream) -> bytes:
    head = _read_exactly(stream, 8)
    (n,) = _LEN.unpack(head)
    if n > MAX_MESSAGE:
        raise ValueError(f"message of {n} bytes is too large")
    return _read_exactly(stream, n)


def _read_exactly(stream, n: int) -> bytes:
    chunks = []
    left = n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
