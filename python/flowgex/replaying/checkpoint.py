"""Replay checkpoints: where each input stream stands, what was written, and
the engine itself, in one file replaced atomically after every chunk.

A checkpoint is only trusted for the replay that wrote it: it carries a
fingerprint of the inputs (file names, sizes and a BLAKE2b digest of each
file's bytes, in order) and of every option that changes the output; resuming
with anything else is refused, never mixed -- a file edited in place, even to
the same size and mtime, is another input.

The container guards itself, so that no damaged file reaches the engine::

    magic "FGXCKPT\\0" | u16 version | u16 0 | u64 header length | u64 engine length
    | BLAKE2b-256 of everything else | header (JSON) | engine snapshot

Any difference -- a flipped bit anywhere, a cut, a foreign or older file, a
header of the wrong shape -- is a :class:`~flowgex.errors.SnapshotError`
before a byte is handed to :meth:`flowgex.Engine.restore`.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import SnapshotError
from ..io.files import write_atomic_bytes
from ..io.sources import Stream
from ..schema import canonical_initial

__all__ = ["Checkpoint", "fingerprint", "input_digests", "changed_input", "save", "load", "VERSION"]

_MAGIC = b"FGXCKPT\x00"
_OLD_MAGIC = b"FGXRPLY1"  # format 1: no checksum, inputs by name and size
VERSION = 2
_PREFIX = struct.Struct("<8sHHQQ")
_DIGEST = 32
_CHUNK = 1 << 20


@dataclass
class Checkpoint:
    fingerprint: str
    seq: int
    chunks: int
    rows: dict[str, int]
    mergers: dict[str, dict[str, Any]]
    done: bool
    engine: bytes
    inputs: dict[str, list[list[Any]]] = field(default_factory=dict)


def _initial_digest(initial: Any) -> str | None:
    if initial is None:
        return None
    table = canonical_initial(initial)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _file_digest(name: str) -> str:
    """BLAKE2b-128 of the file's bytes, read in 1 MiB chunks (about 1 s per GB)."""
    h = hashlib.blake2b(digest_size=16)
    with open(name, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def input_digests(streams: Mapping[str, list[Stream]]) -> dict[str, list[list[Any]]]:
    """Per input kind, ``[name, size, content digest]`` of each stream, in order."""
    out: dict[str, list[list[Any]]] = {}
    for kind, v in streams.items():
        out[kind] = [[s.name, s.size, _file_digest(s.name) if s.reopenable else None] for s in v]
    return out


def fingerprint(inputs: Mapping[str, list[list[Any]]], settings: Mapping[str, Any], initial: Any) -> str:
    """A digest of the inputs (as :func:`input_digests`) and of the options that shape the output."""
    desc = {"inputs": inputs, "settings": settings, "initial": _initial_digest(initial)}
    return hashlib.sha256(json.dumps(desc, sort_keys=True, default=str).encode()).hexdigest()


def changed_input(old: Mapping[str, Any], new: Mapping[str, list[list[Any]]]) -> str | None:
    """Says which input differs from the checkpoint's, when one does."""
    for kind, now in new.items():
        before = old.get(kind)
        if before is None or len(before) != len(now):
            return f"the {kind} input has {len(now)} file(s), the checkpoint's had {len(before or [])}"
        for (name, size, digest), prev in zip(now, before):
            if list(prev) != [name, size, digest]:
                if prev[0] != name:
                    return f"{kind} file {name} replaces {prev[0]}"
                return f"{kind} file {name} changed since the checkpoint (size {prev[1]} -> {size}, content differs)"
    return None


def save(path: Path, cp: Checkpoint) -> None:
    header = json.dumps(
        {
            "fingerprint": cp.fingerprint,
            "seq": cp.seq,
            "chunks": cp.chunks,
            "rows": cp.rows,
            "mergers": cp.mergers,
            "done": cp.done,
            "inputs": cp.inputs,
        }
    ).encode()
    prefix = _PREFIX.pack(_MAGIC, VERSION, 0, len(header), len(cp.engine))
    digest = hashlib.blake2b(prefix + header + cp.engine, digest_size=_DIGEST).digest()
    write_atomic_bytes(path, prefix + digest + header + cp.engine)


def _count(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{what} is not a count: {v!r}")
    return v


def _merger(m: Any, kind: str) -> dict[str, Any]:
    if not isinstance(m, dict):
        raise ValueError(f"merger {kind} is not an object")
    names, first, consumed = m.get("names"), m.get("first"), m.get("consumed")
    if not (isinstance(names, list) and isinstance(first, list) and isinstance(consumed, list)):
        raise ValueError(f"merger {kind} lacks names/first/consumed")
    if not len(names) == len(first) == len(consumed) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"merger {kind} is inconsistent")
    if not all(f is None or (isinstance(f, int) and not isinstance(f, bool)) for f in first):
        raise ValueError(f"merger {kind} has a bad first time")
    return {"names": names, "first": first, "consumed": [_count(c, "consumed") for c in consumed]}


def _parse(blob: bytes) -> Checkpoint:
    if blob[:8] == _OLD_MAGIC:
        raise ValueError("written by an older flowgex (format 1, without a checksum)")
    if len(blob) < _PREFIX.size + _DIGEST:
        raise ValueError(f"truncated ({len(blob)} bytes)")
    magic, version, _, n_header, n_engine = _PREFIX.unpack_from(blob)
    if magic != _MAGIC:
        raise ValueError("bad magic")
    if version != VERSION:
        raise ValueError(f"format version {version}, this flowgex reads {VERSION}")
    body = _PREFIX.size + _DIGEST
    if len(blob) != body + n_header + n_engine:
        raise ValueError(f"{len(blob)} bytes where the header says {body + n_header + n_engine}: truncated or padded")
    digest = hashlib.blake2b(blob[: _PREFIX.size] + blob[body:], digest_size=_DIGEST).digest()
    if digest != blob[_PREFIX.size : body]:
        raise ValueError("checksum mismatch: the file is damaged")
    h = json.loads(blob[body : body + n_header])
    if not isinstance(h, dict) or not isinstance(h.get("fingerprint"), str) or not isinstance(h.get("done"), bool):
        raise ValueError("header of the wrong shape")
    rows, mergers, inputs = h.get("rows"), h.get("mergers"), h.get("inputs")
    if not isinstance(rows, dict) or not isinstance(mergers, dict) or not isinstance(inputs, dict):
        raise ValueError("header of the wrong shape")
    return Checkpoint(
        fingerprint=h["fingerprint"],
        seq=_count(h.get("seq"), "seq"),
        chunks=_count(h.get("chunks"), "chunks"),
        rows={str(k): _count(v, "rows") for k, v in rows.items()},
        mergers={str(k): _merger(m, k) for k, m in mergers.items()},
        done=h["done"],
        engine=blob[body + n_header :],
        inputs=inputs,
    )


def load(path: Path) -> Checkpoint | None:
    """The checkpoint at ``path`` (None when there is none); a damaged one is a SnapshotError."""
    if not path.is_file():
        return None
    try:
        return _parse(path.read_bytes())
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, struct.error) as exc:
        raise SnapshotError(
            f"{path}: not a usable flowgex replay checkpoint ({exc}); remove it or pass overwrite=True"
        ) from exc
