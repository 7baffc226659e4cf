"""Combining engine outputs into one :class:`~flowgex.GexResult`.

Each piece holds the core's columns for the options of one engine (one asset)
or one period, keyed by that piece's registry ids. No two pieces hold the
same (time, asset): an asset lives in one engine, and periods do not overlap
in time. So combining is a concatenation: ids are mapped to a union registry
(by the identity the registries give: asset, quote, expiry, strike, kind),
and rows are put in the core's order — time, then asset name — by a stable
sort that keeps each piece's own (canonical) order within an asset. Nothing is
summed but the per-step source counts, which are integers: the result is
bit-identical to the single-machine one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..diagnostics import REASONS, Diagnostics

__all__ = ["Piece", "merge", "diagnostics"]

#: A piece: the core's columns ("inventory.time", ...) and the registry they refer to.
Piece = tuple[Mapping[str, np.ndarray], Mapping[str, Any]]
_TABLES = ("inventory", "by_strike", "by_expiry", "total", "steps")
_REGISTRY = ("name", "quote", "expiry", "strike", "is_call", "multiplier")


def _idents(reg: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    assets = reg["assets"]
    return [
        (str(assets[int(a)]), q, int(e), float(s), bool(c))
        for a, q, e, s, c in zip(reg["asset"], reg["quote"], reg["expiry"], reg["strike"], reg["is_call"])
    ]


def merge(pieces: Sequence[Piece], *, last_step: int | None) -> dict[str, Any]:
    """One core dict (columns + registry) from many pieces; only steps up to ``last_step`` (None: no step).

    The first piece gives every column its dtype (and the columns an empty result has).
    """
    assets = sorted({str(a) for _, reg in pieces for a in reg["assets"]})  # name order: the core's asset order
    asset_id = {a: i for i, a in enumerate(assets)}
    index: dict[tuple[Any, ...], int] = {}
    union: dict[str, list[Any]] = {c: [] for c in ("asset", *_REGISTRY)}
    cols: dict[str, list[np.ndarray]] = {}
    for core, reg in pieces:
        inst_map = []
        for k, ident in enumerate(_idents(reg)):
            if ident not in index:
                index[ident] = len(index)
                union["asset"].append(asset_id[ident[0]])
                for c in _REGISTRY:
                    union[c].append(reg[c][k])
            inst_map.append(index[ident])
        maps = {
            "inst": np.array(inst_map, dtype=np.int64),
            "asset": np.array([asset_id[str(a)] for a in reg["assets"]], dtype=np.int64),
        }
        for key, v in core.items():
            table, col = key.split(".", 1)
            v = np.asarray(v)
            if col in maps and table != "steps" and len(v):
                v = maps[col][v.astype(np.int64)]
            cols.setdefault(key, []).append(v)
    out: dict[str, Any] = {"registry": {"assets": assets, **{c: np.asarray(v) for c, v in union.items()}}}
    out["registry"]["name"], out["registry"]["quote"] = list(union["name"]), list(union["quote"])
    inst_asset = np.asarray(union["asset"], dtype=np.int64)
    for table in _TABLES:
        got = {c.split(".", 1)[1]: np.concatenate(v) for c, v in cols.items() if c.startswith(f"{table}.")}
        dtypes = {c.split(".", 1)[1]: v[0].dtype for c, v in cols.items() if c.startswith(f"{table}.")}
        keep = got["time"] <= last_step if last_step is not None else np.zeros(len(got["time"]), dtype=bool)
        # Exposure columns the greeks did not ask for are empty in every piece: they stay empty.
        unasked = {c: v for c, v in got.items() if len(v) != len(keep)}
        got = {c: v[keep] for c, v in got.items() if c not in unasked}
        if table == "steps":  # every engine reports the same grid: its source counts add up
            times, at = np.unique(got["time"], return_inverse=True)
            got = {c: (times if c == "time" else np.bincount(at, v, len(times))) for c, v in got.items()}
        else:
            asset = got["asset"] if "asset" in got else inst_asset[got["inst"].astype(np.int64)]
            order = np.lexsort((asset, got["time"]))  # stable: each piece's order within (time, asset)
            got = {c: v[order] for c, v in got.items()}
            if table == "total" and len(order) > 1:
                t, a = got["time"], got["asset"]
                if ((t[1:] == t[:-1]) & (a[1:] == a[:-1])).any():
                    raise RuntimeError("flowgex.distributed: two pieces hold the same (time, asset)")
        for c, v in {**got, **unasked}.items():
            out[f"{table}.{c}"] = v.astype(dtypes[c], copy=False)
    return out


def _reason_counts(table: pa.Table | None) -> list[int]:
    counts = [0] * len(REASONS)
    if table is not None:
        for r in table.column("reason").to_pylist():
            counts[REASONS.index(r)] += 1
    return counts


def diagnostics(
    core: Mapping[str, Any],
    *,
    rows_read: Sequence[int],
    rejected: Mapping[str, pa.Table],
    instruments: int,
    expired: int,
) -> Diagnostics:
    """Diagnostics exactly as the core would count them for the same input."""
    counts = {
        **{k: v for k, v in core.items() if k.startswith("steps.")},
        "rows_read": list(rows_read),
        "rejected": [_reason_counts(rejected.get(t)) for t in ("trades", "chain", "spot")],
        "traded_instruments": instruments,
        "expired": expired,
    }
    return Diagnostics.from_core(counts, rejected_rows=dict(rejected))
