"""Writers of small venue-format fixtures (Tardis CSV, Deribit JSON) from plain
rows, and the canonical tables those rows should read as, built independently
(by hand-written unit conversions), so reader tests compare against something
the readers did not produce."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2024-12-01T00:00:00Z")
TARDIS_TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
TARDIS_CHAIN = (
    "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,"
    "bid_price,bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,"
    "underlying_price,delta,gamma,vega,theta,rho"
)
MULT = {"BTC": 1.0, "ETH": 1.0, "SOL": 10.0, "XRP": 1000.0}
SPOT = {"BTC": 96_000.0, "ETH": 3_600.0, "SOL": 230.0, "XRP": 2.4}
NAMES = ["BTC-27DEC24-100000-C", "BTC-27DEC24-90000-P", "ETH-27DEC24-4000-C", "SOL_USDC-27DEC24-240-P"]


def us(ts: pd.Timestamp) -> int:
    return int(ts.value // 1000)


def ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def asset_of(name: str) -> str:
    return name.split("-")[0].split("_")[0].upper()


def market(n: int = 60, seed: int = 1, start: pd.Timestamp = T0, minutes: float = 7.0) -> list[dict[str, Any]]:
    """Plain trades: time, name, side, base-coin amount, index price, percent iv, id."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        name = NAMES[int(rng.integers(0, len(NAMES)))]
        a = asset_of(name)
        rows.append(
            {
                "time": start + pd.Timedelta(minutes=minutes * k, microseconds=int(rng.integers(0, 10**6))),
                "name": name,
                "side": "buy" if rng.random() < 0.5 else "sell",
                "amount": float(MULT[a] * int(rng.integers(1, 40)) / 10.0),
                "index_price": float(SPOT[a] * (1 + rng.normal(0, 0.003))),
                "iv": float(round(40 + 30 * rng.random(), 2)),
                "id": f"{100_000 + k}",
            }
        )
    return rows


def canonical(rows: list[dict[str, Any]], *, with_marks: bool = True) -> pd.DataFrame:
    """What a reader should return for ``rows``: contracts and decimal IVs, by hand."""
    out = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([r["time"] for r in rows], utc=True).as_unit("ns"),
            "instrument": [r["name"] for r in rows],
            "side": [r["side"] for r in rows],
            "amount": [r["amount"] / MULT[asset_of(r["name"])] for r in rows],
            "trade_id": [r["id"] for r in rows],
        }
    )
    if with_marks:
        out["index_price"] = [r["index_price"] for r in rows]
        out["iv"] = [r["iv"] / 100.0 for r in rows]
    return out


def write_tardis_trades(path: Path, rows: list[dict[str, Any]], *, exchange: str = "deribit") -> Path:
    lines = [TARDIS_TRADES]
    for r in rows:
        t = us(r["time"]) if isinstance(r["time"], pd.Timestamp) else r["time"]
        local = t if isinstance(t, int) else ""
        lines.append(f"{exchange},{r['name']},{t},{local},{r['id']},{r['side']},0.01,{r['amount']}")
    return _write(path, "\n".join(lines) + "\n")


def chain_rows(times: list[pd.Timestamp], names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for i, t in enumerate(times):
        for j, name in enumerate(names):
            a = asset_of(name)
            rows.append(
                {
                    "time": t,
                    "name": name,
                    "mark_iv": 50.0 + i + j,
                    "underlying_price": SPOT[a] * (1 + 0.001 * i),
                    "open_interest": MULT[a] * (10 + j),
                    "gamma": 1e-5 * (j + 1),
                }
            )
    return rows


def write_tardis_chain(path: Path, rows: list[dict[str, Any]]) -> Path:
    lines = [TARDIS_CHAIN]
    for r in rows:
        t = us(r["time"])
        kind = "call" if r["name"].endswith("-C") else "put"
        lines.append(
            f"deribit,{r['name'].upper()},{t},{t},{kind},100,1735286400000000,{r['open_interest']},0.01,0.01,"
            f"{r['open_interest']},{r['mark_iv'] - 1},0.02,1,{r['mark_iv'] + 1},0.015,{r['mark_iv']},SYN.X,"
            f"{r['underlying_price']},0.5,{r['gamma']},1,1,1"
        )
    return _write(path, "\n".join(lines) + "\n")


def canonical_chain(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime([r["time"] for r in rows], utc=True).as_unit("ns"),
            "instrument": [r["name"] for r in rows],
            "mark_iv": [r["mark_iv"] / 100.0 for r in rows],
            "underlying_price": [r["underlying_price"] for r in rows],
            "open_interest": [r["open_interest"] / MULT[asset_of(r["name"])] for r in rows],
            "gamma": [r["gamma"] for r in rows],
        }
    )


def deribit_trade(r: dict[str, Any], **extra: Any) -> dict[str, Any]:
    t = ms(r["time"]) if isinstance(r["time"], pd.Timestamp) else r["time"]
    trade = {
        "trade_seq": 1,
        "trade_id": r["id"],
        "timestamp": t,
        "tick_direction": 0,
        "price": 0.01,
        "mark_price": 0.011,
        "iv": r["iv"],
        "instrument_name": r["name"],
        "index_price": r["index_price"],
        "direction": r["side"],
        "amount": r["amount"],
    }
    trade.update(extra)
    return trade


def ms_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with times cut to whole milliseconds (Deribit's resolution)."""
    return [{**r, "time": r["time"].floor("ms")} for r in rows]


def response(trades: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": {"trades": trades, "has_more": has_more}, "usIn": 1, "usOut": 2}


def write_json(path: Path, obj: Any) -> Path:
    return _write(path, json.dumps(obj))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path
