"""Hypothesis strategies: random multi-asset Deribit-like markets.

Trades land on bucket edges and at expiries, instruments expire inside the
window, names come in any case (USDC pairs, ``d`` strikes), amounts range from
tiny to huge, and optional chain and spot tables race the trades. Bad rows of
every kind can be mixed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from hypothesis import strategies as st

MIN = 60 * 10**9
HOUR = 60 * MIN
DAY = 24 * HOUR
T0 = 1_733_011_200 * 10**9  # 2024-12-01T00:00:00Z

INSTRUMENTS = [
    # (name, expiry ns): two expire inside the 2-day window.
    ("BTC-1DEC24-95000-C", T0 + 8 * HOUR),
    ("BTC-1DEC24-95000-P", T0 + 8 * HOUR),
    ("BTC-2DEC24-100000-C", T0 + DAY + 8 * HOUR),
    ("BTC-27DEC24-100000-P", T0 + 26 * DAY + 8 * HOUR),
    ("BTC-27DEC24-100000-C", T0 + 26 * DAY + 8 * HOUR),
    ("ETH-6DEC24-3500-C", T0 + 5 * DAY + 8 * HOUR),
    ("ETH-6DEC24-3500-P", T0 + 5 * DAY + 8 * HOUR),
    ("SOL_USDC-27DEC24-230-C", T0 + 26 * DAY + 8 * HOUR),
    ("XRP_USDC-27DEC24-2d5-P", T0 + 26 * DAY + 8 * HOUR),
    ("XRP_USDC-27DEC24-0d625-C", T0 + 26 * DAY + 8 * HOUR),
]
SPOT = {"BTC": 96_000.0, "ETH": 3_600.0, "SOL": 230.0, "XRP": 2.4}
BAD_KINDS = ("side", "amount", "price", "iv", "instrument", "timestamp", "expired", "duplicate")


def _asset(name: str) -> str:
    return name.split("-")[0].split("_")[0]


def _case(name: str, how: int) -> str:
    return name if how == 0 else name.lower() if how == 1 else name.swapcase()


@dataclass
class Market:
    trades: pd.DataFrame
    chain: pd.DataFrame | None
    spot: pd.DataFrame | None
    resolution: str


def _time(draw: st.DrawFn, res_ns: int) -> int:
    kind = draw(st.integers(0, 3))
    if kind == 0:  # exactly on a bucket edge
        return T0 + draw(st.integers(0, 2 * DAY // res_ns)) * res_ns
    if kind == 1:  # around an expiry inside the window
        return T0 + 8 * HOUR + draw(st.sampled_from([-res_ns, -1, 0, 1]))
    return T0 + draw(st.integers(0, 2 * DAY))


@st.composite
def markets(draw: st.DrawFn, *, bad: bool = False, with_chain: bool | None = None, min_trades: int = 1) -> Market:
    resolution = draw(st.sampled_from(["10min", "10min", "1min", "7min", "1h"]))
    res_ns = int(pd.Timedelta(resolution).value)
    n = draw(st.integers(min_trades, 60))
    rows = []
    for k in range(n):
        name, expiry = draw(st.sampled_from(INSTRUMENTS))
        ts = _time(draw, res_ns)
        if ts >= expiry:  # keep good rows good; bad ones are injected below
            ts = expiry - draw(st.integers(1, HOUR))
        amount = draw(st.sampled_from([1e-6, 0.1, 1.0, 2.5, 25.0, 1e6])) * draw(st.integers(1, 9))
        iv = draw(st.one_of(st.none(), st.floats(0.05, 3.0)))
        rows.append(
            {
                "timestamp": ts,
                "instrument": _case(name, draw(st.integers(0, 2))),
                "side": draw(st.sampled_from(["buy", "sell", "BUY", "Sell"])),
                "amount": amount,
                "index_price": SPOT[_asset(name)] * draw(st.floats(0.9, 1.1)),
                "iv": iv,
                "trade_id": f"t{k}",
            }
        )
    if bad:
        for kind in draw(st.lists(st.sampled_from(BAD_KINDS), max_size=6)):
            i = draw(st.integers(0, len(rows) - 1))
            row = dict(rows[i])
            row["trade_id"] = f"b{len(rows)}"
            if kind == "side":
                row["side"] = draw(st.sampled_from(["hold", None, ""]))
            elif kind == "amount":
                row["amount"] = draw(st.sampled_from([0.0, -1.0, float("inf"), None]))
            elif kind == "price":
                row["index_price"] = draw(st.sampled_from([1e300, -5.0, float("inf")]))
            elif kind == "iv":
                row["iv"] = draw(st.sampled_from([1e-300, -0.2, float("inf")]))
            elif kind == "instrument":
                row["instrument"] = draw(st.sampled_from(["garbage", "BTC-31FEB24-1-C", None, "BTC-PERPETUAL"]))
            elif kind == "timestamp":
                row["timestamp"] = None
            elif kind == "expired":
                row["instrument"], row["timestamp"] = "BTC-1DEC24-95000-C", T0 + 8 * HOUR + draw(st.integers(0, HOUR))
            elif kind == "duplicate":
                row["trade_id"] = rows[i]["trade_id"]  # a re-delivered copy of row i
            rows.insert(draw(st.integers(0, len(rows))), row)
    trades = pd.DataFrame(rows)
    trades["timestamp"] = pd.to_datetime(trades["timestamp"], utc=True)

    chain = spot = None
    use_chain = draw(st.booleans()) if with_chain is None else with_chain
    if use_chain:
        crow = []
        for _ in range(draw(st.integers(0, 25))):
            name, expiry = draw(st.sampled_from(INSTRUMENTS))
            ts = min(_time(draw, res_ns), expiry - 1)
            crow.append(
                {
                    "timestamp": ts,
                    "instrument": name,
                    "mark_iv": draw(st.one_of(st.none(), st.floats(0.1, 2.0))),
                    "underlying_price": draw(st.one_of(st.none(), st.just(SPOT[_asset(name)] * 1.01))),
                    "open_interest": float(draw(st.integers(0, 500))),
                }
            )
        if crow:
            chain = pd.DataFrame(crow)
            chain["timestamp"] = pd.to_datetime(chain["timestamp"], utc=True)
        srow = [
            {
                "timestamp": _time(draw, res_ns),
                "asset": draw(st.sampled_from(["BTC", "eth", "SOL", "XRP"])),
                "price": draw(st.floats(1.0, 1e5)),
            }
            for _ in range(draw(st.integers(0, 10)))
        ]
        if srow:
            spot = pd.DataFrame(srow)
            spot["timestamp"] = pd.to_datetime(spot["timestamp"], utc=True)
    return Market(trades=trades, chain=chain, spot=spot, resolution=resolution)
