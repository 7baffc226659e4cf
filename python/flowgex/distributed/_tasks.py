"""What runs on the workers: one task per output partition, one engine per key in it.

A partition arrives as three pandas frames (trades, chain, spot) carrying the
helper columns ``__key`` (the engine) and ``__row`` (the row number in the
whole input, so rejected rows and as-of ties refer to the original order).
Each key's rows are fed in ``__row`` order, which is the order one machine
would see them in, so every per-instrument sum is bit-identical.

Two passes, because the grid is global: :func:`check_part` validates each
key's rows with an engine that evaluates nothing (``end`` before any data) and
reports what the driver needs to fix the grid, find duplicate trade ids
across keys and check exactness; :func:`evaluate_part` then replays only the
accepted rows with the global ``start`` and a *clock tick* — a spot row of a
private asset at the last grid time to report — so every engine evaluates
exactly the same steps, and drains them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import _core
from .._encode import NULL_TS, encode_chain, encode_initial, encode_spot, encode_trades
from ..engine import _new_core, _reject_tables
from ..errors import MissingDataError, MultiplierError
from ..options import EngineOptions
from ..schema import canonical_chain, canonical_spot, canonical_trades
from ._keys import Inst, canonical_key, instruments_of, parse_name, spot_asset

__all__ = [
    "KeyCheck",
    "KeyOutput",
    "check_part",
    "evaluate_part",
    "split_by_key",
    "collisions",
    "CLOCK_ASSET",
    "ROW_BITS",
    "early_end",
    "bucket_labels",
]

#: The private asset of clock-tick spot rows; it never has options, so never a row in any table.
CLOCK_ASSET = "FLOWGEX-CLOCK"
#: ``__row`` = input partition << ROW_BITS | row within it: input order, without a pass to count rows first.
ROW_BITS = 40
TABLES = ("trades", "chain", "spot")
_CANONICAL = {"trades": canonical_trades, "chain": canonical_chain, "spot": canonical_spot}
_ERROR_AT = re.compile(r" for (\S+) at (\S+?):")
_MULTIPLIER_OF = re.compile(r"\(instrument (\S+)\)")


def early_end(resolution_ns: int) -> int:
    """A grid time before any representable trade: an engine with this ``end`` evaluates nothing."""
    return -(2**63 // resolution_ns) * resolution_ns


def bucket_labels(ts: np.ndarray, resolution_ns: int) -> np.ndarray:
    """DESIGN rule 1: the label (right edge) of the bucket holding each time."""
    return (np.asarray(ts, dtype=np.int64) // resolution_ns + 1) * resolution_ns


@dataclass
class KeyCheck:
    """What validating one key's rows found (global row numbers throughout)."""

    blob: bytes = b""
    rejected: dict[str, pa.Table] = field(default_factory=dict)
    #: Latest timestamp of any row (to check a period's ``until``).
    max_ts: int | None = None
    #: Accepted trades: first timestamp per option (the traded set, and where its grid starts).
    traded: dict[Inst, int] = field(default_factory=dict)
    last_trade: int | None = None
    #: partition_by="instrument" only: first bucket label of a chain underlying_price per option.
    chain_cover: dict[Inst, int] = field(default_factory=dict)
    #: partition_by="instrument" only: the latest observation per (asset, source, bucket label).
    obs: pd.DataFrame | None = None
    error: Exception | None = None
    error_row: int = 0


@dataclass
class KeyOutput:
    """One key's evaluated steps (the core's drained columns) and its new engine state."""

    blob: bytes = b""
    core: dict[str, np.ndarray] = field(default_factory=dict)
    registry: dict[str, Any] = field(default_factory=dict)
    error: Exception | None = None
    error_order: tuple[Any, ...] = ()
    rejected: int = 0


# -- splitting a partition ---------------------------------------------------
def split_by_key(pdf: pd.DataFrame | None, kind: str) -> dict[str, tuple[pa.Table, np.ndarray]]:
    """Each key's rows as a canonical table in input order, with their global row numbers."""
    if pdf is None or len(pdf) == 0:
        return {}
    pdf = pdf.sort_values(["__key", "__row"], kind="stable")
    out: dict[str, tuple[pa.Table, np.ndarray]] = {}
    for key, sub in pdf.groupby("__key", sort=False):
        rows = sub["__row"].to_numpy(dtype=np.int64)
        out[str(key)] = (_CANONICAL[kind](sub.drop(columns=["__key", "__row"])), rows)
    return out


def _keep(
    table: pa.Table, rows: np.ndarray, drop: np.ndarray | None, before: int | None
) -> tuple[pa.Table | None, np.ndarray]:
    """The rows not in ``drop`` and before ``before``; None when none remain (the encoder
    cannot take a dictionary column without chunks, which is what filtering everything out gives)."""
    mask = np.ones(len(rows), dtype=bool)
    if drop is not None and len(drop):
        mask &= ~np.isin(rows, drop)
    if before is not None:
        ts = _ts(table)
        mask &= (ts < before) | (ts == NULL_TS)
    if mask.all():
        return table, rows
    if not mask.any():
        return None, rows[:0]
    return table.filter(pa.array(mask)), rows[mask]


def _ts(table: pa.Table) -> np.ndarray:
    from .._encode import timestamps

    return timestamps(table.column("timestamp"))


def _with_tick(spot: dict[str, Any] | None, tick: int | None) -> dict[str, Any] | None:
    """Appends the clock tick (a spot row of :data:`CLOCK_ASSET` at ``tick``) to an encoded spot table."""
    if tick is None:
        return spot
    if spot is None:
        spot = {"ts": np.zeros(0, np.int64), "asset": np.zeros(0, np.int32), "assets": [], "price": np.zeros(0)}
    return {
        "ts": np.append(spot["ts"], np.int64(tick)),
        "asset": np.append(spot["asset"], np.int32(len(spot["assets"]))).astype(np.int32),
        "assets": [*spot["assets"], CLOCK_ASSET],
        "price": np.append(spot["price"], 1.0),
    }


def _encode_all(tables: dict[str, pa.Table | None], tick: int | None) -> dict[str, Any]:
    enc: dict[str, Any] = {
        "trades": None if tables["trades"] is None else encode_trades(tables["trades"]),
        "chain": None if tables["chain"] is None else encode_chain(tables["chain"]),
        "spot": None if tables["spot"] is None else encode_spot(tables["spot"]),
    }
    enc["spot_with_tick"] = _with_tick(enc["spot"], tick)
    return enc


def _without_tick(report: dict[str, Any], n_spot: int) -> dict[str, Any]:
    which, row = np.asarray(report["table"]), np.asarray(report["row"])
    keep = ~((which == 2) & (row == n_spot))
    return {**report, "table": which[keep], "row": row[keep], "reason": np.asarray(report["reason"])[keep]}


def _key_inputs(
    parts: dict[str, dict[str, tuple[pa.Table, np.ndarray]]], key: str, drop: dict[str, np.ndarray], before: int | None
) -> tuple[dict[str, pa.Table | None], dict[str, np.ndarray], dict[str, pa.Table]]:
    """One key's tables without the ``drop`` rows and rows at or after ``before``; also the dropped rows."""
    tables: dict[str, pa.Table | None] = {}
    rows: dict[str, np.ndarray] = {}
    dropped: dict[str, pa.Table] = {}
    for name in TABLES:
        got = parts[name].get(key)
        if got is None:
            tables[name], rows[name] = None, np.zeros(0, np.int64)
            continue
        tables[name], rows[name] = _keep(got[0], got[1], drop.get(name), before)
        gone = np.isin(got[1], drop[name]) if drop.get(name) is not None else None
        if gone is not None and gone.any():
            dropped[name] = got[0].filter(pa.array(gone)).append_column("row", pa.array(got[1][gone], pa.int64()))
    return tables, rows, dropped


# -- pass 1: validation ------------------------------------------------------
def check_part(
    frames: tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None],
    *,
    keys: dict[str, bytes | None],
    opts: EngineOptions,
    tick: int | None,
    drop: dict[str, np.ndarray],
    coverage: bool,
    n_buckets: int,
) -> tuple[dict[str, KeyCheck], list[pd.DataFrame], dict[str, dict[int, int]]]:
    """Validates every key of one partition.

    Also returns the accepted trade ids in ``n_buckets`` hash buckets (to find
    duplicates across keys) and, per table and input partition, the highest
    row position seen plus one: every row reaches some key, so the maximum over
    tasks is the partition's length (spot rows copied to several keys count once).
    """
    parts = {name: split_by_key(f, name) for name, f in zip(TABLES, frames)}
    unknown = {k for p in parts.values() for k in p} - set(keys)
    if unknown:
        raise RuntimeError(f"flowgex.distributed: rows for keys {sorted(unknown)[:5]} reached the wrong task")
    counts = {name: _rows_per_input(f) for name, f in zip(TABLES, frames)}
    checks: dict[str, KeyCheck] = {}
    ids: list[pd.DataFrame] = []
    for key, blob in keys.items():
        tables, rows, dropped = _key_inputs(parts, key, drop, None)
        check, kept = _check_key(tables, rows, blob=blob, opts=opts, tick=tick, coverage=coverage)
        for name, table in dropped.items():  # repeats of a trade id kept by another engine
            reason = pa.array(["duplicate_trade_id"] * table.num_rows, pa.string())
            check.rejected[name] = pa.concat_tables(
                [t for t in (check.rejected.get(name), table.append_column("reason", reason)) if t is not None],
                promote_options="permissive",
            )
        checks[key] = check
        if kept is not None:
            ids.append(kept.assign(key=key))
    kept = pd.concat(ids, ignore_index=True) if ids else _empty_ids()
    return checks, _buckets(kept, n_buckets), counts


def _buckets(ids: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """Accepted trade ids split by a stable hash, so bucket *j* of every task meets in one place."""
    if n <= 1 or len(ids) == 0:
        return [ids] + [ids.iloc[:0]] * (n - 1)
    h = pd.util.hash_array(ids["id"].to_numpy(dtype=object)) % np.uint64(n)
    return [ids[h == j] for j in range(n)]


def _rows_per_input(pdf: pd.DataFrame | None) -> dict[int, int]:
    if pdf is None or len(pdf) == 0:
        return {}
    rows = pdf["__row"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame({"part": rows >> ROW_BITS, "local": rows & ((1 << ROW_BITS) - 1)})
    return {int(p): int(c) + 1 for p, c in frame.groupby("part")["local"].max().items()}


def _empty_ids() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.Series([], dtype=object),
            "ts": np.zeros(0, np.int64),
            "row": np.zeros(0, np.int64),
            "key": pd.Series([], dtype=object),
        }
    )


def _check_key(
    tables: dict[str, pa.Table | None],
    rows: dict[str, np.ndarray],
    *,
    blob: bytes | None,
    opts: EngineOptions,
    tick: int | None,
    coverage: bool,
) -> tuple[KeyCheck, pd.DataFrame | None]:
    core = _core.CoreEngine.restore(blob, threads=opts.threads) if blob else _new_core(opts)
    enc = _encode_all(tables, tick)
    check = KeyCheck()
    stamps = [e["ts"][e["ts"] != NULL_TS] for e in (enc["trades"], enc["chain"], enc["spot"]) if e is not None]
    stamps = [s for s in stamps if len(s)]
    check.max_ts = int(max(s.max() for s in stamps)) if stamps else None
    n_spot = 0 if tables["spot"] is None else tables["spot"].num_rows
    try:
        report = core.update(enc["trades"], enc["chain"], enc["spot_with_tick"], strict=False)
    except MultiplierError as exc:
        # One machine checks rows before multipliers: report the bad rows too (strict applies nothing).
        check.error, check.error_row = exc, _first_row_naming(exc, enc["trades"], rows["trades"])
        retry = _core.CoreEngine.restore(blob, threads=opts.threads) if blob else _new_core(opts)
        try:
            report = retry.update(enc["trades"], enc["chain"], enc["spot_with_tick"], strict=True)
        except MultiplierError:
            return check, None
        rejected = _reject_tables(_without_tick(report, n_spot), tables)
        check.rejected = {name: _global_rows(t, rows[name]) for name, t in rejected.items()}
        return check, None
    report = _without_tick(report, n_spot)
    rejected = _reject_tables(report, tables)
    check.rejected = {name: _global_rows(t, rows[name]) for name, t in rejected.items()}
    check.blob = bytes(core.snapshot())
    ok = {name: _accepted(report, code, len(rows[name])) for code, name in enumerate(TABLES)}
    kept = None
    if enc["trades"] is not None:
        kept = _trades_summary(check, enc["trades"], tables["trades"], rows["trades"], ok["trades"])
    if coverage:
        check.obs, check.chain_cover = _observations(enc, rows, ok, opts.resolution_ns)
    return check, kept


def _accepted(report: dict[str, Any], code: int, n: int) -> np.ndarray:
    ok = np.ones(n, dtype=bool)
    which = np.asarray(report["table"])
    ok[np.asarray(report["row"])[which == code].astype(np.int64)] = False
    return ok


def _global_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    i = table.schema.get_field_index("row")
    local = table.column("row").to_numpy()
    return table.set_column(i, "row", pa.array(rows[local], pa.int64()))


def _first_row_naming(exc: Exception, trades: dict[str, Any] | None, rows: np.ndarray) -> int:
    """The first input row of the instrument a MultiplierError names (to pick the error one machine raises)."""
    if trades is None:
        return 0
    m = _MULTIPLIER_OF.search(str(exc))
    target = parse_name(m.group(1)) if m else None
    named = [i for i, inst in enumerate(instruments_of(trades)) if inst is not None and inst == target]
    hit = np.isin(trades["inst"], named)
    return int(rows[hit].min()) if hit.any() else 0


def _trades_summary(
    check: KeyCheck, enc: dict[str, Any], table: pa.Table, rows: np.ndarray, ok: np.ndarray
) -> pd.DataFrame | None:
    insts = instruments_of(enc)
    codes, ts = enc["inst"][ok], enc["ts"][ok]
    if len(ts):
        check.last_trade = int(ts.max())
        check.traded = _min_by_inst(codes, ts, insts)
    if "trade_id" not in table.column_names:
        return None
    col = table.column("trade_id")
    valid = ok & np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    ids = col.cast(pa.string()).to_numpy(zero_copy_only=False)
    return pd.DataFrame({"id": ids[valid], "ts": enc["ts"][valid], "row": rows[valid]})


def _min_by_inst(codes: np.ndarray, values: np.ndarray, insts: list[Inst | None]) -> dict[Inst, int]:
    """The smallest value per option; several codes (spellings) may name one option."""
    out: dict[Inst, int] = {}
    for c, v in pd.Series(values).groupby(codes).min().items():
        inst = insts[int(c)]
        if inst is not None:
            out[inst] = min(int(v), out.get(inst, int(v)))
    return out


def _last_per_label(asset: np.ndarray, ts: np.ndarray, row: np.ndarray, value: np.ndarray, res: int) -> pd.DataFrame:
    frame = pd.DataFrame({"asset": asset, "label": bucket_labels(ts, res), "ts": ts, "row": row, "value": value})
    frame = frame.sort_values(["asset", "label", "ts", "row"], kind="stable")
    return frame.drop_duplicates(["asset", "label"], keep="last")


def _valid(enc: dict[str, Any], name: str, ok: np.ndarray) -> np.ndarray:
    if name not in enc:
        return np.zeros(len(ok), dtype=bool)
    return ok & (enc[f"{name}_valid"] if f"{name}_valid" in enc else True)


def _observations(
    enc: dict[str, Any], rows: dict[str, np.ndarray], ok: dict[str, np.ndarray], res: int
) -> tuple[pd.DataFrame, dict[Inst, int]]:
    """The as-of observations behind an asset's total ``spot`` (spot table, else index price, else any
    chain underlying), and the first chain underlying label per option (its own price source)."""
    frames: list[pd.DataFrame] = []
    cover: dict[Inst, int] = {}
    t = enc["trades"]
    if t is not None:
        insts = instruments_of(t)
        m = _valid(t, "index_price", ok["trades"])
        asset = np.array([i.asset if i else "" for i in insts] + [""], dtype=object)[t["inst"][m]]
        frames.append(_last_per_label(asset, t["ts"][m], rows["trades"][m], t["index_price"][m], res).assign(src=1))
    c = enc["chain"]
    if c is not None:
        insts = instruments_of(c)
        m = _valid(c, "underlying_price", ok["chain"])
        asset = np.array([i.asset if i else "" for i in insts] + [""], dtype=object)[c["inst"][m]]
        frames.append(_last_per_label(asset, c["ts"][m], rows["chain"][m], c["underlying_price"][m], res).assign(src=2))
        cover = _min_by_inst(c["inst"][m], bucket_labels(c["ts"][m], res), insts)
    s = enc["spot"]
    if s is not None:
        m = ok["spot"]
        names = np.array([spot_asset(a) or "" for a in s["assets"]] + [""], dtype=object)
        asset = names[s["asset"][m]]
        frames.append(_last_per_label(asset, s["ts"][m], rows["spot"][m], s["price"][m], res).assign(src=0))
    obs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return obs, cover


# -- pass 2: evaluation ------------------------------------------------------
def evaluate_part(
    frames: tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None],
    *,
    keys: dict[str, bytes | None],
    seeds: dict[str, pa.Table],
    opts: EngineOptions,
    drop: dict[str, np.ndarray],
    before: int | None,
    tick: int | None,
) -> dict[str, KeyOutput]:
    """Replays the accepted rows of every key of one partition and drains the evaluated steps."""
    parts = {name: split_by_key(f, name) for name, f in zip(TABLES, frames)}
    out: dict[str, KeyOutput] = {}
    for key, blob in keys.items():
        tables, _, _ = _key_inputs(parts, key, drop, before)
        out[key] = _evaluate_key(tables, blob=blob, seed=seeds.get(key), opts=opts, tick=tick)
    return out


def _evaluate_key(
    tables: dict[str, pa.Table | None],
    *,
    blob: bytes | None,
    seed: pa.Table | None,
    opts: EngineOptions,
    tick: int | None,
) -> KeyOutput:
    if blob:
        core = _core.CoreEngine.restore(blob, threads=opts.threads)
    else:
        core = _new_core(opts)
        if seed is not None and seed.num_rows:
            core.seed(encode_initial(seed))
    enc = _encode_all(tables, tick)
    try:
        report = core.update(enc["trades"], enc["chain"], enc["spot_with_tick"], strict=False)
    except MissingDataError as exc:
        return KeyOutput(error=exc, error_order=_error_order(exc))
    n_spot = 0 if tables["spot"] is None else tables["spot"].num_rows
    drained = {k: np.asarray(v) for k, v in core.drain().items()}
    return KeyOutput(
        blob=bytes(core.snapshot()),
        core=drained,
        registry=dict(core.registry()),
        rejected=len(_without_tick(report, n_spot)["row"]),
    )


def _error_order(exc: Exception) -> tuple[Any, ...]:
    """(time, canonical instrument) of a missing-data error: one machine raises the earliest."""
    m = _ERROR_AT.search(str(exc))
    if m is None:
        return (np.iinfo(np.int64).max,)
    inst = parse_name(m.group(1))
    when = int(pd.Timestamp(m.group(2)).value)
    return (when, canonical_key(inst) if inst else ())


def collisions(buckets: list[pd.DataFrame]) -> pd.DataFrame:
    """Accepted trades whose id was also accepted by another engine (one machine keeps only the first)."""
    ids = pd.concat(buckets, ignore_index=True)
    if len(ids) == 0:
        return ids
    keys = ids.groupby("id")["key"].nunique()
    return ids[ids["id"].isin(keys.index[keys > 1])]
