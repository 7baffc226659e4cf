"""Pass 1 on the workers: validate each engine's rows without evaluating anything.

The grid is global — it starts at the first accepted trade's bucket and ends
at the last one's — and so is the trade-id rule (a repeated id is a duplicate
whichever option it names). Before any step is evaluated, the driver needs to
know what one machine would know after validating everything: each rejected
row and its reason, the first and last accepted trade, which trade ids two
engines both accepted, and (``partition_by="instrument"``) the price
observations that decide whether the split is exact. An engine whose ``end``
lies before any data validates and replays its rows but evaluates no step, so
this pass is cheap, and its snapshot carries the open bucket into the next
period exactly as a streaming :class:`~flowgex.Engine` would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import _core
from .._encode import NULL_TS
from .._engine_core import core_engine as _new_core
from ..errors import MultiplierError
from ..options import EngineOptions
from ..rejects import reject_tables as _reject_tables
from ._inputs import ROW_BITS, TABLES, bucket_labels, encode_all, key_inputs, split_by_key, without_tick
from ._keys import Inst, instruments_of, parse_name, spot_asset

__all__ = ["KeyCheck", "check_part", "collisions", "empty_ids"]

_MULTIPLIER_OF = re.compile(r"\(instrument (\S+)\)")


@dataclass
class KeyCheck:
    """What validating one key's rows found (rows as ``__row`` ids: input partition and position)."""

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
        tables, rows, dropped = key_inputs(parts, key, drop, None)
        check, kept = _check_key(tables, rows, blob=blob, opts=opts, tick=tick, coverage=coverage)
        for name, table in dropped.items():  # repeats of a trade id kept by another engine
            latest = pc.max(pc.cast(table.column("timestamp"), pa.int64())).as_py()
            if latest is not None:
                check.max_ts = max(latest, check.max_ts if check.max_ts is not None else latest)
            reason = pa.array(["duplicate_trade_id"] * table.num_rows, pa.string())
            check.rejected[name] = pa.concat_tables(
                [t for t in (check.rejected.get(name), table.append_column("reason", reason)) if t is not None],
                promote_options="permissive",
            )
        checks[key] = check
        if kept is not None:
            ids.append(kept.assign(key=key))
    kept = pd.concat(ids, ignore_index=True) if ids else empty_ids()
    return checks, _buckets(kept, n_buckets), counts


def _buckets(ids: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """Accepted trade ids split by a stable hash, so bucket *j* of every task meets in one place."""
    if n <= 1 or len(ids) == 0:
        return [ids] + [ids.iloc[:0]] * (n - 1)
    h = pd.util.hash_array(ids["id"].to_numpy(dtype=object), categorize=False) % np.uint64(n)
    return [ids[h == j] for j in range(n)]


def _rows_per_input(pdf: pd.DataFrame | None) -> dict[int, int]:
    if pdf is None or len(pdf) == 0:
        return {}
    rows = pdf["__row"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame({"part": rows >> ROW_BITS, "local": rows & ((1 << ROW_BITS) - 1)})
    return {int(p): int(c) + 1 for p, c in frame.groupby("part")["local"].max().items()}


def empty_ids() -> pd.DataFrame:
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
    enc = encode_all(tables, tick)
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
        rejected = _reject_tables(without_tick(report, n_spot), tables)
        check.rejected = {name: _global_rows(t, rows[name]) for name, t in rejected.items()}
        return check, None
    report = without_tick(report, n_spot)
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
    asset = np.array([i.asset if i else "" for i in insts] + [""], dtype=object)[enc["inst"]]
    ids = asset + "\x00" + col.cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)
    return pd.DataFrame({"id": ids[valid], "ts": enc["ts"][valid], "row": rows[valid]})


def id_keys(table: pa.Table, ids: list[Any]) -> np.ndarray:
    """(asset, trade id) keys of canonical trade rows: venues number trades per asset."""
    if "instrument" in table.column_names:
        names = table.column("instrument").cast(pa.string()).to_pylist()
        assets = [(i.asset if (i := parse_name(n)) else "") if isinstance(n, str) else "" for n in names]
    else:
        assets = [str(a).upper() if a is not None else "" for a in table.column("asset").to_pylist()]
    return np.array([f"{a}\x00{t}" for a, t in zip(assets, ids)], dtype=object)


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


def collisions(buckets: list[pd.DataFrame]) -> pd.DataFrame:
    """Accepted trades whose id was also accepted by another engine (one machine keeps only the first)."""
    ids = pd.concat(buckets, ignore_index=True)
    ids = ids[ids["id"].duplicated(keep=False)]  # ids seen once (nearly all) cannot collide
    if len(ids) == 0:
        return ids
    keys = ids.groupby("id")["key"].nunique()
    return ids[ids["id"].isin(keys.index[keys > 1])]
