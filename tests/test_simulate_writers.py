"""Streaming writers of simulated markets: hive-partitioned Parquet that reads
back to the same rows, and Tardis.dev CSV in venue units."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import flowgex as fg
from flowgex.simulate import write_parquet

TARDIS_TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
TARDIS_CHAIN = (
    "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,bid_price,"
    "bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,underlying_price,delta,"
    "gamma,vega,theta,rho"
)


@pytest.fixture(scope="module")
def market() -> fg.SimulatedMarket:
    return fg.simulate(days=2, assets=("BTC", "SOL"), seed=2, trades_per_day=800)


def read_back(path) -> pd.DataFrame:
    t = pads.dataset(path, format="parquet", partitioning="hive").to_table().to_pandas()
    for c in ("instrument", "side", "asset", "date"):
        if c in t:
            t[c] = t[c].astype(str)
    return t


def test_parquet_dataset_round_trip(market, tmp_path):
    out = market.to_parquet(tmp_path / "m")
    parts = sorted(p.relative_to(out).parts[:3] for p in (out / "trades").rglob("*.parquet"))
    assert ("trades", "asset=BTC", "date=2024-11-25") in parts and ("trades", "asset=SOL", "date=2024-11-26") in parts
    got = read_back(out / "trades").sort_values("trade_id", ignore_index=True)
    want = market.trades.to_pandas().sort_values("trade_id", ignore_index=True)
    assert len(got) == len(want)
    for c in ("timestamp", "amount", "index_price", "iv", "block_trade"):
        assert (got[c].to_numpy() == want[c].to_numpy()).all(), c
    assert (got["instrument"] == want["instrument"].astype(str)).all()
    assert (got["asset"] == got["instrument"].str.split("[-_]").str[0]).all()
    assert (got["date"] == got["timestamp"].dt.strftime("%Y-%m-%d")).all()
    assert (
        len(read_back(out / "chain")) == market.chain.num_rows and len(read_back(out / "spot")) == market.spot.num_rows
    )
    assert pq.read_table(out / "initial.parquet").equals(market.initial)


def test_streamed_parquet_equals_one_shot(market, tmp_path):
    chunks = fg.simulate_chunks(days=2, assets=("BTC", "SOL"), seed=2, trades_per_day=800, chunk_hours=7)
    streamed = read_back(write_parquet(chunks, tmp_path / "s") / "trades").sort_values("trade_id", ignore_index=True)
    whole = read_back(market.to_parquet(tmp_path / "w") / "trades").sort_values("trade_id", ignore_index=True)
    pd.testing.assert_frame_equal(streamed, whole)


def test_tardis_csv_files_in_venue_units(market, tmp_path):
    out = market.to_tardis_csv(tmp_path / "t")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "deribit_options_chain_2024-11-25_OPTIONS.csv.gz",
        "deribit_options_chain_2024-11-26_OPTIONS.csv.gz",
        "deribit_options_chain_2024-11-27_OPTIONS.csv.gz",  # the closing snapshot at the end
        "deribit_trades_2024-11-25_OPTIONS.csv.gz",
        "deribit_trades_2024-11-26_OPTIONS.csv.gz",
    ]
    with gzip.open(out / "deribit_trades_2024-11-25_OPTIONS.csv.gz", "rt") as f:
        assert f.readline().strip() == TARDIS_TRADES
    with gzip.open(out / "deribit_options_chain_2024-11-25_OPTIONS.csv.gz", "rt") as f:
        assert f.readline().strip() == TARDIS_CHAIN
    trades = pa.concat_tables(
        [pacsv.read_csv(p) for p in sorted(out.glob("deribit_trades_*.csv.gz"))], promote_options="permissive"
    ).to_pandas()
    want = market.trades.to_pandas()
    assert len(trades) == len(want)
    assert (trades["timestamp"].to_numpy() == want["timestamp"].astype("int64").to_numpy() // 1000).all()
    mult = np.where(want["instrument"].astype(str).str.startswith("SOL"), 10.0, 1.0)
    np.testing.assert_allclose(trades["amount"], want["amount"] * mult, rtol=1e-12)
    assert (trades["side"] == want["side"].astype(str)).all() and (trades["price"] >= 0).all()
    assert (trades["price"] > 0).mean() > 0.9
    chain = pacsv.read_csv(out / "deribit_options_chain_2024-11-25_OPTIONS.csv.gz").to_pandas()
    first = market.chain.to_pandas()
    first = first[first.timestamp < pd.Timestamp("2024-11-26T00:00Z")]
    assert len(chain) == len(first)
    np.testing.assert_allclose(chain["mark_iv"], np.round(first["mark_iv"] * 100, 4))
    assert set(chain["type"]) == {"call", "put"}
    expiry = [fg.parse_instrument(s).expiry for s in chain["symbol"][:50]]
    assert [pd.Timestamp(e).value // 1000 for e in expiry] == chain["expiration"][:50].tolist()
