"""The container of flowgex's Python-level snapshots: an 8-byte magic, a
little-endian u32 format version, then length-prefixed (u64) sections. One
reader checks magic, version and truncation for every snapshot kind, so each
kind only says what its sections are."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from .errors import SnapshotError

__all__ = ["pack", "unpack"]


def pack(magic: bytes, version: int, parts: Sequence[bytes]) -> bytes:
    return magic + struct.pack("<I", version) + b"".join(struct.pack("<Q", len(p)) + p for p in parts)


def unpack(blob: Any, magic: bytes, version: int, *, what: str) -> list[bytes]:
    """The sections of ``blob``; a clear :class:`SnapshotError` for anything else."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise SnapshotError(f"cannot restore {what}: expected bytes, found {type(blob).__name__}")
    blob = bytes(blob)
    if len(blob) < 12 or blob[:8] != magic:
        raise SnapshotError(f"cannot restore {what}: not a flowgex {what} snapshot (bad magic)")
    (found,) = struct.unpack("<I", blob[8:12])
    if found != version:
        raise SnapshotError(f"cannot restore {what}: format version {found}, this flowgex reads {version}")
    parts: list[bytes] = []
    pos = 12
    while pos < len(blob):
        if pos + 8 > len(blob):
            raise SnapshotError(f"cannot restore {what}: corrupt payload (truncated section header)")
        (n,) = struct.unpack("<Q", blob[pos : pos + 8])
        part = blob[pos + 8 : pos + 8 + n]
        if len(part) != n:
            raise SnapshotError(f"cannot restore {what}: corrupt payload (truncated section)")
        parts.append(part)
        pos += 8 + n
    return parts
