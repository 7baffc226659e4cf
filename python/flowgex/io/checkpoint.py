"""Replay checkpoints: where each input stream stands, what was written, and
the engine itself, in one file replaced atomically after every chunk.

A checkpoint is only trusted for the replay that wrote it: it carries a
fingerprint of the inputs (file names and sizes, in order) and of every option
that changes the output; resuming with anything else is refused, never mixed.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import SnapshotError
from ..schema import canonical_initial
from ._files import write_atomic_bytes
from .sources import Stream

__all__ = ["Checkpoint", "fingerprint", "save", "load"]

_MAGIC = b"FGXRPLY1"


@dataclass
class Checkpoint:
    fingerprint: str
    seq: int
    chunks: int
    rows: dict[str, int]
    mergers: dict[str, dict[str, Any]]
    done: bool
    engine: bytes


def _initial_digest(initial: Any) -> str | None:
    if initial is None:
        return None
    table = canonical_initial(initial)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def fingerprint(streams: Mapping[str, list[Stream]], settings: Mapping[str, Any], initial: Any) -> str:
    """A digest of the inputs and of the options that shape the output."""
    desc = {
        "inputs": {k: [(s.name, s.size) for s in v] for k, v in streams.items()},
        "settings": settings,
        "initial": _initial_digest(initial),
    }
    return hashlib.sha256(json.dumps(desc, sort_keys=True, default=str).encode()).hexdigest()


def save(path: Path, cp: Checkpoint) -> None:
    header = json.dumps(
        {
            "fingerprint": cp.fingerprint,
            "seq": cp.seq,
            "chunks": cp.chunks,
            "rows": cp.rows,
            "mergers": cp.mergers,
            "done": cp.done,
        }
    ).encode()
    write_atomic_bytes(path, _MAGIC + struct.pack("<Q", len(header)) + header + cp.engine)


def load(path: Path) -> Checkpoint | None:
    if not path.is_file():
        return None
    blob = path.read_bytes()
    try:
        if blob[:8] != _MAGIC:
            raise ValueError("bad magic")
        (n,) = struct.unpack("<Q", blob[8:16])
        h = json.loads(blob[16 : 16 + n])
        return Checkpoint(
            fingerprint=h["fingerprint"],
            seq=int(h["seq"]),
            chunks=int(h["chunks"]),
            rows={k: int(v) for k, v in h["rows"].items()},
            mergers=h["mergers"],
            done=bool(h["done"]),
            engine=blob[16 + n :],
        )
    except (ValueError, KeyError, struct.error) as exc:
        raise SnapshotError(
            f"{path}: not a flowgex replay checkpoint ({exc}); remove it or pass overwrite=True"
        ) from exc
