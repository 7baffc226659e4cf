"""The two passes on the workers, each over the engines (assets) of one output partition.

*Validate* (:func:`validate_part`): before any step is evaluated, the driver
needs what one machine knows after validating everything — each rejected row
and its reason, and the first and last accepted trade, which fix the global
grid. A validation engine whose ``end`` lies before any data validates and
replays its rows but evaluates no step, so this pass is cheap; its snapshot
carries the open bucket (and its trade ids) into the next period exactly as a
streaming :class:`~flowgex.Engine` would.

*Evaluate* (:func:`evaluate_part`): each engine is fed only the rows the
validation pass accepted, with the global ``start``; its clock is advanced to
the period's last grid time (:meth:`flowgex.Engine.advance`), so every engine
reports the same grid whatever its own last trade was; the committed steps are
drained and its snapshot kept for the next period.

A partition arrives as three pandas frames (trades, chain, spot) carrying
``__key`` and ``__row``; each key's rows are fed in ``__row`` order, the order
one machine sees them in, so every per-option sum and every as-of tie is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._tables import ResultData
from ..errors import MissingDataError
from ..options import EngineOptions
from ._engine import (
    NULL_TS,
    encode_chain,
    encode_initial,
    encode_spot,
    encode_trades,
    new_core,
    reject_tables,
    restore_core,
    timestamps,
)
from ._frames import ROW_BITS, TABLES, canonical
from ._keys import Ident, identities

__all__ = ["KeyCheck", "KeyOutput", "drained", "validate_part", "evaluate_part"]

Frames = tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]


@dataclass
class KeyCheck:
    """What validating one key's rows found (rows as ``__row`` ids: input partition and position)."""

    blob: bytes = b""
    #: Rejected rows per table, with ``__id`` (input partition and position) instead of ``row``.
    rejected: dict[str, pa.Table] = field(default_factory=dict)
    #: Latest timestamp of any row (to check a period's ``until``).
    max_ts: int | None = None
    first_trade: int | None = None
    last_trade: int | None = None
    #: The options with an accepted trade (for the ``instruments`` and ``expired`` counts).
    traded: set[Ident] = field(default_factory=set)
    #: Chain and spot rows at or after their option's expiry (ignored and counted, as one engine does).
    chain_after_expiry: int = 0


@dataclass
class KeyOutput:
    """One key's evaluated steps (the core's drained tables) and its new engine state."""

    blob: bytes = b""
    data: ResultData | None = None
    #: A missing volatility or price, and where (time, key): the driver raises the earliest, as one machine does.
    error: MissingDataError | None = None
    error_at: tuple[int, str] = (0, "")
    rejected: int = 0


def _split(pdf: pd.DataFrame | None, kind: str) -> dict[str, tuple[pa.Table, np.ndarray]]:
    """Each key's rows as a canonical table in input order, with their ``__row`` ids."""
    if pdf is None or len(pdf) == 0:
        return {}
    codes, keys = pd.factorize(pdf["__key"].to_numpy(dtype=object))
    rows = pdf["__row"].to_numpy(dtype=np.int64)
    order = np.lexsort((rows, codes))
    # One conversion for the whole partition (types are inferred as for the whole input), then slices.
    table = canonical(pdf, kind).take(pa.array(order))
    codes, rows = codes[order], rows[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(codes)]
    return {str(keys[codes[a]]): (table.slice(a, b - a), rows[a:b]) for a, b in zip(starts, ends)}


def _inputs(
    parts: dict[str, dict[str, tuple[pa.Table, np.ndarray]]], key: str, keep: Any = None
) -> tuple[dict[str, pa.Table | None], dict[str, np.ndarray]]:
    """One key's tables and row ids; ``keep(name, table, rows)`` gives a mask of the rows to feed."""
    tables: dict[str, pa.Table | None] = {}
    rows: dict[str, np.ndarray] = {}
    for name in TABLES:
        table, ids = parts[name].get(key, (None, np.zeros(0, np.int64)))
        if table is not None and keep is not None:
            mask = keep(name, table, ids)
            # None when no row remains: the encoder cannot take a dictionary column without chunks.
            table, ids = (table.filter(pa.array(mask)), ids[mask]) if mask.any() else (None, ids[:0])
        tables[name], rows[name] = table, ids
    return tables, rows


def _encode(tables: dict[str, pa.Table | None]) -> list[dict[str, Any] | None]:
    encoders = (encode_trades, encode_chain, encode_spot)
    return [None if (t := tables[n]) is None else f(t) for n, f in zip(TABLES, encoders)]


def drained(core: Any) -> ResultData:
    """The steps a core engine has committed, drained from it, over its registry."""
    return ResultData.from_core({**core.drain(), "registry": core.registry()})


def _core_for(blob: bytes | None, opts: EngineOptions) -> Any:
    return restore_core(blob, threads=opts.threads) if blob else new_core(opts)


def rows_per_input(pdf: pd.DataFrame | None) -> dict[int, int]:
    """Per input partition, the highest row position seen plus one (every row reaches one task, so
    the maximum over tasks is the partition's length)."""
    if pdf is None or len(pdf) == 0:
        return {}
    rows = pdf["__row"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame({"part": rows >> ROW_BITS, "local": rows & ((1 << ROW_BITS) - 1)})
    return {int(p): int(c) + 1 for p, c in frame.groupby("part")["local"].max().items()}


def validate_part(
    frames: Frames, *, keys: dict[str, bytes | None], opts: EngineOptions, until: int | None
) -> tuple[dict[str, KeyCheck], dict[str, dict[int, int]]]:
    """Validates every key of one partition; also counts the rows of each input partition."""
    parts = {name: _split(f, name) for name, f in zip(TABLES, frames)}
    unknown = {k for p in parts.values() for k in p} - set(keys)
    if unknown:
        raise RuntimeError(f"flowgex.distributed: rows for keys {sorted(unknown)[:5]} reached the wrong task")
    checks = {}
    for key, blob in keys.items():
        core = _core_for(blob, opts)
        tables, rows = _inputs(parts, key)
        enc = _encode(tables)
        report = core.update(*enc, strict=False)
        if until is not None:
            core.advance(until)
        check = KeyCheck(blob=bytes(core.snapshot()), chain_after_expiry=int(report["chain_after_expiry"]))
        check.rejected = {name: _global_rows(t, rows[name]) for name, t in reject_tables(report, tables).items()}
        stamps = [e["ts"][e["ts"] != NULL_TS] for e in enc if e is not None]
        check.max_ts = max((int(s.max()) for s in stamps if len(s)), default=None)
        if enc[0] is not None:
            ok = np.ones(len(rows["trades"]), dtype=bool)
            which = np.asarray(report["table"])
            ok[np.asarray(report["row"])[which == 0].astype(np.int64)] = False
            ts, insts = enc[0]["ts"][ok], identities(enc[0])
            if len(ts):
                check.first_trade, check.last_trade = int(ts.min()), int(ts.max())
                check.traded.update(i for c in np.unique(enc[0]["inst"][ok]) if (i := insts[c]) is not None)
        checks[key] = check
    return checks, {name: rows_per_input(f) for name, f in zip(TABLES, frames)}


def _global_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``row`` (position in this key's input) -> ``__id`` (input partition and position)."""
    i = table.schema.get_field_index("row")
    return table.set_column(i, "__id", pa.array(rows[table.column("row").to_numpy()], pa.int64()))


def evaluate_part(
    frames: Frames,
    *,
    keys: dict[str, bytes | None],
    seeds: dict[str, pa.Table],
    opts: EngineOptions,
    drop: dict[str, np.ndarray],
    clock: int,
) -> dict[str, KeyOutput]:
    """Replays the accepted rows (before ``clock``) of every key of one partition and drains the steps."""
    parts = {name: _split(f, name) for name, f in zip(TABLES, frames)}

    def keep(name: str, table: pa.Table, rows: np.ndarray) -> np.ndarray:
        # Rows at or after the clock cannot change a reported step (they would only make the engine
        # evaluate further, and with keep_inventory="last" keep a later step's inventory).
        ts = timestamps(table.column("timestamp"))
        mask = (ts < clock) | (ts == NULL_TS)
        return mask & ~np.isin(rows, drop[name]) if name in drop else mask

    out = {}
    for key, blob in keys.items():
        core = _core_for(blob, opts)
        if not blob and key in seeds:
            core.seed(encode_initial(seeds[key]))
        tables, _ = _inputs(parts, key, keep)
        try:
            report = core.update(*_encode(tables), strict=False)
            core.advance(clock)
        except MissingDataError as exc:
            out[key] = KeyOutput(error=exc, error_at=(getattr(exc, "time_ns", np.iinfo(np.int64).max), key))
            continue
        data = drained(core)  # before the snapshot: not kept twice
        out[key] = KeyOutput(bytes(core.snapshot()), data, rejected=len(report["row"]))
    return out
