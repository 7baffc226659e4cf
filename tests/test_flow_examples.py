"""Small flow-GEX scenarios whose expected numbers are worked out by hand here,
from DESIGN section 1, with math (not with flowgex)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import flowgex as fg

T0 = pd.Timestamp("2024-12-01T00:00:00Z")
EXPIRY = pd.Timestamp("2024-12-27T08:00:00Z")
YEAR = 365 * 86400.0


def gamma(S, K, T, sigma):
    d1 = (math.log(S / K) + sigma**2 * T / 2) / (sigma * math.sqrt(T))
    return math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi) / (S * sigma * math.sqrt(T))


def trades(*rows):
    df = pd.DataFrame(rows, columns=["timestamp", "instrument", "side", "amount", "index_price", "iv"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


def test_dealer_is_short_what_takers_buy():
    t = trades(
        (T0 + pd.Timedelta("4min"), "BTC-27DEC24-100000-C", "buy", 3.0, 96_000.0, 0.6),
        (T0 + pd.Timedelta("15min"), "BTC-27DEC24-100000-C", "sell", 1.0, 97_000.0, 0.5),
    )
    res = fg.flow_gex(t)
    inv = res.inventory()
    assert list(inv.time) == [T0 + pd.Timedelta("10min"), T0 + pd.Timedelta("20min")]
    assert list(inv.inventory) == [-3.0, -2.0]
    for row in inv.itertuples():
        T = (EXPIRY - row.time).total_seconds() / YEAR
        want = gamma(row.spot, 100_000.0, T, row.vol) * row.inventory * 1.0 * row.spot**2 * 0.01
        assert row.gex == pytest.approx(want, rel=1e-12)
    assert list(inv.spot) == [96_000.0, 97_000.0] and list(inv.vol) == [0.6, 0.5]


def test_a_trade_on_a_bucket_edge_counts_from_the_next_grid_time():
    t = trades(
        (T0 + pd.Timedelta("10min"), "BTC-27DEC24-100000-C", "buy", 1.0, 96_000.0, 0.6),
        (T0 + pd.Timedelta("30min"), "BTC-27DEC24-100000-C", "buy", 1.0, 96_000.0, 0.6),
    )
    inv = fg.flow_gex(t).inventory()
    # 00:10:00 belongs to [00:10, 00:20): first reported at 00:20; 00:30 steps carry inventory.
    assert list(inv.time) == [T0 + pd.Timedelta(m) for m in ("20min", "30min", "40min")]
    assert list(inv.inventory) == [-1.0, -1.0, -2.0]


def test_units_and_multipliers():
    t = trades((T0, "SOL_USDC-27DEC24-230-P", "sell", 4.0, 230.0, 0.8))
    base = fg.flow_gex(t, unit="underlying").inventory().iloc[0]
    T = (EXPIRY - (T0 + pd.Timedelta("10min"))).total_seconds() / YEAR
    g = gamma(230.0, 230.0, T, 0.8)
    assert base.inventory == 4.0
    assert base.gex == pytest.approx(g * 4.0 * 10.0, rel=1e-12)  # SOL: 10 per contract
    pt = fg.flow_gex(t, unit="usd_per_point").inventory().iloc[0]
    assert pt.gex == pytest.approx(g * 4.0 * 10.0 * 230.0, rel=1e-12)
    pct = fg.flow_gex(t).inventory().iloc[0]
    assert pct.gex == pytest.approx(g * 4.0 * 10.0 * 230.0**2 * 0.01, rel=1e-12)
    assert fg.flow_gex(t, unit="underlying", multipliers={"SOL": 1}).inventory().gex.iloc[0] == pytest.approx(
        g * 4.0, rel=1e-12
    )


def test_unknown_assets_need_a_multiplier():
    t = trades((T0, "PAXG_USDC-27DEC24-2600-C", "buy", 1.0, 2650.0, 0.2))
    with pytest.raises(fg.BadRowsError, match="unknown_multiplier.*PAXG"):
        fg.flow_gex(t)
    res = fg.flow_gex(t, multipliers={"PAXG": 1.0})
    assert res.inventory().inventory.iloc[0] == -1.0


def test_expiry_roll_off_and_carry_over():
    t = trades(
        (pd.Timestamp("2024-12-06T07:35Z"), "ETH-6DEC24-3500-C", "buy", 2.0, 3600.0, 0.7),
        (pd.Timestamp("2024-12-06T08:25Z"), "ETH-27DEC24-4000-P", "sell", 1.0, 3600.0, 0.7),
    )
    res = fg.flow_gex(t)
    inv = res.inventory()
    eth6 = inv[inv.instrument == "ETH-6DEC24-3500-C"]
    assert list(eth6.time) == [pd.Timestamp("2024-12-06T07:40Z"), pd.Timestamp("2024-12-06T07:50Z")]
    # Steps 08:00..08:20 have no live instrument but ETH keeps a total row of 0.
    tot = res.total()
    assert list(tot.time) == [pd.Timestamp("2024-12-06T07:40Z") + pd.Timedelta(minutes=10 * k) for k in range(6)]
    assert list(tot.gex.iloc[2:5]) == [0.0, 0.0, 0.0]
    assert res.diagnostics.expired == 1 and res.diagnostics.instruments == 2


def test_as_of_chain_first_then_trades_strictly_before():
    t = trades(
        (T0 + pd.Timedelta("1min"), "BTC-27DEC24-100000-C", "buy", 1.0, 96_000.0, 0.6),
        (T0 + pd.Timedelta("25min"), "BTC-27DEC24-100000-C", "buy", 1.0, 96_500.0, 0.65),
    )
    chain = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([T0 + pd.Timedelta("10min"), T0 + pd.Timedelta("12min")]),
            "instrument": ["BTC-27DEC24-100000-C"] * 2,
            "mark_iv": [0.55, 0.52],
            "underlying_price": [96_800.0, 96_900.0],
        }
    )
    spot = pd.DataFrame(
        {"timestamp": pd.to_datetime([T0 + pd.Timedelta("2min")]), "asset": ["BTC"], "price": [95_000.0]}
    )
    inv = fg.flow_gex(t, chain, spot).inventory()
    # 00:10: the chain row at exactly 00:10 is not "strictly before": spot table, trade iv.
    assert (inv.spot.iloc[0], inv.vol.iloc[0]) == (95_000.0, 0.6)
    # 00:20 and 00:30: the latest chain row before them wins over trades and spot.
    assert (inv.spot.iloc[1], inv.vol.iloc[1]) == (96_900.0, 0.52)
    assert (inv.spot.iloc[2], inv.vol.iloc[2]) == (96_900.0, 0.52)
    d = fg.flow_gex(t, chain, spot).diagnostics
    assert d.spot_source == {"chain": 2, "spot": 1, "index_price": 0}
    assert d.vol_source == {"chain": 2, "trade": 1}


def test_start_end_initial_and_missing_vol():
    t = trades((T0 + pd.Timedelta("31min"), "BTC-27DEC24-100000-C", "buy", 1.0, 96_000.0, None))
    with pytest.raises(fg.MissingVolError, match="BTC-27DEC24-100000-C"):
        fg.flow_gex(t)
    skip = fg.flow_gex(t, missing_vol="skip").inventory()
    assert skip.gex.iloc[0] == 0.0 and skip.vol.iloc[0] == 0.0
    fill = fg.flow_gex(t, missing_vol=0.5).inventory()
    assert fill.vol.iloc[0] == 0.5 and fill.gex.iloc[0] < 0
    res = fg.flow_gex(
        t,
        start=T0 + pd.Timedelta("5min"),
        end=T0 + pd.Timedelta("1h"),
        missing_vol=0.5,
        initial={"BTC-27DEC24-100000-P": 2.0},
        spot=pd.DataFrame({"timestamp": [T0 - pd.Timedelta("1min")], "asset": ["BTC"], "price": [95_000.0]}),
    )
    # start snaps up to 00:10; end is on the grid; the seed is live from the start.
    assert list(res.times) == [T0 + pd.Timedelta(minutes=m) for m in (10, 20, 30, 40, 50, 60)]
    inv = res.inventory()
    puts = inv[inv.instrument == "BTC-27DEC24-100000-P"]
    assert list(puts.inventory) == [2.0] * 6
    calls = inv[inv.instrument == "BTC-27DEC24-100000-C"]
    assert list(calls.time) == [T0 + pd.Timedelta(minutes=m) for m in (40, 50, 60)]
    assert res.diagnostics.missing_vol == 3 + 6  # both options have no vol at any step


def test_by_strike_sums_legs_and_maturities():
    t = trades(
        (T0, "BTC-27DEC24-100000-C", "buy", 1.0, 96_000.0, 0.6),
        (T0, "BTC-27DEC24-100000-P", "sell", 2.0, 96_000.0, 0.6),
        (T0, "BTC-6DEC24-100000-C", "sell", 1.0, 96_000.0, 0.7),
    )
    res = fg.flow_gex(t)
    inv = res.inventory()
    row = res.by_strike(at="last").iloc[0]
    assert row.call_gex == pytest.approx(inv[inv.kind == "C"].gex.sum(), rel=1e-14)
    assert row.put_gex == inv[inv.kind == "P"].gex.iloc[0]
    assert row.gex == row.call_gex + row.put_gex
    exp = res.by_expiry()
    assert len(exp) == 2 and exp.gex.sum() == pytest.approx(inv.gex.sum(), rel=1e-12)
    assert res.total().gex.iloc[0] == pytest.approx(inv.gex.sum(), rel=1e-12)


def test_python_multiplier_table_resolves_like_the_engine():
    from flowgex.multipliers import contract_multiplier

    assert contract_multiplier("sol", "USDC") == 10.0 and contract_multiplier("XRP") == 1000.0
    assert contract_multiplier("PAXG") is None
    user = {"BTC_USDC": 0.01, "paxg": 1.0}
    assert contract_multiplier("BTC", "USDC", user) == 0.01 and contract_multiplier("BTC", None, user) == 1.0
    # The engine agrees: a BTC_USDC override scales GEX by 0.01 (unit="underlying" is linear in m).
    t = trades((T0, "BTC_USDC-27DEC24-100000-C", "buy", 1.0, 96_000.0, 0.6))
    full = fg.flow_gex(t, unit="underlying").inventory().gex.iloc[0]
    small = fg.flow_gex(t, unit="underlying", multipliers=user).inventory().gex.iloc[0]
    assert small == pytest.approx(full * 0.01, rel=1e-14)
