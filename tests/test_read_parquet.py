"""Parquet files and hive-partitioned datasets (filters pushed down: a corrupt
file in a pruned partition is never opened), and Arrow stream objects."""

from __future__ import annotations

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import flowgex as fg
from compare import assert_identical
from venue_files import T0, asset_of, canonical, market


def write_dataset(root, rows) -> pd.DataFrame:
    frame = canonical(rows).assign(block_trade=[i % 5 == 0 for i in range(len(rows))])
    for (asset, date), part in frame.groupby([frame.instrument.map(asset_of), frame.timestamp.dt.date.astype(str)]):
        target = root / f"asset={asset}" / f"date={date}"
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), target / "part-0.parquet")
    return frame


def test_hive_dataset_with_filters_pushed_down(tmp_path):
    rows = market(120, seed=8, minutes=30)  # 2.5 days
    frame = write_dataset(tmp_path / "ds", rows)
    (tmp_path / "ds" / "asset=ETH" / "date=2024-12-01" / "broken.parquet").write_bytes(b"not parquet at all")
    btc = fg.read_parquet(tmp_path / "ds", filters=[("asset", "=", "BTC"), ("date", ">=", "2024-12-02")])
    want = frame[(frame.instrument.map(asset_of) == "BTC") & (frame.timestamp >= pd.Timestamp("2024-12-02", tz="UTC"))]
    assert sorted(btc.column("trade_id").to_pylist()) == sorted(want.trade_id)
    assert set(btc.column("asset").to_pylist()) == {"BTC"}  # partition keys become columns
    expr = fg.read_parquet(tmp_path / "ds", filters=(ds.field("asset") == "SOL"))
    assert set(expr.column("instrument").to_pylist()) == {"SOL_USDC-27DEC24-240-P"}
    with pytest.raises(fg.ReadError, match="broken.parquet"):
        fg.read_parquet(tmp_path / "ds")  # without the filter the corrupt file is read, and named


def test_files_lists_and_globs_and_the_engine(tmp_path):
    rows = market(60, seed=9)
    frame = write_dataset(tmp_path / "ds", rows)
    files = sorted((tmp_path / "ds").rglob("*.parquet"))
    by_list = fg.read_parquet(files)
    by_glob = fg.read_parquet(str(tmp_path / "ds" / "*" / "*" / "*.parquet"))
    assert by_list.num_rows == by_glob.num_rows == len(frame)
    direct = fg.flow_gex(frame.sort_values("timestamp"))
    assert_identical(fg.flow_gex(by_list), direct)
    one = fg.read_parquet(files[0])
    assert one.num_rows == pq.read_metadata(files[0]).num_rows
    left = fg.read_parquet(tmp_path / "ds", block_trades=False)
    assert fg.excluded_counts(left) == {"block_trade": int(frame.block_trade.sum())}
    assert left.num_rows == len(frame) - int(frame.block_trade.sum())


def test_chain_and_spot_kinds(tmp_path):
    chain = pd.DataFrame({"timestamp": [T0], "instrument": ["BTC-27DEC24-100000-C"], "mark_iv": [0.5]})
    pq.write_table(pa.Table.from_pandas(chain), tmp_path / "chain.parquet")
    spot = pd.DataFrame({"timestamp": [T0], "asset": ["BTC"], "price": [96_000]})
    pq.write_table(pa.Table.from_pandas(spot), tmp_path / "spot.parquet")
    assert fg.read_parquet(tmp_path / "chain.parquet", kind="chain").column("mark_iv").to_pylist() == [0.5]
    got = fg.read_parquet(tmp_path / "spot.parquet", kind="spot")
    assert got.column("price").type == pa.float64() and got.column("price").to_pylist() == [96_000.0]
    with pytest.raises(fg.OptionError, match="kind"):
        fg.read_parquet(tmp_path / "spot.parquet", kind="quotes")
    with pytest.raises(fg.OptionError, match="filters"):
        fg.read_parquet(tmp_path / "spot.parquet", filters="asset == BTC")


def test_arrow_stream_objects():
    frame = canonical(market(30, seed=10))
    base = fg.read_arrow(frame)
    for obj in (pl.from_pandas(frame), duckdb.from_df(frame), pa.Table.from_pandas(frame).to_reader()):
        got = fg.read_arrow(obj)
        assert got.column("trade_id").to_pylist() == base.column("trade_id").to_pylist()
        assert got.column("amount").to_pylist() == base.column("amount").to_pylist()
    with pytest.raises(fg.SchemaError, match="read_parquet"):
        fg.read_arrow("trades.parquet")
