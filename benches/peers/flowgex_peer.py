"""flowgex itself, as a user would call it: read the Parquet dataset with
pyarrow (strings as dictionaries), then one ``flow_gex`` call.

``keep_inventory="last"`` and ``keep_aggregates="last"`` keep totals for every
step and inventory and strike rows for the last step only: exactly what the job
asks for (the other peers compute the strike chart at the last step only too).
The timed job includes building the two pandas frames.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import flowgex as fg

from .common import COLUMNS, PeerOutput

__all__ = ["read", "compute", "run", "output"]


def read(path: str) -> pa.Table:
    """The canonical trades table of a hive-partitioned dataset.

    ``partitioning=None``: the partition columns are not needed (the asset is in
    the instrument name), and skipping hive discovery made the read 4x faster
    (0.5 s instead of 2 s for 10M trades in 292 files).
    """
    return pq.read_table(path, columns=COLUMNS, read_dictionary=["instrument", "side"], partitioning=None)


def compute(table: Any, *, threads: int | None = None, engine: str = "rust") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(totals, by strike at the last grid time), as flowgex returns them."""
    if engine == "reference":
        res = fg.flow_gex(table, engine="reference")
    else:
        res = fg.flow_gex(table, keep_inventory="last", keep_aggregates="last", threads=threads)
    return res.total(), res.by_strike(at="last")


def run(source: Any, *, threads: int | None = None, engine: str = "rust") -> tuple[pd.DataFrame, pd.DataFrame]:
    """From a dataset path (end to end) or a pyarrow Table already loaded (in memory)."""
    return compute(read(source) if isinstance(source, str) else source, threads=threads, engine=engine)


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
