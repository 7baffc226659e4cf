"""The container of flowgex's Python-level snapshots: an 8-byte magic, a
little-endian u32 format version, a 32-byte BLAKE2b digest of everything that
follows, then length-prefixed (u64) sections. One reader checks magic, version,
digest and truncation for every snapshot kind, so each kind only says what its
sections are — and a flipped bit or a cut anywhere in the file is refused with
a :class:`SnapshotError` before any section is decoded."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import Any

from .errors import SnapshotError

__all__ = ["pack", "unpack"]

_DIGEST = 32


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=_DIGEST).digest()


def pack(magic: bytes, version: int, parts: Sequence[bytes]) -> bytes:
    body = b"".join(struct.pack("<Q", len(p)) + p for p in parts)
    return magic + struct.pack("<I", version) + _digest(body) + body


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
    if len(blob) < 12 + _DIGEST:
        raise SnapshotError(f"cannot restore {what}: corrupt payload (truncated header)")
    body = blob[12 + _DIGEST :]
    if _digest(body) != blob[12 : 12 + _DIGEST]:
        raise SnapshotError(f"cannot restore {what}: corrupt payload (checksum mismatch)")
    parts: list[bytes] = []
    pos = 0
    while pos < len(body):
        if pos + 8 > len(body):
            raise SnapshotError(f"cannot restore {what}: corrupt payload (truncated section header)")
        (n,) = struct.unpack("<Q", body[pos : pos + 8])
        part = body[pos + 8 : pos + 8 + n]
        if len(part) != n:
            raise SnapshotError(f"cannot restore {what}: corrupt payload (truncated section)")
        parts.append(part)
        pos += 8 + n
    return parts
