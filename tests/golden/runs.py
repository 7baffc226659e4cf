"""A fixed set of runs whose every public output is fingerprinted bit for bit.

Structural changes (moving modules, new internal interfaces, performance work)
must not change a single output number. ``record.py`` fingerprints the outputs
of these runs at a known-good commit into ``golden.json``; ``test_golden.py``
recomputes them and compares. A fingerprint is the SHA-256 of each column's
raw bytes (floats by their bit pattern), so a one-ulp change is caught; the
row count and a few sums are kept beside it to make a mismatch readable
(and for ``compare.py``'s tolerant mode, on machines whose float libraries
round differently from every recording's; see ``machine.py``).

Re-record only for an intended change of outputs, and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import flowgex as fg

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden.json"


def _column_bytes(s: pd.Series) -> bytes:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.DatetimeIndex(s).as_unit("ns").asi8.tobytes()
    if pd.api.types.is_float_dtype(s.dtype) and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        return np.ascontiguousarray(s.to_numpy(dtype=np.float64)).view(np.int64).tobytes()
    if pd.api.types.is_bool_dtype(s.dtype) and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        return np.asarray(s, dtype=np.uint8).tobytes()
    if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        return np.asarray(s, dtype=np.int64).tobytes()
    return "\x1f".join("<missing>" if _missing(v) else repr(v) for v in s.tolist()).encode("utf-8", "surrogatepass")


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _kind(s: pd.Series) -> str:
    """The column's kind, independent of how a pandas version names its dtypes."""
    for kind, test in (
        ("datetime", pd.api.types.is_datetime64_any_dtype),
        ("bool", pd.api.types.is_bool_dtype),
        ("int", pd.api.types.is_integer_dtype),
        ("float", pd.api.types.is_float_dtype),
    ):
        if test(s.dtype):
            return kind
    return "other"


def frame_print(df: pd.DataFrame) -> dict[str, Any]:
    cols = {}
    for c in df.columns:
        s = df[c]
        entry: dict[str, Any] = {"kind": _kind(s), "sha256": hashlib.sha256(_column_bytes(s)).hexdigest()[:32]}
        if pd.api.types.is_float_dtype(s.dtype):
            entry["sum"] = float(np.nansum(np.asarray(s, dtype=np.float64)))
        cols[str(c)] = entry
    return {"rows": int(len(df)), "columns": cols}


def value_print(v: Any) -> Any:
    """Plain values (levels, diagnostics): floats by their exact repr."""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (np.floating,)):
        return repr(float(v))
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.ndarray):
        return [value_print(x) for x in v.tolist()]
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): value_print(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [value_print(x) for x in v]
    return v


def result_print(res: fg.GexResult, *, inventory: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "by_strike": frame_print(res.by_strike()),
        "by_expiry": frame_print(res.by_expiry()),
        "total": frame_print(res.total()),
        "times": frame_print(pd.DataFrame({"t": res.times})),
        "diagnostics": value_print(res.diagnostics.as_dict()),
        "rejected_rows": {k: frame_print(v.to_pandas()) for k, v in sorted(res.diagnostics.rejected_rows.items())},
    }
    if inventory:
        out["inventory"] = frame_print(res.inventory())
    return out


def analytics_print(res: fg.GexResult, asset: str) -> dict[str, Any]:
    lv = fg.levels(res, asset)
    return {
        "levels": value_print(lv.as_dict()),
        "profile": frame_print(fg.profile(res, asset)),
        "levels_series": frame_print(res.levels_series(asset)),
        "exclude_next": result_print(res.filter(exclude_next=True), inventory=False),
        "max_days": frame_print(res.filter(max_days=7).by_strike(asset=asset, at="last")),
    }


def _market() -> Any:
    return fg.simulate(days=3, assets=("BTC", "ETH", "SOL", "XRP"), seed=3, trades_per_day=1500)


def _frames(m: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return m.trades.to_pandas(), m.chain.to_pandas(), m.spot.to_pandas()


def _runs() -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    m = _market()
    trades, chain, spot = _frames(m)

    def flow() -> dict[str, Any]:
        res = fg.flow_gex(m.trades, m.chain, m.spot)
        return {"result": result_print(res), "BTC": analytics_print(res, "BTC"), "SOL": analytics_print(res, "SOL")}

    def trades_only() -> dict[str, Any]:
        res = fg.flow_gex(m.trades, initial=m.initial, missing_vol=0.6)
        return {"result": result_print(res), "ETH": analytics_print(res, "ETH")}

    def options() -> dict[str, Any]:
        start = trades["timestamp"].min() + pd.Timedelta("7h")
        res = fg.flow_gex(
            m.trades,
            m.chain,
            m.spot,
            resolution="1h",
            unit="usd_per_point",
            r=0.03,
            start=start,
            keep_inventory="last",
            keep_aggregates="last",
        )
        res2 = fg.flow_gex(m.trades, m.chain, unit="underlying", missing_spot="skip", keep_inventory="last", threads=1)
        return {"last": result_print(res), "underlying": result_print(res2)}

    def chunked() -> dict[str, Any]:
        eng = fg.Engine(errors="quarantine")
        days = trades["timestamp"].dt.floor("D")
        parts = []
        for k, day in enumerate(sorted(days.unique())):
            eng.update(
                trades[days == day],
                chain[chain["timestamp"].dt.floor("D") == day],
                spot[spot["timestamp"].dt.floor("D") == day],
            )
            parts.append(result_print(eng.drain(), inventory=True))
            if k == 0:
                eng = fg.Engine.restore(eng.snapshot())
        return {"drained": parts, "final": result_print(eng.result())}

    def quarantine() -> dict[str, Any]:
        sys.path.insert(0, str(HERE.parent))
        import simmarket

        mk = simmarket.market(5, 1500, bad=True, chain=True, spot=True)
        res = fg.flow_gex(mk.trades, mk.chain, mk.spot, errors="quarantine")
        return {"result": result_print(res)}

    def reference() -> dict[str, Any]:
        small = fg.simulate(days=1, assets=("BTC", "SOL"), seed=5, trades_per_day=300)
        res = fg.flow_gex(small.trades, small.chain, small.spot, engine="reference")
        return {"result": result_print(res)}

    def classic() -> dict[str, Any]:
        c1 = fg.classic_gex(m.chain)
        c2 = fg.classic_gex(m.chain, at=chain["timestamp"].min() + pd.Timedelta("20h"), gamma="chain")
        c3 = fg.classic_gex(m.chain, spot={"BTC": 90_000, "ETH": 3_000, "SOL": 200, "XRP": 2.0})
        flow = fg.flow_gex(m.trades, m.chain, m.spot)
        cmp = fg.compare(flow, c1, "BTC")
        return {
            "at_last": result_print(c1),
            "chain_gamma": result_print(c2),
            "spot_override": result_print(c3),
            "BTC": analytics_print(c1, "BTC"),
            "compare": {"table": frame_print(cmp.table), "summary": str(cmp)},
        }

    def replay() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "trades.parquet"
            trades.to_parquet(src)
            s = fg.replay(str(src), out=str(Path(tmp) / "out"), spot=m.spot, chunk_rows=1000, progress=False)
            return {
                name: frame_print(fg.read_replay(str(Path(tmp) / "out"), name))
                for name in ("by_strike", "by_expiry", "total")
            } | {"diagnostics": value_print(s.diagnostics.as_dict())}

    def distributed() -> dict[str, Any]:
        import flowgex.distributed as fgd

        res = fgd.flow_gex(m.trades, m.chain, m.spot)
        return {"asset": result_print(res)}

    yield from [
        ("flow", flow),
        ("trades_only", trades_only),
        ("options", options),
        ("chunked", chunked),
        ("quarantine", quarantine),
        ("reference", reference),
        ("classic", classic),
        ("replay", replay),
        ("distributed", distributed),
    ]


def compute() -> dict[str, Any]:
    return {name: json.loads(json.dumps(run())) for name, run in _runs()}
