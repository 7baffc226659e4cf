"""Replay results on disk: Parquet datasets partitioned by asset and date.

Layout under ``out``::

    by_strike/asset=BTC/date=2024-12-01/part-00000007.parquet
    by_expiry/...   total/...   inventory/...   (inventory only when asked)
    rejected/trades.parquet  rejected/chain.parquet  rejected/spot.parquet
    diagnostics.json

``date`` is the UTC date of the grid time. Part numbers are the replay's chunk
numbers, so a chunk redone after a crash rewrites the very same files (each
written to a temp file and renamed into place), and parts newer than the
checkpoint are removed before resuming: no gaps, no duplicates.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..diagnostics import Diagnostics
from ..errors import OptionError, ReadError, SnapshotError
from ..io.files import remove_stale_temps, write_atomic_bytes, write_atomic_with
from ..options import to_ns
from ..result import GexResult

__all__ = ["TABLES", "write_step_tables", "write_final", "read_replay", "remove_parts_after", "MANAGED"]

TABLES = ("by_strike", "by_expiry", "total", "inventory")
#: Everything replay writes under ``out`` (removed by ``overwrite=True``).
MANAGED = (*TABLES, "rejected", "diagnostics.json", "_replay")
_DAY_NS = 86_400 * 10**9
_EPOCH = dt.date(1970, 1, 1)
_PART = re.compile(r"part-(\d+)\.parquet$")
_KEYS = {"by_strike": ["strike"], "by_expiry": ["expiry"], "total": [], "inventory": ["instrument"]}


def _tables(res: GexResult, inventory: bool) -> dict[str, pa.Table]:
    out = {
        "by_strike": pa.Table.from_pandas(res.by_strike(), preserve_index=False),
        "by_expiry": pa.Table.from_pandas(res.by_expiry(), preserve_index=False),
        "total": pa.Table.from_pandas(res.total(), preserve_index=False),
    }
    if inventory:
        out["inventory"] = res.to_arrow()
    return out


def write_step_tables(root: Path, res: GexResult, seq: int, *, inventory: bool) -> int:
    """Writes each table of ``res`` as ``part-{seq}`` in its (asset, date) partitions; returns rows written."""
    rows = 0
    for name, table in _tables(res, inventory).items():
        if table.num_rows == 0:
            continue
        rows += table.num_rows
        encoded = pc.dictionary_encode(table.column("asset")).combine_chunks()
        assets, asset_code = encoded.dictionary.to_pylist(), encoded.indices.to_numpy().astype(np.int64)
        day = pc.cast(table.column("time"), pa.int64()).to_numpy() // _DAY_NS
        keys = day * len(assets) + asset_code
        body = table.drop_columns(["asset"])
        for key in np.unique(keys):
            a, d = assets[key % len(assets)], _date(int(key // len(assets)))
            part = body.filter(pa.array(keys == key))
            target = root / name / f"asset={a}" / f"date={d}" / f"part-{seq:08d}.parquet"
            write_atomic_with(target, functools.partial(pq.write_table, part))
    return rows


def _date(day: int) -> str:
    return (_EPOCH + dt.timedelta(days=day)).isoformat()


def remove_parts_after(root: Path, seq: int) -> int:
    """Deletes parts numbered above ``seq`` (written after the last checkpoint) and temp files."""
    n = 0
    for name in TABLES:
        base = root / name
        if not base.is_dir():
            continue
        for p in base.rglob("part-*.parquet"):
            m = _PART.search(p.name)
            if m and int(m.group(1)) > seq:
                p.unlink()
                n += 1
    return n + remove_stale_temps(root)


def write_final(root: Path, diagnostics: Diagnostics) -> None:
    """The diagnostics (counts as JSON) and the rejected rows with their reasons."""
    for table, rows in diagnostics.rejected_rows.items():
        write_atomic_with(root / "rejected" / f"{table}.parquet", functools.partial(pq.write_table, rows))
    write_atomic_bytes(root / "diagnostics.json", json.dumps(diagnostics.as_dict(), indent=2, sort_keys=True).encode())


def load_diagnostics(root: Path) -> Diagnostics:
    """A finished replay's diagnostics; a missing or damaged file is a SnapshotError (state, not input)."""
    try:
        d = json.loads((root / "diagnostics.json").read_text())
        rejected = {}
        for p in sorted((root / "rejected").glob("*.parquet")):
            rejected[p.stem] = pq.read_table(p)
        if not isinstance(d, dict):
            raise ValueError("not an object")
        return Diagnostics(**d, rejected_rows=rejected)
    except (OSError, ValueError, TypeError, KeyError, RecursionError, pa.ArrowException) as exc:
        raise SnapshotError(
            f"{root}: the finished replay's diagnostics cannot be read ({type(exc).__name__}: {exc}); "
            f"run again with overwrite=True"
        ) from exc


def clear(root: Path) -> None:
    for name in MANAGED:
        p = root / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def read_replay(
    out: str | Path, table: str = "by_strike", *, asset: str | None = None, start: Any = None, end: Any = None
) -> pd.DataFrame:
    """One table of a replay's output as a DataFrame sorted by (time, asset, key).

    ``table``: "by_strike", "by_expiry", "total" or "inventory"; ``asset``, ``start``
    and ``end`` (grid times, inclusive) are pushed down to the Parquet dataset.
    """
    if table not in TABLES:
        raise OptionError(f"invalid option table: expected one of {TABLES}, found {table!r}")
    base = Path(out) / table
    if not base.is_dir():
        raise ReadError(f"{base}: no replay output here (was inventory=True for 'inventory'?)")
    keys = ds.partitioning(pa.schema([("asset", pa.string()), ("date", pa.string())]), flavor="hive")
    dataset = ds.dataset(base, format="parquet", partitioning=keys)
    expr = None
    if asset is not None:
        expr = ds.field("asset") == str(asset).upper()
    for bound, op in ((start, "ge"), (end, "le")):
        if bound is not None:
            t = pa.scalar(to_ns(bound, name="start" if op == "ge" else "end"), pa.timestamp("ns", tz="UTC"))
            cond = ds.field("time") >= t if op == "ge" else ds.field("time") <= t
            expr = cond if expr is None else expr & cond
    frame = dataset.to_table(filter=expr).drop_columns(["date"]).to_pandas()
    columns = ["asset", *[c for c in frame.columns if c != "asset"]]
    keys = ["time", "asset", *_KEYS[table]]
    return frame[columns].sort_values(keys, kind="stable").reset_index(drop=True)
