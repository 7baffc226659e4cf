"""Hypothesis: the reference engine on hostile input (values across the whole
float range, timestamps across the whole int64 range) never gives NaN or inf,
puts every row in exactly one place (used, after expiry, or one reason), and
counts the flow of every accepted trade, zero-iv and zero-index-price ones
included.

The expected reason of each row is worked out here from the rules (DESIGN
section 5, amended), not taken from the engine. The grid is pinned with
``start``/``end`` so that stray timestamps far from the window cannot make it
huge (the core refuses such grids; the reference has no such limit).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import event, given
from hypothesis import strategies as st

import flowgex as fg
from flowgex.schema import TIMESTAMP

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MIN = 60 * 10**9
DAY = 24 * 60 * MIN
RESOLUTIONS = {"1min": MIN, "10min": 10 * MIN, "1h": 60 * MIN, "1D": DAY}
EXP_27DEC24 = 1_735_286_400 * 10**9
EXP_1DEC24 = 1_733_040_000 * 10**9
#: Deribit names: (asset, quote, expiry, strike, kind), or None when unparseable.
NAMES: dict[Any, tuple[str, str | None, int, float, str] | None] = {
    "BTC-27DEC24-100000-C": ("BTC", None, EXP_27DEC24, 100_000.0, "C"),
    "btc-27dec24-100000-p": ("BTC", None, EXP_27DEC24, 100_000.0, "P"),
    "ETH-1DEC24-3500-P": ("ETH", None, EXP_1DEC24, 3_500.0, "P"),
    "XRP_USDC-27DEC24-0d625-C": ("XRP", "USDC", EXP_27DEC24, 0.625, "C"),
    "ZZZ-27DEC24-10-C": ("ZZZ", None, EXP_27DEC24, 10.0, "C"),
    "garbage": None,
    "BTC-31FEB24-1-C": None,
    None: None,
}
BUILTIN = {"BTC": 1.0, "ETH": 1.0, "SOL": 10.0, "XRP": 1000.0}
EDGE_FLOATS = [
    0.0,
    -0.0,
    5e-324,
    1e-300,
    1e-12,
    float(np.nextafter(1e-12, 0)),
    1e-4,
    float(np.nextafter(1e-4, 0)),
    0.5,
    96_000.0,
    1e3,
    float(np.nextafter(1e3, np.inf)),
    1e12,
    float(np.nextafter(1e12, np.inf)),
    1e308,
    -1.0,
    -1e12,
    float(np.nextafter(-1e12, -np.inf)),
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
]
hostile_values = st.one_of(
    st.none(),
    st.sampled_from(EDGE_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
)


def limit(res: int) -> int:
    return (INT64_MAX // res - 2) * res


def wild_timestamps(res: int, *, stray: bool = True) -> st.SearchStrategy[int | None]:
    """Bad timestamps (null, NaT, at or beyond the limit) and, with ``stray``, valid
    ones anywhere in the int64 range (which the core may call outliers)."""
    lim = limit(res)
    bad = st.one_of(st.sampled_from([INT64_MIN, lim, lim + 1, INT64_MAX - 1, INT64_MAX]), st.none())
    if not stray:
        return bad
    return st.one_of(st.integers(INT64_MIN, INT64_MAX), st.sampled_from([INT64_MIN + 1, -1, 0, lim - 1]), bad)


@st.composite
def hostile(draw: st.DrawFn, *, stray: bool = True) -> dict[str, Any]:
    resolution = draw(st.sampled_from(sorted(RESOLUTIONS)))
    res = RESOLUTIONS[resolution]
    # The window sits anywhere in the int64 range, often around the Deribit expiries.
    start = draw(
        st.one_of(
            st.integers(INT64_MIN + 10 * DAY, limit(res) - 20 * res),
            st.integers(EXP_1DEC24 - 2 * DAY, EXP_27DEC24 + DAY),
            st.integers(EXP_1DEC24 - 2 * DAY, EXP_1DEC24 + DAY),
        )
    )
    start = -((-start) // res) * res
    end = start + draw(st.integers(0, 12)) * res
    near = st.integers(start - 2 * res, end + 2 * res)
    wild = wild_timestamps(res, stray=stray)
    parts = draw(st.booleans())
    soon = st.integers(start - res, end + 3 * res)
    expiries = st.one_of(soon, st.integers(end + 1, min(end + 100 * DAY, INT64_MAX)))
    wild_expiries = st.one_of(st.integers(INT64_MIN, INT64_MAX), st.none(), st.just(INT64_MIN))

    def row(fields: dict[str, st.SearchStrategy[Any]], wild_fields: dict[str, st.SearchStrategy[Any]]) -> dict:
        """One row: each field good, except a few (often none) drawn from the hostile ones."""
        bad = draw(st.sets(st.sampled_from(sorted(wild_fields)), max_size=3))
        return {k: draw(wild_fields[k] if k in bad else v) for k, v in fields.items()}

    good_names = [n for n, k in NAMES.items() if k is not None]
    if parts:
        option = {
            "asset": st.sampled_from(["BTC", "eth", "XRP", "ZZZ"]),
            "expiry": expiries,
            "strike": st.floats(1e-3, 1e6),
            "kind": st.sampled_from(["C", "p", "call", "PUT"]),
        }
        wild_option = {
            "asset": st.sampled_from(["", "B-C", "É", None]),
            "expiry": wild_expiries,
            "strike": hostile_values,
            "kind": st.sampled_from(["x", "", None]),
        }
    else:
        option = {"instrument": st.sampled_from(good_names)}
        wild_option = {"instrument": st.sampled_from(list(NAMES))}
    trades = [
        row(
            {
                "timestamp": near,
                **option,
                "side": st.sampled_from(["buy", "sell", "SELL"]),
                "amount": st.floats(1e-3, 1e6),
                "index_price": st.sampled_from([0.0, 96_000.0, 3_600.0, 2.5, 1e-12, 1e12]),
                "iv": st.sampled_from([0.0, 0.5, 1e-4, 1e3]),
                "trade_id": st.one_of(st.just(f"u{k}"), st.sampled_from(["a", "b", None])),
            },
            {
                "timestamp": wild,
                **wild_option,
                "side": st.sampled_from(["hold", "", None]),
                "amount": hostile_values,
                "index_price": hostile_values,
                "iv": hostile_values,
            },
        )
        for k in range(draw(st.integers(1, 20)))
    ]
    chain = [
        row(
            {
                "timestamp": st.one_of(near, soon),
                **option,
                "mark_iv": st.floats(1e-4, 1e3),
                "underlying_price": st.floats(1e-12, 1e12),
                "open_interest": st.floats(0.0, 1e12),
                "gamma": st.floats(-1e12, 1e12),
            },
            {
                "timestamp": wild,
                **wild_option,
                "mark_iv": hostile_values,
                "underlying_price": hostile_values,
                "open_interest": hostile_values,
                "gamma": hostile_values,
            },
        )
        for _ in range(draw(st.integers(0, 12)))
    ]
    spot = [
        row(
            {"timestamp": near, "asset": st.sampled_from(["BTC", "eth", "ZZZ"]), "price": st.floats(1e-12, 1e12)},
            {"timestamp": wild, "asset": st.sampled_from(["", None]), "price": hostile_values},
        )
        for _ in range(draw(st.integers(0, 6)))
    ]
    return {
        "resolution": resolution,
        "res": res,
        "start": start,
        "end": end,
        "parts": parts,
        "trades": trades,
        "chain": chain,
        "spot": spot,
        "multipliers": draw(st.sampled_from([None, {"ZZZ": 1e12}, {"zzz": 0.5, "XRP_USDC": 1e12}])),
        "missing_vol": draw(st.sampled_from(["skip", 1e-4, 0.5, 1e3])),
        "unit": draw(st.sampled_from(["usd_per_1pct", "usd_per_point", "underlying"])),
    }


def table(rows: list[dict[str, Any]], kind: str) -> pa.Table | None:
    if not rows:
        return None
    cols: dict[str, pa.Array] = {}
    for name in rows[0]:
        v = [r[name] for r in rows]
        if name in ("timestamp", "expiry"):
            cols[name] = pa.array(v, pa.int64()).cast(TIMESTAMP)
        elif name in ("amount", "index_price", "iv", "strike", "mark_iv", "underlying_price", "open_interest"):
            cols[name] = pa.array(v, pa.float64(), from_pandas=False)
        elif name in ("gamma", "price"):
            cols[name] = pa.array(v, pa.float64(), from_pandas=False)
        else:
            cols[name] = pa.array(v, pa.string())
    return pa.table(cols)


# -- the oracle: each row's fate from the rules -------------------------------------------
def number(x: Any) -> bool:
    return isinstance(x, float) and math.isfinite(x)


def within(x: Any, lo: float, hi: float) -> bool:
    return number(x) and lo <= x <= hi


def no_observation_or(x: Any, lo: float, hi: float) -> bool:
    return x is None or x == 0.0 or within(x, lo, hi)


def bad_time(x: Any, res: int) -> bool:
    return x is None or x == INT64_MIN or x >= limit(res)


def key_of(row: dict[str, Any], parts: bool) -> tuple[str, str | None, int, float, str] | None:
    if not parts:
        return NAMES[row["instrument"]]
    a, e, k, kind = row["asset"], row["expiry"], row["strike"], row["kind"]
    ok = isinstance(a, str) and a.isascii() and a.isalnum() and e is not None and e != INT64_MIN
    kind = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}.get((kind or "").upper())
    if not (ok and number(k) and k > 0 and kind):
        return None
    return (a.upper(), None, e, k, kind)


def multiplier(key: tuple[str, str | None, int, float, str], user: dict[str, float] | None) -> float | None:
    u = {k.upper(): v for k, v in (user or {}).items()}
    if key[1] and f"{key[0]}_{key[1]}" in u:
        return u[f"{key[0]}_{key[1]}"]
    return u.get(key[0], BUILTIN.get(key[0]))


def trade_reason(row: dict[str, Any], case: dict[str, Any]) -> str | None:
    key = key_of(row, case["parts"])
    if bad_time(row["timestamp"], case["res"]):
        return "bad_timestamp"
    if key is None:
        return "unparseable_instrument"
    if multiplier(key, case["multipliers"]) is None:
        return "unknown_multiplier"
    if (row["side"] or "").lower() not in ("buy", "sell"):
        return "unknown_side"
    if not (within(row["amount"], 0.0, 1e12) and row["amount"] > 0):
        return "bad_amount"
    if not no_observation_or(row["index_price"], 1e-12, 1e12):
        return "bad_price"
    if not no_observation_or(row["iv"], 1e-4, 1e3):
        return "bad_iv"
    if row["timestamp"] >= key[2]:
        return "expired"
    return None


def chain_fate(row: dict[str, Any], case: dict[str, Any]) -> str | None:
    """A reason, "after_expiry", or None (used)."""
    key = key_of(row, case["parts"])
    checks = [
        ("bad_timestamp", not bad_time(row["timestamp"], case["res"])),
        ("unparseable_instrument", key is not None),
        ("unknown_multiplier", key is not None and multiplier(key, case["multipliers"]) is not None),
        ("bad_price", row["underlying_price"] is None or within(row["underlying_price"], 1e-12, 1e12)),
        ("bad_iv", row["mark_iv"] is None or within(row["mark_iv"], 1e-4, 1e3)),
        ("bad_open_interest", row["open_interest"] is None or within(row["open_interest"], 0.0, 1e12)),
        ("bad_gamma", row["gamma"] is None or within(row["gamma"], -1e12, 1e12)),
    ]
    for reason, ok in checks:
        if not ok:
            return reason
    return "after_expiry" if row["timestamp"] >= key[2] else None  # type: ignore[index]


def spot_reason(row: dict[str, Any], case: dict[str, Any]) -> str | None:
    if bad_time(row["timestamp"], case["res"]):
        return "bad_timestamp"
    if not (isinstance(row["asset"], str) and row["asset"].strip()):
        return "bad_asset"
    return None if within(row["price"], 1e-12, 1e12) else "bad_price"


def rows_of(res: fg.GexResult, name: str) -> list[tuple[int, str]]:
    t = res.diagnostics.rejected_rows.get(name)
    return [] if t is None else list(zip(t.column("row").to_pylist(), t.column("reason").to_pylist()))


@given(hostile())
def test_hostile_input_is_counted_finite_and_keeps_every_flow(case):
    trades = table(case["trades"], "trades")
    chain = table(case["chain"], "chain")
    spot = table(case["spot"], "spot")
    res = fg.flow_gex(
        trades,
        chain,
        spot,
        engine="reference",
        errors="quarantine",
        resolution=case["resolution"],
        start=case["start"],
        end=case["end"],
        multipliers=case["multipliers"],
        missing_vol=case["missing_vol"],
        missing_spot="skip",
        unit=case["unit"],
    )
    d = res.diagnostics

    # 1. No NaN or inf anywhere.
    for frame in (res.inventory(), res.by_strike(), res.by_expiry(), res.total()):
        assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()

    # 2. Each trade: its reason from the rules (first failing check), then duplicates
    #    among the accepted ones (per asset and trade id, the earliest kept).
    expected = {n: trade_reason(r, case) for n, r in enumerate(case["trades"])}
    accepted = sorted((r["timestamp"], n) for n, r in enumerate(case["trades"]) if expected[n] is None)
    seen = set()
    for _, n in accepted:
        r = case["trades"][n]
        if r["trade_id"] is not None:
            k = (key_of(r, case["parts"])[0], r["trade_id"])  # type: ignore[index]
            if k in seen:
                expected[n] = "duplicate_trade_id"
            seen.add(k)
    assert rows_of(res, "trades") == sorted((n, why) for n, why in expected.items() if why is not None)
    assert d.trades_read == len(case["trades"])
    assert d.trades_used + sum(d.rejected.values()) == d.trades_read
    assert d.trades_used == sum(1 for why in expected.values() if why is None)

    # 3. Each chain row: used, after expiry (counted), or one reason.
    fates = [chain_fate(r, case) for r in case["chain"]]
    assert rows_of(res, "chain") == [(n, f) for n, f in enumerate(fates) if f not in (None, "after_expiry")]
    assert d.chain_after_expiry == fates.count("after_expiry")
    assert d.chain_rows_read == len(case["chain"])
    reasons = [spot_reason(r, case) for r in case["spot"]]
    assert rows_of(res, "spot") == [(n, f) for n, f in enumerate(reasons) if f is not None]

    # 4. Every kept trade's flow is in the inventory at the last step (zero iv or index price included).
    last = case["end"]
    flow: dict[tuple, float] = defaultdict(float)
    scale: dict[tuple, float] = defaultdict(float)
    for n, r in enumerate(case["trades"]):
        key = key_of(r, case["parts"])
        if expected[n] is None and r["timestamp"] < last and key[2] > last:  # type: ignore[index]
            q = r["amount"] if r["side"].lower() == "buy" else -r["amount"]
            k = (key[0], key[2], key[3], key[4])  # type: ignore[index]
            flow[k] -= q
            scale[k] += abs(q)
    inv = res.inventory(at="last") if len(res.times) else None
    got = {}
    if inv is not None and len(inv):
        assert int(res.times[-1].value) == last
        for row in inv.itertuples():
            got[(row.asset, int(row.expiry.value), row.strike, row.kind)] = row.inventory
    event(f"options with flow at the last step: {min(len(flow), 3)}")
    event(f"chain rows after expiry: {min(fates.count('after_expiry'), 2)}")
    zero = [r for n, r in enumerate(case["trades"]) if expected[n] is None and 0.0 in (r["iv"], r["index_price"])]
    event(f"accepted trades with a zero iv or index price: {min(len(zero), 2)}")
    assert set(got) == set(flow)
    for k, v in flow.items():
        assert abs(got[k] - v) <= 1e-12 * scale[k], (k, got[k], v)
