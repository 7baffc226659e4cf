"""A streamed run's result, read back from what :func:`flowgex.replay` wrote.

``flowgex run --stream`` replays the input chunk by chunk (progress bar,
checkpoint, ``--resume``) and writes every table, the inventory included, as
Parquet datasets; the levels, charts and reports then need a
:class:`~flowgex.GexResult`. This rebuilds it from those tables: the values
are the engine's own (Parquet stores float64 exactly), the rows are put back
in the engine's order (time, then asset, strike, expiry, kind, quote), and the
contract multipliers come from the library's rule (:mod:`flowgex.multipliers`,
the CLI passes none of its own). The grid is every step from the first to the
last reported time, as the engine's grid is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FlowgexError
from ..instruments import parse_instrument
from ..multipliers import contract_multiplier
from ..options import EXPOSURES, parse_greeks
from ..replaying import ReplaySummary, read_replay
from ..result import GexResult

__all__ = ["result_from_replay"]

_STEP_COUNTS = ("spot_chain", "spot_table", "spot_index", "spot_missing", "vol_chain", "vol_trade", "vol_missing")


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
    reg["quote"] = [_quote(n) for n in reg["instrument"]]
    reg["expiry_ns"] = _ns(reg["expiry"])
    # The engine's canonical order: asset, strike, expiry, kind (C before P), quote (none first).
    reg = reg.sort_values(["asset", "strike", "expiry_ns", "kind", "quote"], na_position="first", kind="stable")
    inst_id = {n: i for i, n in enumerate(reg["instrument"])}
    mult = [contract_multiplier(a, q, {}) for a, q in zip(reg["asset"], reg["quote"])]
    if any(m is None for m in mult):  # the engine rejects the rows of such options: none can be live
        raise RuntimeError(f"{out}: an option in the inventory has no contract multiplier")
    core: dict[str, object] = {
        "registry": {
            "assets": assets,
            "name": list(reg["instrument"]),
            "asset": np.array([asset_id[a] for a in reg["asset"]], dtype=np.int64),
            "expiry": reg["expiry_ns"].to_numpy(dtype=np.int64),
            "strike": reg["strike"].to_numpy(dtype=np.float64),
            "is_call": (reg["kind"].astype(str) == "C").to_numpy(),
            "multiplier": np.array(mult, dtype=np.float64),
        }
    }
    values = {
        "by_strike": ["strike", "call_gex", "put_gex", "gex"],
        "by_expiry": ["expiry", "gex"],
        "total": ["spot", "gex"],
        "inventory": ["inventory", "spot", "vol", "gamma", "gex"],
    }
    for name, frame in frames.items():
        time = _ns(frame["time"])
        if name == "inventory":
            key = np.array([inst_id[str(n)] for n in frame["instrument"]], dtype=np.int64)
            order = np.lexsort((key, time))
            core["inventory.inst"] = key[order].astype(np.uint32)
        else:
            key = np.array([asset_id[str(a)] for a in frame["asset"]], dtype=np.int64)
            order = np.lexsort((key, time))  # read_replay sorted each (time, asset) by strike or expiry
            core[f"{name}.asset"] = key[order].astype(np.uint16)
        core[f"{name}.time"] = time[order]
        for col in values[name] + extra:
            v = _ns(frame[col]) if col == "expiry" else frame[col].to_numpy(dtype=np.float64)
            core[f"{name}.{col}"] = v[order]
    times = core["total.time"]
    assert isinstance(times, np.ndarray)
    steps = np.arange(times.min(), times.max() + 1, resolution_ns, dtype=np.int64) if len(times) else times
    core["steps.time"] = steps
    for c in _STEP_COUNTS:
        core[f"steps.{c}"] = np.zeros(len(steps), dtype=np.uint64)
    return GexResult(
        core,
        unit=unit,
        r=r,
        method="flow",
        diagnostics=summary.diagnostics,
        resolution_ns=resolution_ns,
        greeks=greeks,
    )
