"""Combining engine outputs into one :class:`~flowgex.GexResult`: a group-by sum.

Each piece holds the core's columns for the options of its engine(s), keyed by
that engine's registry ids. Merging maps every id to the option's identity,
puts rows back in the core's canonical order (time, then asset, strike,
expiry, kind, quote), and sums the aggregate rows that share a key — which
only happens when one asset's options were spread over several engines. A
group of one is returned as is, so an asset-partitioned result is bit-identical
to the single-machine one; sums over several engines differ only in rounding
(the terms are added in another order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..diagnostics import REASONS, Diagnostics
from ..result import GexResult
from ._keys import Inst, canonical_key

__all__ = ["Piece", "merge", "diagnostics", "raw", "reason_counts", "STEP_COUNTS"]

#: A piece: the core's columns ("inventory.time", ...) and the registry they refer to.
Piece = tuple[Mapping[str, np.ndarray], Mapping[str, Any]]
STEP_COUNTS = ("spot_chain", "spot_table", "spot_index", "spot_missing", "vol_chain", "vol_trade", "vol_missing")
_TABLES = {
    "inventory": ("inst", "inventory", "spot", "vol", "gamma", "gex"),
    "by_strike": ("asset", "strike", "call_gex", "put_gex", "gex"),
    "by_expiry": ("asset", "expiry", "gex"),
    "total": ("asset", "spot", "gex"),
    "steps": STEP_COUNTS,
}


def _inst_of(reg: Mapping[str, Any], i: int) -> Inst:
    return Inst(
        str(reg["assets"][int(reg["asset"][i])]),
        reg["quote"][i] or "",
        int(reg["expiry"][i]),
        float(reg["strike"][i]),
        "C" if bool(reg["is_call"][i]) else "P",
    )


class _Registry:
    """The union of the pieces' registries, with assets in name order (the core's total order)."""

    def __init__(self, pieces: Sequence[Piece]) -> None:
        names: set[str] = set()
        insts: dict[Inst, tuple[str, float]] = {}
        for _, reg in pieces:
            names.update(str(a) for a in reg["assets"])
            for i in range(len(reg["name"])):
                insts.setdefault(_inst_of(reg, i), (str(reg["name"][i]), float(reg["multiplier"][i])))
        self.assets = sorted(names)
        self.asset_id = {a: k for k, a in enumerate(self.assets)}
        self.insts = sorted(insts, key=canonical_key)  # id order = canonical order
        self.inst_id = {inst: k for k, inst in enumerate(self.insts)}
        self.info = insts

    def inst_map(self, reg: Mapping[str, Any]) -> np.ndarray:
        return np.array([self.inst_id[_inst_of(reg, i)] for i in range(len(reg["name"]))], dtype=np.int64)

    def asset_map(self, reg: Mapping[str, Any]) -> np.ndarray:
        return np.array([self.asset_id[str(a)] for a in reg["assets"]], dtype=np.int64)

    def to_core(self) -> dict[str, Any]:
        return {
            "assets": list(self.assets),
            "name": [self.info[i][0] for i in self.insts],
            "asset": np.array([self.asset_id[i.asset] for i in self.insts], dtype=np.int64),
            "quote": [i.quote or None for i in self.insts],
            "expiry": np.array([i.expiry for i in self.insts], dtype=np.int64),
            "strike": np.array([i.strike for i in self.insts], dtype=np.float64),
            "is_call": np.array([i.kind == "C" for i in self.insts], dtype=bool),
            "multiplier": np.array([self.info[i][1] for i in self.insts], dtype=np.float64),
        }


def _concat(pieces: Sequence[Piece], reg: _Registry, table: str) -> dict[str, np.ndarray]:
    cols: dict[str, list[np.ndarray]] = {c: [] for c in ("time", *_TABLES[table])}
    for core, r in pieces:
        if f"{table}.time" not in core:
            continue
        for c in cols:
            v = np.asarray(core[f"{table}.{c}"])
            if c == "inst":
                v = reg.inst_map(r)[v.astype(np.int64)] if len(v) else v.astype(np.int64)
            elif c == "asset" and table != "steps":
                v = reg.asset_map(r)[v.astype(np.int64)] if len(v) else v.astype(np.int64)
            cols[c].append(v)
    return {c: (np.concatenate(v) if v else np.zeros(0)) for c, v in cols.items()}


def _group(cols: dict[str, np.ndarray], keys: Sequence[str], sums: Sequence[str]) -> dict[str, np.ndarray]:
    """Sorts by ``keys`` (the first is the slowest) and sums ``sums`` over rows with equal keys."""
    n = len(cols["time"])
    if n == 0:
        return cols
    order = np.lexsort([cols[k] for k in reversed(keys)])
    cols = {c: v[order] for c, v in cols.items()}
    new = np.ones(n, dtype=bool)
    new[1:] = np.zeros(n - 1, dtype=bool)
    for k in keys:
        new[1:] |= cols[k][1:] != cols[k][:-1]
    if new.all():
        return cols
    starts = np.flatnonzero(new)
    out = {c: v[starts] for c, v in cols.items()}
    for c in sums:
        out[c] = np.add.reduceat(cols[c], starts)
    return out


def merge(pieces: Sequence[Piece], *, last_step: int | None) -> dict[str, Any]:
    """One core dict (columns + registry) from many pieces; only steps up to ``last_step`` (None: no step)."""
    reg = _Registry(pieces)
    tables = {}
    for t in _TABLES:
        cols = _concat(pieces, reg, t)
        keep = cols["time"] <= last_step if last_step is not None else np.zeros(len(cols["time"]), dtype=bool)
        tables[t] = {c: v[keep] for c, v in cols.items()}
    # Asset ids are name-ordered and inst ids canonical-ordered, so sorting by id is the core's order.
    merged = {
        "inventory": _group(tables["inventory"], ["time", "inst"], []),
        "by_strike": _group(tables["by_strike"], ["time", "asset", "strike"], ["call_gex", "put_gex"]),
        "by_expiry": _group(tables["by_expiry"], ["time", "asset", "expiry"], ["gex"]),
        "total": _group(tables["total"], ["time", "asset"], ["gex"]),
        "steps": _group(tables["steps"], ["time"], list(STEP_COUNTS)),
    }
    # As the core does: a strike's GEX is its call sum plus its put sum (unchanged for a group of one).
    merged["by_strike"]["gex"] = merged["by_strike"]["call_gex"] + merged["by_strike"]["put_gex"]
    out: dict[str, Any] = {"registry": reg.to_core()}
    for name, cols in merged.items():
        for c, v in cols.items():
            out[f"{name}.{c}"] = v.astype(_DTYPES.get(c, np.float64))
    for c in STEP_COUNTS:
        out[f"steps.{c}"] = out[f"steps.{c}"].astype(np.uint64)
    return out


_DTYPES = {"time": np.int64, "inst": np.uint32, "asset": np.uint16, "expiry": np.int64}


def reason_counts(table: pa.Table | None) -> list[int]:
    """Rejected rows per reason, in the core's reason order."""
    counts = [0] * len(REASONS)
    if table is None:
        return counts
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
        "rejected": [reason_counts(rejected.get(t)) for t in ("trades", "chain", "spot")],
        "traded_instruments": instruments,
        "expired": expired,
    }
    return Diagnostics.from_core(counts, rejected_rows=dict(rejected))


def raw(res: GexResult) -> Piece:
    """A result's columns and registry, as the core handed them over (for concatenating results)."""
    core: dict[str, np.ndarray] = {}
    for table, cols in res._t.items():
        for c, v in cols.items():
            core[f"{table}.{c}"] = v
    inst = res._inst
    reg = {
        "assets": list(res._assets),
        "name": list(inst["name"]),
        "asset": inst["asset"],
        "quote": [_quote(n) for n in inst["name"]],
        "expiry": inst["expiry"],
        "strike": inst["strike"],
        "is_call": inst["is_call"],
        "multiplier": inst["multiplier"],
    }
    return core, reg


def _quote(name: str) -> str | None:
    under = str(name).split("-")[0]
    return under.split("_", 1)[1] if "_" in under else None
