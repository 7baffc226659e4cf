"""The live run's checkpoint: the engine, the gate, the last trade seen per
currency and the number of the last commit, in one checksummed file
(``out/_live/checkpoint``), replaced atomically and always written *after*
the recorded parts and outputs it vouches for.

Why last: after a kill -9 the checkpoint is either the previous one or the new
one, never half; everything numbered above its ``seq`` was written by a commit
it does not cover and is deleted on restart (recorded parts and outputs
alike), so the restored engine, the recorded inputs and the outputs always
describe the same messages.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _blob
from ..errors import SnapshotError
from ..io.files import write_atomic_bytes

__all__ = ["LiveCheckpoint", "save", "load", "fingerprint"]

_MAGIC = b"FGXLIVE1"
_VERSION = 1


@dataclass
class LiveCheckpoint:
    fingerprint: str
    seq: int
    last_trade_ms: dict[str, int]  # per Deribit currency: the history backfill starts here
    gate: dict[str, Any]
    counts: dict[str, int]
    final_through: int | None  # the last grid time written (ns)
    engine: bytes = field(repr=False, default=b"")


def fingerprint(settings: dict[str, Any]) -> str:
    """A digest of what shapes the output (currencies, engine options): a restart must match it."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def save(path: Path, cp: LiveCheckpoint) -> None:
    header = {
        "fingerprint": cp.fingerprint,
        "seq": cp.seq,
        "last_trade_ms": cp.last_trade_ms,
        "gate": cp.gate,
        "counts": cp.counts,
        "final_through": cp.final_through,
    }
    write_atomic_bytes(path, _blob.pack(_MAGIC, _VERSION, [json.dumps(header).encode(), cp.engine]))


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{what} is not an integer: {v!r}")
    return v


def load(path: Path) -> LiveCheckpoint | None:
    """The checkpoint at ``path`` (None when absent); a damaged one is a :class:`SnapshotError`."""
    if not path.is_file():
        return None
    parts = _blob.unpack(path.read_bytes(), _MAGIC, _VERSION, what="live checkpoint")
    try:
        if len(parts) != 2:
            raise ValueError(f"{len(parts)} sections, expected 2")
        h = json.loads(parts[0])
        ft = h["final_through"]
        return LiveCheckpoint(
            fingerprint=str(h["fingerprint"]),
            seq=_int(h["seq"], "seq"),
            last_trade_ms={str(k): _int(v, "last_trade_ms") for k, v in dict(h["last_trade_ms"]).items()},
            gate=dict(h["gate"]),
            counts={str(k): _int(v, "count") for k, v in dict(h["counts"]).items()},
            final_through=None if ft is None else _int(ft, "final_through"),
            engine=parts[1],
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise SnapshotError(f"{path}: not a usable flowgex live checkpoint ({exc}); remove it to start afresh") from exc
