"""A streamed run's result, read back from what :func:`flowgex.replay` wrote.

``flowgex run --stream`` replays the input chunk by chunk (progress bar,
checkpoint, ``--resume``) and writes every table, the inventory included, as
Parquet datasets; the levels, charts and reports then need a
:class:`~flowgex.GexResult`. This rebuilds it from those tables: the values
are the engine's own (Parquet stores float64 exactly), the rows are put back
in the engine's order (time, then the canonical instrument order), and the
contract multipliers come from the library's rule (:mod:`flowgex.multipliers`,
the CLI passes none of its own). The grid is every step from the first to the
last reported time, as the engine's grid is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._tables import (
    STEP_COUNTS,
    ExpiryTable,
    InventoryTable,
    Registry,
    ResultData,
    StepTable,
    StrikeTable,
    TotalTable,
)
from ..errors import FlowgexError
from ..instruments import parse_instrument
from ..multipliers import contract_multiplier
from ..options import EXPOSURES, parse_greeks
from ..replaying import ReplaySummary, read_replay
from ..result import GexResult

__all__ = ["result_from_replay"]


def _ns(col: pd.Series) -> np.ndarray:
    return col.to_numpy(dtype="datetime64[ns]").view(np.int64) if len(col) else np.zeros(0, np.int64)


def _quote(name: str) -> str | None:
    try:
        return parse_instrument(name).quote
    except FlowgexError:
        return None


def result_from_replay(
    out: Path, summary: ReplaySummary, *, unit: str, r: float, resolution_ns: int, greeks: tuple[str, ...]
) -> GexResult:
    greeks = parse_greeks(greeks)
    extra = [EXPOSURES[g] for g in greeks if g in EXPOSURES]
    frames = {name: read_replay(out, name) for name in ("by_strike", "by_expiry", "total", "inventory")}
    inv = frames["inventory"]
    assets = sorted(set().union(*(set(f["asset"].astype(str)) for f in frames.values())))
    asset_id = {a: i for i, a in enumerate(assets)}
    reg = inv[["instrument", "asset", "expiry", "strike", "kind"]].drop_duplicates("instrument").copy()
    reg["instrument"] = reg["instrument"].astype(str)
    reg["asset"] = reg["asset"].astype(str)
    quotes = [_quote(n) for n in reg["instrument"]]
    mult = [contract_multiplier(a, q, {}) for a, q in zip(reg["asset"], quotes)]
    if any(m is None for m in mult):  # the engine rejects the rows of such options: none can be live
        raise RuntimeError(f"{out}: an option in the inventory has no contract multiplier")
    registry = Registry(
        assets=tuple(assets),
        name=np.array(list(reg["instrument"]), dtype=object),
        asset=np.array([asset_id[a] for a in reg["asset"]], dtype=np.int64),
        quote=np.array(quotes, dtype=object),
        expiry=_ns(reg["expiry"]),
        strike=reg["strike"].to_numpy(dtype=np.float64),
        is_call=(reg["kind"].astype(str) == "C").to_numpy(),
        multiplier=np.array(mult, dtype=np.float64),
    )
    registry = registry.take(registry.canonical_order())  # ids in the engine's order: rows sort into it
    inst_id = {n: i for i, n in enumerate(registry.name)}
    values = {
        "by_strike": ["strike", "call_gex", "put_gex", "gex"],
        "by_expiry": ["expiry", "gex"],
        "total": ["spot", "gex"],
        "inventory": ["inventory", "spot", "vol", "gamma", "gex"],
    }
    tables: dict[str, dict[str, np.ndarray]] = {}
    for name, frame in frames.items():
        time = _ns(frame["time"])
        if name == "inventory":
            key = np.array([inst_id[str(n)] for n in frame["instrument"]], dtype=np.int64)
            order = np.lexsort((key, time))
            cols = {"inst": key[order].astype(np.uint32)}
        else:
            key = np.array([asset_id[str(a)] for a in frame["asset"]], dtype=np.int64)
            order = np.lexsort((key, time))  # read_replay sorted each (time, asset) by strike or expiry
            cols = {"asset": key[order].astype(np.uint16)}
        cols["time"] = time[order]
        for col in values[name] + extra:
            v = _ns(frame[col]) if col == "expiry" else frame[col].to_numpy(dtype=np.float64)
            cols[col] = v[order]
        tables[name] = cols
    times = tables["total"]["time"]
    steps = np.arange(times.min(), times.max() + 1, resolution_ns, dtype=np.int64) if len(times) else times
    data = ResultData(
        registry=registry,
        inventory=InventoryTable.from_columns(tables["inventory"]),
        by_strike=StrikeTable.from_columns(tables["by_strike"]),
        by_expiry=ExpiryTable.from_columns(tables["by_expiry"]),
        total=TotalTable.from_columns(tables["total"]),
        steps=StepTable(time=steps, **{c: np.zeros(len(steps), dtype=np.uint64) for c in STEP_COUNTS}),
    )
    return GexResult(
        data,
        unit=unit,
        r=r,
        method="flow",
        diagnostics=summary.diagnostics,
        resolution_ns=resolution_ns,
        greeks=greeks,
    )
