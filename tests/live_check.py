"""Checks shared by the live tests: the exactness contract (rule 19) and the market's own trades."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

import flowgex as fg
from flowgex.live import read_recorded

KEYS = {"by_strike": ["strike"], "by_expiry": ["expiry"], "total": []}
OPTS: dict[str, Any] = {"errors": "quarantine", "missing_vol": "skip", "missing_spot": "skip"}


def _frame(res: fg.GexResult, table: str) -> pd.DataFrame:
    df = getattr(res, table)()
    keys = ["time", "asset", *KEYS[table]]
    cols = ["asset", *[c for c in df.columns if c != "asset"]]
    return df[cols].sort_values(keys, kind="stable").reset_index(drop=True)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    return out


def live_tables(out: Path) -> dict[str, pd.DataFrame]:
    return {t: _plain(fg.read_replay(out, t)) for t in KEYS}


def assert_exact(out: Path, final_through: pd.Timestamp, **opts: Any) -> fg.GexResult:
    """flow_gex on what was recorded == every written step, bit for bit; steps without gap or repeat."""
    tr, ch, sp = (read_recorded(out, k) for k in ("trades", "chain", "spot"))
    ref = fg.flow_gex(tr, ch if ch.num_rows else None, sp if sp.num_rows else None, end=final_through,
                      **{**OPTS, **opts})  # fmt: skip
    got = live_tables(out)
    times = got["total"]["time"].drop_duplicates()
    assert len(times) > 0
    assert times.iloc[-1] == final_through
    step = pd.Timedelta(opts.get("resolution", "10min"))
    assert (times.diff().dropna() == step).all(), "a gap or a repeated step in the outputs"
    assert not got["total"].duplicated(["time", "asset"]).any()
    for table in KEYS:
        exp = _plain(_frame(ref, table))
        exp = exp[exp["time"] >= times.iloc[0]].reset_index(drop=True)
        live = got[table][exp.columns]
        pd.testing.assert_frame_equal(live, exp, check_exact=True, obj=table)
        for c in exp.columns:
            if exp[c].dtype == np.float64:
                assert np.array_equal(live[c].to_numpy().view(np.int64), exp[c].to_numpy().view(np.int64)), c
    return ref


def assert_trades_once(out: Path, market_trades: list[dict[str, Any]], start_ms: int, end_ns: int) -> None:
    """Every market trade stamped in [start, end) was consumed exactly once (fed or late), none other."""
    fed = read_recorded(out, "trades")
    late = read_recorded(out, "late/trades")
    ids = fed.column("trade_id").to_pylist() + late.column("trade_id").to_pylist()
    assert len(ids) == len(set(ids)), "a trade consumed twice"
    ts = np.concatenate(
        [fed.column("timestamp").cast(pa.int64()).to_numpy(), late.column("timestamp").cast(pa.int64()).to_numpy()]
    )
    got = {i for i, t in zip(ids, ts) if t < end_ns}
    want = {r["trade_id"] for r in market_trades if start_ms <= r["timestamp"] and r["timestamp"] * 1_000_000 < end_ns}
    assert got == want, f"missing {sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}"
    # amounts and sides as the market traded them (contracts = coin amount / multiplier)
    by_id = {r["trade_id"]: r for r in market_trades}
    table = fed.to_pydict()
    for i, tid in enumerate(table["trade_id"]):
        r = by_id[tid]
        assert table["side"][i] == r["direction"]
        assert table["instrument"][i] == r["instrument_name"]


def assert_close_to_market(out: Path, market_trades: list[dict[str, Any]], chain: Any, spot: Any,
                           final_through: pd.Timestamp, start_ms: int) -> None:  # fmt: skip
    """The written totals against flow_gex on the market's own trades (read by the plain trade reader)."""
    recs = [r for r in market_trades if r["timestamp"] >= start_ms and r["timestamp"] * 1_000_000 < final_through.value]
    trades = fg.read_deribit_trades({"result": {"trades": recs}})
    ref = fg.flow_gex(trades, chain, spot, end=final_through, **OPTS)
    exp = _plain(_frame(ref, "total"))
    got = live_tables(out)["total"]
    exp = exp[exp["time"] >= got["time"].iloc[0]].reset_index(drop=True)
    assert len(got) == len(exp)
    np.testing.assert_allclose(got["gex"].to_numpy(), exp["gex"].to_numpy(), rtol=1e-9, atol=1e-6)
    assert (got["time"].to_numpy() == exp["time"].to_numpy()).all()
