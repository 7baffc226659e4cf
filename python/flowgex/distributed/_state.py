"""What a distributed replay carries from one period to the next, and its byte format.

Per key (engine): the snapshot of its validation engine (open bucket and its
trade ids, so a later period's rows are judged *late* or *duplicate* exactly as
one streaming :class:`~flowgex.Engine` would judge them) and of its evaluation
engine (inventories, as-of prices and vols, the live set). Globally: where the
grid starts, the last trade's bucket so far, the options that traded (for the
``instruments``/``expired`` counts) and, for ``partition_by="instrument"``, the
price observations and coverage needed to stay exact.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import _blob
from ..errors import SnapshotError
from ._exact import OBS_COLUMNS
from ._keys import Inst

__all__ = ["ReplayState", "dump", "load"]

_MAGIC = b"FGXDREPL"
_VERSION = 2  # bumped with the checksummed container


@dataclass
class ReplayState:
    #: key -> (validation engine snapshot, evaluation engine snapshot)
    engines: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    assets: set[str] = field(default_factory=set)
    groups: int | None = None
    #: Bucket label of the first accepted trade (where the grid starts when ``start`` is not given).
    first_label: int | None = None
    last_label: int | None = None
    traded: set[Inst] = field(default_factory=set)
    #: Last grid time reported by the previous period, and that period's ``until``.
    boundary: int | None = None
    until: int | None = None
    period: int = 0
    finished: bool = False
    chain_cover: dict[Inst, int] = field(default_factory=dict)
    spot_cover: dict[str, int] = field(default_factory=dict)
    obs: pd.DataFrame | None = None


def _inst(v: list[Any]) -> Inst:
    return Inst(str(v[0]), str(v[1]), int(v[2]), float(v[3]), str(v[4]))


def dump(state: ReplayState, header: dict[str, Any]) -> bytes:
    """Versioned bytes: a JSON header, then each engine's two snapshots, then the observations (Parquet)."""
    keys = sorted(state.engines)
    meta = {
        **header,
        "keys": keys,
        "assets": sorted(state.assets),
        "groups": state.groups,
        "first_label": state.first_label,
        "last_label": state.last_label,
        "traded": [list(i) for i in sorted(state.traded)],
        "boundary": state.boundary,
        "until": state.until,
        "period": state.period,
        "finished": state.finished,
        "chain_cover": [[*i, t] for i, t in sorted(state.chain_cover.items())],
        "spot_cover": state.spot_cover,
    }
    parts = [json.dumps(meta).encode()]
    for k in keys:
        parts.extend(state.engines[k])
    sink = io.BytesIO()
    if state.obs is not None and len(state.obs):
        state.obs.to_parquet(sink, index=False)
    parts.append(sink.getvalue())
    return _blob.pack(_MAGIC, _VERSION, parts)


def load(blob: bytes) -> tuple[ReplayState, dict[str, Any]]:
    """The state and the header written by :func:`dump`."""
    parts = _blob.unpack(blob, _MAGIC, _VERSION, what="distributed Replay")
    try:
        meta = json.loads(parts[0])
        keys = meta["keys"]
        engines = {k: (parts[1 + 2 * i], parts[2 + 2 * i]) for i, k in enumerate(keys)}
        obs_part = parts[1 + 2 * len(keys)]
    except (ValueError, KeyError, IndexError) as exc:
        raise SnapshotError(f"cannot restore replay: corrupt payload ({exc})") from exc
    obs = pd.read_parquet(io.BytesIO(obs_part)) if obs_part else None
    if obs is not None:
        obs = obs[list(OBS_COLUMNS)]
    state = ReplayState(
        engines=engines,
        assets=set(meta["assets"]),
        groups=meta["groups"],
        first_label=meta["first_label"],
        last_label=meta["last_label"],
        traded={_inst(v) for v in meta["traded"]},
        boundary=meta["boundary"],
        until=meta["until"],
        period=meta["period"],
        finished=meta["finished"],
        chain_cover={_inst(v[:5]): int(v[5]) for v in meta["chain_cover"]},
        spot_cover={str(k): int(v) for k, v in meta["spot_cover"].items()},
        obs=obs,
    )
    return state, meta
