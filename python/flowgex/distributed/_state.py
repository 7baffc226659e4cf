"""What a distributed replay carries from one period to the next, and its byte format.

Per key (engine): the snapshot of its validation engine (open bucket and its
trade ids, so a later period's rows are judged *late* or *duplicate* exactly as
one streaming :class:`~flowgex.Engine` would judge them) and of its evaluation
engine (inventories, as-of prices and vols, the live set). Globally: where the
grid starts, the last trade's bucket so far, and the options that traded (for
the ``instruments``/``expired`` counts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .. import _blob
from ..errors import SnapshotError
from ._keys import Ident

__all__ = ["ReplayState", "dump", "load"]

_MAGIC = b"FGXDREPL"
_VERSION = 3  # 3: one engine per asset (partition_by="instrument" removed)


@dataclass
class ReplayState:
    #: key -> (validation engine snapshot, evaluation engine snapshot)
    engines: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    #: Bucket label of the first accepted trade (where the grid starts when ``start`` is not given).
    first_label: int | None = None
    last_label: int | None = None
    traded: set[Ident] = field(default_factory=set)
    #: Last grid time reported by the previous period, and that period's ``until``.
    boundary: int | None = None
    until: int | None = None
    finished: bool = False


_SCALARS = ("first_label", "last_label", "boundary", "until", "finished")


def dump(state: ReplayState, header: dict[str, Any]) -> bytes:
    """Versioned bytes: a JSON header, then each engine's two snapshots."""
    keys = sorted(state.engines)
    meta = {**header, "keys": keys, "traded": sorted(state.traded, key=repr)}
    meta.update({k: getattr(state, k) for k in _SCALARS})
    return _blob.pack(_MAGIC, _VERSION, [json.dumps(meta).encode(), *(b for k in keys for b in state.engines[k])])


def load(blob: bytes) -> tuple[ReplayState, dict[str, Any]]:
    """The state and the header written by :func:`dump`."""
    parts = _blob.unpack(blob, _MAGIC, _VERSION, what="distributed Replay")
    try:
        meta = json.loads(parts[0])
        keys = meta["keys"]
        if len(parts) != 1 + 2 * len(keys):
            raise ValueError("missing engine snapshots")
        state = ReplayState(
            engines={k: (parts[1 + 2 * i], parts[2 + 2 * i]) for i, k in enumerate(keys)},
            traded={(str(a), q, int(e), float(s), str(c)) for a, q, e, s, c in meta["traded"]},
            **{k: meta[k] for k in _SCALARS},
        )
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SnapshotError(f"cannot restore replay: corrupt payload ({exc})") from exc
    return state, meta
