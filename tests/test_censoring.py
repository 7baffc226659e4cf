"""Left-censoring flags and the open-interest anchor, on a hand-built window
where every rule of flowgex.analytics.censoring has one option to apply to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowgex as fg

T0 = pd.Timestamp("2024-12-02T00:00:00Z")
H = pd.Timedelta("1h")


def trades() -> pd.DataFrame:
    rows = [
        (T0 + 1 * H, "btc-27dec24-100000-c", "buy", 2.0),  # A: chain says OI 0 before: fresh
        (T0 + 2 * H, "BTC-27DEC24-90000-P", "sell", 3.0),  # B: OI 12 before: censored
        (T0 + 3 * H, "BTC-27DEC24-95000-C", "buy", 1.0),  # C: no chain row before: unknown
        (T0 + 4 * H, "ETH-27DEC24-4000-P", "buy", 5.0),  # D: seeded
        (T0 + 6 * H, "BTC-27DEC24-105000-C", "sell", 1.0),  # G: chain row only at the trade time
        (T0 + 7 * H, "BTC-27DEC24-90000-P", "buy", 1.0),
    ]
    t = pd.DataFrame(rows, columns=["timestamp", "instrument", "side", "amount"])
    t["index_price"] = np.where(t.instrument.str.upper().str.startswith("ETH"), 3_600.0, 96_000.0)
    t["iv"] = 0.6
    return t


def chain() -> pd.DataFrame:
    rows = [
        (T0, "BTC-27DEC24-100000-C", 0.0),
        (T0, "BTC-27DEC24-90000-P", 12.0),
        (T0 + 5 * H, "BTC-27DEC24-95000-C", 4.0),  # after C's first trade: no help
        (T0, "ETH-27DEC24-4000-P", 9.0),
        (T0 + 6 * H, "BTC-27DEC24-105000-C", 0.0),  # exactly at G's first trade: not "before"
        (T0, "BTC-27DEC24-110000-C", 7.0),  # E: never trades, has OI
        (T0, "BTC-27DEC24-80000-P", 0.0),  # F: never trades, no OI: not listed
    ]
    c = pd.DataFrame(rows, columns=["timestamp", "instrument", "open_interest"])
    c["mark_iv"] = 0.55
    c["underlying_price"] = np.where(c.instrument.str.startswith("ETH"), 3_600.0, 96_000.0)
    return c


def test_every_rule():
    flags = fg.censoring(trades(), chain=chain(), initial={"ETH-27DEC24-4000-P": -2.0})
    assert list(flags.columns) == ["instrument", "first_trade", "open_interest", "censored", "reason"]
    got = flags.set_index("instrument")
    expect = {
        "BTC-27DEC24-100000-C": (False, "no_open_interest", 0.0, T0 + H),
        "BTC-27DEC24-90000-P": (True, "open_interest", 12.0, T0 + 2 * H),
        "BTC-27DEC24-95000-C": (True, "unknown", None, T0 + 3 * H),
        "ETH-27DEC24-4000-P": (False, "seeded", 9.0, T0 + 4 * H),
        "BTC-27DEC24-105000-C": (True, "unknown", None, T0 + 6 * H),
        "BTC-27DEC24-110000-C": (True, "untraded_open_interest", 7.0, None),
    }
    assert set(got.index) == set(expect)
    for name, (cens, reason, oi, first) in expect.items():
        row = got.loc[name]
        assert row.censored == cens and row.reason == reason, name
        assert (row.open_interest is pd.NA) if oi is None else row.open_interest == oi
        assert pd.isna(row.first_trade) if first is None else row.first_trade == first
    assert str(flags["open_interest"].dtype) == "Float64" and flags["censored"].dtype == bool


def test_without_a_chain_everything_unseeded_is_unknown():
    flags = fg.censoring(trades())
    assert (flags.reason == "unknown").all() and flags.censored.all() and flags.open_interest.isna().all()


def test_anchor_seeds_known_open_interest_with_the_classic_sign():
    seed = fg.anchor_initial(trades(), chain(), share=0.5)
    want = {"BTC-27DEC24-90000-P": -6.0, "BTC-27DEC24-110000-C": 3.5, "ETH-27DEC24-4000-P": -4.5}
    assert dict(zip(seed.instrument, seed.inventory)) == want
    mine = fg.anchor_initial(trades(), chain(), share=0.5, initial={"ETH-27DEC24-4000-P": -2.0})
    assert set(mine.instrument) == set(want) - {"ETH-27DEC24-4000-P"}
    res = fg.flow_gex(trades(), chain(), initial=seed)
    inv = res.inventory(at=T0 + 3 * H).set_index("instrument")["inventory"]
    # B: seeded −6, then a taker sold 3 at T0+2h: dealers bought 3.
    assert inv["BTC-27DEC24-90000-P"] == -3.0
    assert inv["BTC-27DEC24-110000-C"] == 3.5
    with pytest.raises(fg.OptionError, match="share"):
        fg.anchor_initial(trades(), chain(), share=2)


def test_censored_share_is_the_censored_part_of_abs_gex():
    t, c = trades(), chain()
    res = fg.flow_gex(t, c)
    flags = fg.censoring(t, chain=c)
    inv = res.inventory(at="last", asset="BTC")
    bad = inv.instrument.str.upper().isin(set(flags.loc[flags.censored, "instrument"]))
    want = inv.loc[bad, "gex"].abs().sum() / inv["gex"].abs().sum()
    assert fg.censored_share(res, flags, asset="BTC") == pytest.approx(want, rel=1e-12)
    assert 0 < want < 1


def test_names_are_required():
    t = trades().drop(columns=["instrument"]).assign(asset="BTC", expiry=T0 + 30 * 24 * H, strike=1.0, kind="C")
    with pytest.raises(fg.SchemaError, match="instrument"):
        fg.censoring(t)
    with pytest.raises(fg.SchemaError, match="open_interest"):
        fg.censoring(trades(), chain=chain().drop(columns=["open_interest"]))
