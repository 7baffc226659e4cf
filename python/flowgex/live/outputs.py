"""Writing the final steps: the tables of ``fg.replay``'s layout, the levels, one line per asset.

``by_strike`` / ``by_expiry`` / ``total`` go to ``out/{table}/asset=…/date=…/part-{seq}.parquet``
exactly as :func:`flowgex.replay` writes them (read with :func:`flowgex.read_replay`), and
``out/levels/asset=…/date=…/part-{seq}.parquet`` holds :func:`flowgex.levels` of every
asset at every final step (spot, flip, walls, absolute-gamma strike, regime,
near-spot and total GEX). Every file is written atomically and numbered by its
commit (see :mod:`flowgex.live.checkpoint` for why).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..analytics.levels import Levels, levels
from ..errors import FlowgexError
from ..io.files import write_atomic_with
from ..replaying.output import write_step_tables
from ..result import GexResult

__all__ = ["write_steps", "format_line", "LEVELS_SCHEMA", "read_levels"]

LEVELS_SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("ns", tz="UTC")), ("spot", pa.float64()), ("flip", pa.float64()),
        ("positive_wall", pa.float64()), ("negative_wall", pa.float64()), ("abs_gamma_strike", pa.float64()),
        ("regime", pa.string()), ("near_spot_gex", pa.float64()), ("total_gex", pa.float64()),
        ("flips", pa.list_(pa.float64())),
    ]
)  # fmt: skip


def _num(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return f"{v:,.6g}"


def format_line(lv: Levels) -> str:
    """One line a trader reads at a glance."""
    return (
        f"{lv.time:%Y-%m-%d %H:%M} {lv.asset:<5} spot {_num(lv.spot)}  gex {lv.total_gex:+.4g}  "
        f"flip {_num(lv.flip)}  +wall {_num(lv.positive_wall)}  -wall {_num(lv.negative_wall)}  "
        f"{lv.regime} (near-spot {lv.near_spot_gex:+.4g})"
    )


def _levels_of(part: GexResult) -> tuple[list[Levels], int]:
    out: list[Levels] = []
    failed = 0
    totals = part.total()
    for (asset, time), _ in totals.groupby(["asset", "time"], sort=True):
        try:
            out.append(levels(part, str(asset), at=time))
        except FlowgexError:  # e.g. no option live at that step: counted, the tables are still written
            failed += 1
    return out, failed


def _write_levels(root: Path, rows: list[Levels], seq: int) -> None:
    frame = pd.DataFrame([lv.as_dict() for lv in rows])
    for (asset, day), grp in frame.groupby([frame["asset"], frame["time"].dt.strftime("%Y-%m-%d")]):
        table = pa.Table.from_pandas(grp[[f.name for f in LEVELS_SCHEMA]], schema=LEVELS_SCHEMA, preserve_index=False)
        target = root / "levels" / f"asset={asset}" / f"date={day}" / f"part-{seq:08d}.parquet"
        write_atomic_with(target, functools.partial(pq.write_table, table))


def write_steps(root: Path, part: GexResult, seq: int, echo: Callable[[str], Any] | None) -> tuple[int, int | None]:
    """Writes the steps of ``part``; returns (levels that could not be computed, last step written in ns)."""
    if len(part.times) == 0:
        return 0, None
    write_step_tables(root, part, seq, inventory=False)
    rows, failed = _levels_of(part)
    if rows:
        _write_levels(root, rows, seq)
        if echo is not None:
            for lv in rows:
                echo(format_line(lv))
    return failed, int(part.times[-1].value)


def read_levels(out: str | Path, *, asset: str | None = None) -> pd.DataFrame:
    """The levels a live run wrote, sorted by (time, asset)."""
    base = Path(out) / "levels"
    files = sorted(base.rglob("part-*.parquet")) if base.is_dir() else []
    frames = []
    for f in files:
        a = f.parent.parent.name.split("=", 1)[1]
        if asset is not None and a != asset.upper():
            continue
        t = pq.read_table(f).to_pandas()
        t.insert(0, "asset", a)
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=["asset", *LEVELS_SCHEMA.names])
    return pd.concat(frames, ignore_index=True).sort_values(["time", "asset"], kind="stable").reset_index(drop=True)
