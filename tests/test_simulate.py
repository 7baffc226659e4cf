"""fg.simulate: deterministic, chunk-independent, Deribit-shaped, with open
interest consistent with the flows and behaviour that splits flow from classic."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import flowgex as fg
from flowgex.simulate.calendar import expiries_between, nice_step, strike_ladder
from flowgex.simulate.market import default_chunk_hours

START = pd.Timestamp("2024-11-25T00:00Z")


@pytest.fixture(scope="module")
def market() -> fg.SimulatedMarket:
    return fg.simulate(days=3, assets=("BTC", "ETH"), seed=3, trades_per_day=3_000)


def frame(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas()
    for c in ("instrument", "side", "asset"):
        if c in df:
            df[c] = df[c].astype(str)
    return df


def test_same_arguments_same_market_and_chunking_does_not_matter(market):
    again = fg.simulate(days=3, assets=("BTC", "ETH"), seed=3, trades_per_day=3_000)
    assert frame(again.trades).equals(frame(market.trades))
    chunks = list(fg.simulate_chunks(days=3, assets=("BTC", "ETH"), seed=3, trades_per_day=3_000, chunk_hours=5))
    assert len(chunks) == 15
    for name in ("trades", "chain", "spot"):
        joined = pa.concat_tables([getattr(c, name).cast(getattr(chunks[0], name).schema) for c in chunks])
        pd.testing.assert_frame_equal(frame(joined), frame(getattr(market, name)))
    assert chunks[0].initial.equals(market.initial) and all(c.initial.num_rows == 0 for c in chunks[1:])
    other = fg.simulate(days=3, assets=("BTC", "ETH"), seed=4, trades_per_day=3_000)
    assert not frame(other.trades)["amount"].equals(frame(market.trades)["amount"])


def test_a_shorter_market_is_a_prefix_of_a_longer_one(market):
    one = frame(fg.simulate(days=1, assets=("BTC", "ETH"), seed=3, trades_per_day=3_000).trades)
    three = frame(market.trades)
    pd.testing.assert_frame_equal(one, three[three.timestamp < START + pd.Timedelta("1D")].reset_index(drop=True))


def test_canonical_tables_with_index_price_and_iv_everywhere(market):
    t = frame(market.trades)
    assert t.timestamp.is_monotonic_increasing
    assert t.timestamp.min() >= START and t.timestamp.max() < START + pd.Timedelta("3D")
    assert t.trade_id.is_unique and set(t.side) == {"buy", "sell"}
    for col in ("amount", "index_price", "iv"):
        assert np.isfinite(t[col]).all() and (t[col] > 0).all(), col
    res = fg.flow_gex(market.trades, market.chain, market.spot)  # every row accepted, errors="raise"
    assert res.diagnostics.trades_used == len(t) and res.assets == ["BTC", "ETH"]
    c = frame(market.chain)
    assert c.timestamp.is_monotonic_increasing and (c.open_interest >= 0).all() and (c.gamma > 0).all()


def test_listing_calendar():
    exps = expiries_between(START.value, (START + pd.Timedelta("7D")).value)
    kinds = {}
    for e in exps:
        t = pd.Timestamp(e.expiry_ns, tz="UTC")
        assert (t.hour, t.minute) == (8, 0)
        kinds[t.date()] = e.kind
        lead = {"daily": 3, "weekly": 21, "monthly": 91, "quarterly": 365}[e.kind]
        assert e.expiry_ns - e.listed_ns == lead * 86_400 * 10**9
    assert kinds[dt.date(2024, 11, 26)] == "daily" and kinds[dt.date(2024, 12, 6)] == "weekly"
    assert kinds[dt.date(2024, 11, 29)] == "monthly" and kinds[dt.date(2024, 12, 27)] == "quarterly"
    assert kinds[dt.date(2025, 1, 31)] == "monthly" and kinds[dt.date(2025, 3, 28)] == "quarterly"
    assert dt.date(2024, 12, 13) in kinds and dt.date(2025, 1, 3) not in kinds  # weeklies listed 3 weeks ahead


def test_names_parse_and_strikes_are_realistic(market):
    names = set(frame(market.trades).instrument)
    for name in list(names)[:200]:
        inst = fg.parse_instrument(name)
        assert inst.expiry.hour == 8 and inst.asset in ("BTC", "ETH")
    assert nice_step(657) == 500 and nice_step(1740) == 1000 and nice_step(25.1) == 25 and nice_step(0.03) == 0.025
    daily = strike_ladder(95_000, 3 / 365, 0.6)
    assert np.diff(daily).min() == 500 and daily.min() < 90_000 and daily.max() > 100_000
    assert np.diff(strike_ladder(95_000, 1.0, 0.55)).min() == 5_000
    assert np.diff(strike_ladder(3_600, 3 / 365, 0.7)).min() == 25


def test_sol_and_xrp_are_usdc_linear_with_their_multipliers():
    m = fg.simulate(days=1, assets=("SOL", "XRP"), seed=1, trades_per_day=500)
    names = frame(m.trades).instrument
    assert names.str.startswith("SOL_USDC-").any() and names.str.startswith("XRP_USDC-").any()
    assert any("d" in n.split("-")[2] for n in names if n.startswith("XRP"))  # decimal strikes: 2d3
    res = fg.flow_gex(m.trades)
    assert set(res.assets) == {"SOL", "XRP"}


def test_trades_concentrate_near_spot_and_short_expiries(market):
    t = frame(market.trades)
    parsed = {n: fg.parse_instrument(n) for n in t.instrument.unique()}
    days = np.array([(parsed[n].expiry - ts).total_seconds() / 86_400 for n, ts in zip(t.instrument, t.timestamp)])
    moneyness = np.abs(np.log(np.array([parsed[n].strike for n in t.instrument]) / t.index_price.to_numpy()))
    assert (days <= 7).mean() > 0.6 and np.median(moneyness) < 0.05
    assert (days > 60).any()  # some quarterly flow too


def test_behaviour_call_buying_put_selling_blocks(market):
    t = frame(market.trades)
    k = np.array([fg.parse_instrument(n).strike for n in t.instrument])
    call = t.instrument.str.endswith("-C").to_numpy()
    otm_call, otm_put = call & (k > t.index_price), ~call & (k < t.index_price)
    buy = (t.side == "buy").to_numpy()
    assert buy[otm_call].mean() > 0.6, "speculative call buying"
    assert buy[otm_put].mean() < 0.45, "put selling"
    blocks = t[t.block_trade]
    assert 0 < len(blocks) < 0.02 * len(t) and blocks.amount.median() > 10 * t[~t.block_trade].amount.median()


def test_open_interest_is_consistent_with_the_flows(market):
    """OI covers the true dealer inventory at every snapshot and only moves when the option trades."""
    t = frame(market.trades)
    c = frame(market.chain)
    init = dict(zip(market.initial.column("instrument").to_pylist(), market.initial.column("inventory").to_pylist()))
    t["dealer"] = np.where(t.side == "buy", -1.0, 1.0) * t.amount  # dealer flow
    by_name = dict(tuple(t.groupby("instrument")))
    empty = t.iloc[:0]
    checked = 0
    for name, snaps in c.groupby("instrument"):
        mine = by_name.get(name, empty)
        cum = np.concatenate([[0.0], np.cumsum(mine.dealer.to_numpy())])
        at = np.searchsorted(mine.timestamp.to_numpy(), snaps.timestamp.to_numpy(), side="left")
        dealer = init.get(name, 0.0) + cum[at]
        oi = snaps.open_interest.to_numpy()
        assert (np.abs(dealer) <= oi + 1e-9).all(), name
        moved = np.diff(oi) != 0
        traded = np.diff(at) > 0
        assert not (moved & ~traded).any(), f"{name}: OI moved without a trade"
        gross = np.concatenate([[0.0], np.cumsum(mine.amount.to_numpy())])
        assert (np.abs(np.diff(oi)) <= np.diff(gross[at]) + 1e-9).all()
        checked += 1
    assert checked > 100
    listed_inside = c.groupby("instrument").timestamp.min() > START
    first_oi = c.groupby("instrument").open_interest.first()
    assert (first_oi[listed_inside] == 0).all() and (first_oi[~listed_inside] > 0).any()


def test_flow_and_classic_differ_on_the_simulated_market(market):
    flow = fg.flow_gex(market.trades, spot=market.spot)
    classic = fg.classic_gex(market.chain)
    cmp = fg.compare(flow, classic, "BTC")
    assert (cmp.table.verdict == "opposite sign").mean() > 0.3
    flags = fg.censoring(market.trades, chain=market.chain)
    assert flags.censored.any() and (~flags.censored).any()


def test_the_true_initial_inventory_closes_the_censoring_gap(market):
    flows_only = fg.flow_gex(market.trades, market.chain, market.spot)
    truth = fg.flow_gex(market.trades, market.chain, market.spot, initial=market.initial)
    seed = dict(zip(market.initial["instrument"].to_pylist(), market.initial["inventory"].to_pylist()))
    a = flows_only.inventory(at="last").set_index("instrument")["inventory"]
    b = truth.inventory(at="last").set_index("instrument")["inventory"]
    assert len(b) > len(a)  # seeded options that never traded are live too
    for name in b.index:
        assert b[name] == pytest.approx(a.get(name, 0.0) + seed.get(name, 0.0))


def test_big_markets_stream_in_bounded_chunks():
    gen = fg.simulate_chunks(days=30, assets=("BTC",), seed=1, trades_per_day=5_000_000)
    first = next(gen)
    hours = default_chunk_hours(5_000_000, 1)
    assert hours == 4  # ~1M trades per chunk of a 150-million-trade market
    assert 400_000 < first.trades.num_rows < 1_200_000
    assert first.trades.column("timestamp")[-1].value < (START + pd.Timedelta(hours=hours)).value
    gen.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"assets": ("DOGE",)}, "simulator knows"),
        ({"assets": ()}, "at least one"),
        ({"assets": ("BTC", "btc")}, "repeated"),
        ({"days": 0}, "days"),
        ({"trades_per_day": -5}, "trades_per_day"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(fg.OptionError, match=match):
        fg.simulate(**kwargs)
