"""Trades whose assets are each in time order, but not the table (issue 17).

A hive dataset read file by file, or a table concatenated asset by asset, has
each asset's rows in time order while the whole table is not. With
``keep_*="last"`` and two threads the core then hands each asset's rows to the
per-asset replay as they are, without one time sort of every row, and
de-duplicates in input order (ids are keyed by asset, so only each asset's
order matters). One thread takes the other path (one stable time sort of
every row, de-duplication in that order), so equality between the two is a
check of the new path by an independent one, bit for bit, rejected rows and
diagnostics included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import flowgex as fg
from compare import assert_close, assert_identical
from strategies import DAY, MIN, T0, markets

ASSETS = ("BTC", "ETH", "SOL", "XRP")


def _opts(m, **kw):
    return {
        "resolution": m.resolution,
        "errors": "quarantine",
        "missing_vol": 0.45,
        "missing_spot": "skip",
        "keep_inventory": "last",
        "keep_aggregates": "last",
        **kw,
    }


def _asset_key(name: object, rank: dict[str, int]) -> int:
    """The asset's rank for names of a known asset, else a rank of its own (bad names)."""
    if not isinstance(name, str):
        return len(rank)
    return rank.get(name.split("-")[0].split("_")[0].upper(), len(rank))


def _by_asset(df: pd.DataFrame, asset_order: list[str], shuffle_bad: bool) -> pd.DataFrame:
    """Rows grouped by asset (in ``asset_order``), each asset in time order (stable)."""
    rank = {a: i for i, a in enumerate(asset_order)}
    key = np.array([_asset_key(n, rank) for n in df["instrument"]])
    ts = df["timestamp"].astype("int64").to_numpy() if len(df) else np.zeros(0, np.int64)
    order = np.lexsort((ts, key))  # stable: ties keep input order
    out = df.iloc[order].reset_index(drop=True)
    if shuffle_bad and len(out) > 1:
        out = out.iloc[::-1].reset_index(drop=True) if key.max() == len(rank) else out
    return out


def _int_ids(df: pd.DataFrame) -> pd.DataFrame:
    """String ids "t12"/"b30" as integers (the fast, no-hash de-duplication path)."""
    out = df.copy()
    out["trade_id"] = [int(s[1:]) + (0 if s[0] == "t" else 10_000) for s in df["trade_id"]]
    return out


def _both(m, trades: pd.DataFrame, kw: dict, chunks: list) -> tuple[fg.GexResult, fg.GexResult]:
    """One thread (one time sort of every row) and two (the per-asset replay), fed the same chunks."""

    def part(df, lo, hi):
        if df is None:
            return None
        keep = np.ones(len(df), dtype=bool)
        if lo is not None:
            keep &= (df.timestamp >= lo).to_numpy()
        if hi is not None:
            keep &= (df.timestamp < hi).to_numpy()
        return df[keep]

    chain = None if m.chain is None else m.chain.sort_values("timestamp", kind="stable")
    spot = None if m.spot is None else m.spot.sort_values("timestamp", kind="stable")
    got = []
    for threads in (1, 2):
        eng = fg.Engine(threads=threads, **kw)
        for lo, hi in zip(chunks[:-1], chunks[1:]):
            eng.update(part(trades, lo, hi), part(chain, lo, hi), part(spot, lo, hi))
        got.append(eng.finish())
    return got[0], got[1]


@given(markets(bad=True), st.permutations(ASSETS), st.booleans(), st.booleans(), st.data())
def test_asset_by_asset_input_is_bit_identical_to_one_time_sort(m, asset_order, int_ids, shuffle_bad, data):
    trades = m.trades[m.trades["timestamp"].notna()] if shuffle_bad else m.trades
    trades = _by_asset(trades, list(asset_order), shuffle_bad)
    if int_ids:
        trades = _int_ids(trades)
    kw = _opts(m)
    cuts = sorted(data.draw(st.lists(st.integers(0, 2 * DAY), max_size=3)))
    chunks = [None] + [pd.Timestamp(T0 + c, tz="UTC") for c in cuts] + [None]
    serial, parallel = _both(m, trades, kw, chunks)
    assert_identical(parallel, serial)
    assert parallel.diagnostics == serial.diagnostics
    assert parallel.diagnostics.rejected_rows.keys() == serial.diagnostics.rejected_rows.keys()
    for name, rows in serial.diagnostics.rejected_rows.items():
        assert parallel.diagnostics.rejected_rows[name].equals(rows)


@given(markets(with_chain=False, min_trades=4), st.permutations(ASSETS))
def test_asset_by_asset_input_agrees_with_the_reference(m, asset_order):
    trades = _by_asset(m.trades, list(asset_order), False)
    kw = _opts(m, threads=2)
    assert_close(fg.flow_gex(trades, **kw), fg.flow_gex(trades, engine="reference", **kw))


def _trade(ts: int, name: str, tid: int, side: str = "buy", amount: float = 1.0) -> dict:
    spot = {"BTC": 96_000.0, "ETH": 3_600.0}[name.split("-")[0]]
    return {
        "timestamp": pd.Timestamp(ts, tz="UTC"),
        "instrument": name,
        "side": side,
        "amount": amount,
        "index_price": spot,
        "iv": 0.6,
        "trade_id": tid,
    }


def test_ties_across_assets_at_both_ends_and_duplicates():
    """ETH's block comes first in the table but BTC shares its first and last
    times; a re-delivered BTC trade is a duplicate, the same id in ETH is not."""
    eth = [_trade(T0 + k * MIN, "ETH-6DEC24-3500-C", 7 + k) for k in (0, 25, 61)]
    btc = [_trade(T0 + k * MIN, "BTC-27DEC24-100000-P", 7 + k, "sell", 2.0) for k in (0, 3, 4, 61)]
    btc.insert(2, dict(btc[1]))  # the same BTC id again: a duplicate
    trades = pd.DataFrame(eth + btc)
    kw = {"resolution": "10min", "errors": "quarantine", "keep_inventory": "last", "keep_aggregates": "last"}
    one = fg.flow_gex(trades, threads=1, **kw)
    two = fg.flow_gex(trades, threads=2, **kw)
    assert_identical(two, one)
    assert two.diagnostics.rejected_rows["trades"]["row"].to_pylist() == [5]
    assert two.diagnostics.rejected_rows["trades"]["reason"].to_pylist() == ["duplicate_trade_id"]
    # The grid runs from the first trade's bucket to the last trade's (both tied across assets).
    total = two.total()
    assert total["time"].min() == pd.Timestamp(T0 + 10 * MIN, tz="UTC")
    assert total["time"].max() == pd.Timestamp(T0 + 70 * MIN, tz="UTC")
    assert_close(two, fg.flow_gex(trades, engine="reference", **kw))


def test_many_blocks_per_asset_are_bit_identical_to_one_block():
    """~450k (option, step) rows per asset: each asset's replay flushes about
    seven 64 Ki-row blocks on its own thread, the serial replay one 1 Mi-row
    block; given asset by asset (no time sort) or in time order, equal."""
    trades = fg.simulate(days=7, assets=("BTC", "ETH"), trades_per_day=2000, seed=3).trades
    names = trades.column("instrument").to_pylist()
    by_asset = trades.take(sorted(range(len(names)), key=lambda i: (names[i].split("-")[0] != "ETH", i)))
    kw = {"keep_inventory": "last", "keep_aggregates": "last"}
    serial = fg.flow_gex(trades, threads=1, **kw)
    assert len(serial.total()) > 1000  # a week of 10-minute steps per asset
    for table in (trades, by_asset):
        assert_identical(fg.flow_gex(table, threads=2, **kw), serial)
