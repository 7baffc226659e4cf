"""A deterministic multi-asset market for the distributed tests (numpy RNG, no hypothesis).

Trades arrive out of time order with ties, names in any case, USDC pairs and
options expiring inside the window; optional chain and spot tables; optional
bad rows of every kind, including a trade id repeated across two assets (two
trades: venues number trades per asset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies import DAY, HOUR, INSTRUMENTS, SPOT, T0

EXTRA = [
    ("BTC-27DEC24-90000-P", T0 + 26 * DAY + 8 * HOUR),
    ("BTC-27DEC24-110000-C", T0 + 26 * DAY + 8 * HOUR),
    ("BTC_USDC-27DEC24-100000-C", T0 + 26 * DAY + 8 * HOUR),
    ("ETH-27DEC24-3000-P", T0 + 26 * DAY + 8 * HOUR),
    ("ETH-27DEC24-4000-C", T0 + 26 * DAY + 8 * HOUR),
    ("SOL_USDC-27DEC24-200-P", T0 + 26 * DAY + 8 * HOUR),
]
NAMES = INSTRUMENTS + EXTRA


def asset_of(name: str) -> str:
    return name.split("-")[0].split("_")[0].upper()


@dataclass
class Market:
    trades: pd.DataFrame
    chain: pd.DataFrame | None
    spot: pd.DataFrame | None


def market(
    seed: int = 0, n: int = 2000, *, bad: bool = False, chain: bool = False, spot: bool = False, cross: bool = True
) -> Market:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(NAMES), n)
    expiry = np.array([NAMES[i][1] for i in idx])
    ts = T0 + rng.integers(0, 2 * DAY // 10**9, n) * 10**9
    ts[: n // 10] = T0 + rng.integers(0, 40, n // 10) * 600 * 10**9  # many trades on bucket edges, with ties
    ts = np.minimum(ts, expiry - rng.integers(1, HOUR, n))
    names = [NAMES[i][0] for i in idx]
    names = [s.lower() if k % 7 == 0 else s for k, s in enumerate(names)]
    spot_px = np.array([SPOT[asset_of(s)] for s in names])
    trades = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(ts, utc=True),
            "instrument": names,
            "side": rng.choice(["buy", "sell", "Buy", "SELL"], n),
            "amount": rng.choice([0.1, 1.0, 2.5, 25.0], n) * rng.integers(1, 9, n),
            "index_price": spot_px * rng.uniform(0.95, 1.05, n),
            "iv": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0.3, 1.2, n)),
            "trade_id": [f"t{k}" for k in range(n)],
        }
    )
    if bad:
        trades = _with_bad_rows(trades, rng, cross=cross)
    out = Market(trades=trades, chain=None, spot=None)
    if chain:
        out.chain = _chain(rng, trades)
    if spot:
        out.spot = _spot(rng)
    return out


def _with_bad_rows(trades: pd.DataFrame, rng: np.random.Generator, *, cross: bool) -> pd.DataFrame:
    rows = []
    kinds = ["side", "amount", "price", "iv", "instrument", "timestamp", "expired", "duplicate", "nan"]
    for kind in kinds + (["cross"] if cross else []):
        base = trades.iloc[int(rng.integers(0, len(trades)))].to_dict()
        row = {**base, "trade_id": f"b-{kind}"}
        if kind == "side":
            row["side"] = "hold"
        elif kind == "amount":
            row["amount"] = 0.0
        elif kind == "price":
            row["index_price"] = float("inf")
        elif kind == "iv":
            row["iv"] = -0.2
        elif kind == "instrument":
            row["instrument"] = "BTC-PERPETUAL"
        elif kind == "timestamp":
            row["timestamp"] = pd.NaT
        elif kind == "expired":
            row["instrument"], row["timestamp"] = "BTC-1DEC24-95000-C", pd.Timestamp(T0 + 9 * HOUR, tz="UTC")
        elif kind == "duplicate":
            row["trade_id"] = base["trade_id"]  # re-delivered copy, same instrument
        elif kind == "cross":  # the id of a BTC trade, on an ETH option, later: one machine rejects it
            btc = trades[trades["instrument"].str.upper().str.startswith("BTC-27DEC24")].iloc[0]
            row = {**btc, "instrument": "ETH-27DEC24-4000-C", "timestamp": btc["timestamp"] + pd.Timedelta("1h")}
            row["index_price"] = SPOT["ETH"]
        elif kind == "nan":
            row["amount"] = float("nan")
        rows.append(row)
    bad = pd.DataFrame(rows)
    out = pd.concat([trades, bad], ignore_index=True)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def _chain(rng: np.random.Generator, trades: pd.DataFrame) -> pd.DataFrame:
    """Chain rows for every option: the first before any trade, then random ones, with underlying prices."""
    rows = []
    first = trades["timestamp"].min()
    for name, expiry in NAMES:
        times = [first - pd.Timedelta("5min")]
        times += list(pd.to_datetime(T0 + rng.integers(0, 2 * DAY // 10**9, 6) * 10**9, utc=True))
        for t in times:
            if t.value >= expiry:
                continue
            rows.append(
                {
                    "timestamp": t,
                    "instrument": name,
                    "mark_iv": float(rng.uniform(0.3, 1.0)),
                    "underlying_price": SPOT[asset_of(name)] * float(rng.uniform(0.98, 1.02)),
                    "open_interest": float(rng.integers(0, 500)),
                }
            )
    frame = pd.DataFrame(rows)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _spot(rng: np.random.Generator) -> pd.DataFrame:
    times = pd.to_datetime(T0 - 10**9 + rng.integers(0, 2 * DAY // 10**9, 80) * 10**9, utc=True)
    assets = rng.choice(["BTC", "eth", "SOL", "XRP"], 80)
    frame = pd.DataFrame(
        {
            "timestamp": times,
            "asset": assets,
            "price": [SPOT[a.upper()] * float(rng.uniform(0.97, 1.03)) for a in assets],
        }
    )
    first = pd.DataFrame(
        {"timestamp": pd.Timestamp(T0 - 10**9, tz="UTC"), "asset": list(SPOT), "price": list(SPOT.values())}
    )
    return pd.concat([first, frame], ignore_index=True)
