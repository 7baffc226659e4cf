"""flowgex itself, as a user would call it: one ``flow_gex`` call on the
dataset's path (flowgex reads it, encoding batch by batch while Arrow reads
ahead); in memory, one call on the pyarrow Table read beforehand (strings as
dictionaries); or, for a dataset too big to hold at once (``flowgex-stream``),
the streaming :class:`flowgex.Engine` fed one date partition at a time while
the next one is read.

``keep_inventory="last"`` and ``keep_aggregates="last"`` keep totals for every
step and inventory and strike rows for the last step only: exactly what the job
asks for (the other peers compute the strike chart at the last step only too).
The timed job includes building the two pandas frames.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import flowgex as fg

from .common import COLUMNS, PeerOutput

__all__ = ["read", "compute", "run", "run_streaming", "date_groups", "output"]


def read(path: str | list[str]) -> pa.Table:
    """The canonical trades table of a hive-partitioned dataset.

    ``partitioning=None``: the partition columns are not needed (the asset is in
    the instrument name), and skipping hive discovery made the read 4x faster
    (0.5 s instead of 2 s for 10M trades in 292 files).
    """
    return pq.read_table(path, columns=COLUMNS, read_dictionary=["instrument", "side"], partitioning=None)


def date_groups(path: str) -> list[list[str]]:
    """The dataset's files grouped by ``date=`` partition, dates ascending (every
    asset's file of a date together): chunks in time order, as the engine wants."""
    groups: dict[str, list[str]] = {}
    for f in sorted(Path(path).glob("asset=*/date=*/*.parquet")):
        date = re.search(r"date=([^/]+)", str(f))
        groups.setdefault(date.group(1) if date else "", []).append(str(f))
    return [groups[d] for d in sorted(groups)]


def run_streaming(path: str, *, threads: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Engine fed date by date; a reader thread reads date d+1 while the engine
    works on date d (both release the GIL). Memory holds two dates, not the dataset."""
    engine = fg.Engine(keep_inventory="last", keep_aggregates="last", threads=threads)
    groups = date_groups(path)
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(read, groups[0]) if groups else None
        for nxt in [*groups[1:], None]:
            assert pending is not None
            table = pending.result()
            pending = reader.submit(read, nxt) if nxt is not None else None
            engine.update(table)
    res = engine.finish()
    return res.total(), res.by_strike(at="last")


def compute(table: Any, *, threads: int | None = None, engine: str = "rust") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(totals, by strike at the last grid time), as flowgex returns them, from a table or a path."""
    if engine == "reference":
        res = fg.flow_gex(table, engine="reference")
    else:
        res = fg.flow_gex(table, keep_inventory="last", keep_aggregates="last", threads=threads)
    return res.total(), res.by_strike(at="last")


def run(source: Any, *, threads: int | None = None, engine: str = "rust") -> tuple[pd.DataFrame, pd.DataFrame]:
    """From a dataset path (end to end: ``flow_gex`` reads it) or a pyarrow Table already loaded (in memory)."""
    return compute(source, threads=threads, engine=engine)


def output(native: tuple[pd.DataFrame, pd.DataFrame]) -> PeerOutput:
    """flowgex's frames in the common shape (no Σ|GEX|: the peers supply the scale)."""
    total, strikes = native
    last = int(strikes["time"].iloc[0].value) if len(strikes) else int(total["time"].max().value)
    return PeerOutput(
        total=pd.DataFrame(
            {
                "asset": total["asset"].to_numpy(dtype=object),
                "time": total["time"].to_numpy(dtype="datetime64[ns]").view("int64"),
                "gex": total["gex"].to_numpy(),
            }
        ),
        by_strike=pd.DataFrame(
            {
                "asset": strikes["asset"].to_numpy(dtype=object),
                "strike": strikes["strike"].to_numpy(),
                "gex": strikes["gex"].to_numpy(),
            }
        ),
        last=last,
    )
