"""Tardis.dev CSV readers: every column and unit checked against hand-built
rows, plain = gzip, one file = a list = a glob, and the engine on read tables
equals the engine on tables built directly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import flowgex as fg
from compare import assert_identical
from venue_files import (
    T0,
    canonical,
    canonical_chain,
    chain_rows,
    market,
    us,
    write_tardis_chain,
    write_tardis_trades,
)


def test_trade_columns_units_and_provenance(tmp_path):
    rows = [
        {"time": T0, "name": "BTC-27DEC24-100000-C", "side": "buy", "amount": 1.5, "id": "1"},
        {"time": T0 + pd.Timedelta("1us"), "name": "SOL_USDC-27DEC24-240-P", "side": "sell", "amount": 25.0, "id": "2"},
        {"time": T0 + pd.Timedelta("2s"), "name": "XRP_USDC-26SEP25-4D6-C", "side": "buy", "amount": 3000.0, "id": "3"},
        {"time": T0 + pd.Timedelta("3s"), "name": "ETH-27DEC24-4000-C", "side": "unknown", "amount": 0.5, "id": "4"},
    ]
    path = write_tardis_trades(tmp_path / "deribit_trades_2024-12-01_OPTIONS.csv", rows)
    t = fg.read_tardis_trades(path)
    assert t.column("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert [v.value for v in t.column("timestamp").to_pandas()] == [us(r["time"]) * 1000 for r in rows]
    assert t.column("instrument").to_pylist() == [r["name"] for r in rows]
    assert t.column("side").to_pylist() == ["buy", "sell", "buy", "unknown"]
    assert t.column("amount").to_pylist() == [1.5, 2.5, 3.0, 0.5]  # SOL 10, XRP 1000 per contract
    assert t.column("trade_id").to_pylist() == ["1", "2", "3", "4"]
    assert t.column("price").to_pylist() == [0.01] * 4
    assert t.column("source_file").to_pylist() == [str(path)] * 4
    assert t.column("source_row").to_pylist() == [2, 3, 4, 5]  # line numbers; the header is line 1
    assert pa.types.is_dictionary(t.column("instrument").type) and pa.types.is_dictionary(t.column("source_file").type)


def test_gzip_list_and_glob_read_the_same_rows(tmp_path):
    day1, day2 = market(30, seed=1), market(30, seed=2, start=T0 + pd.Timedelta("1D"))
    write_tardis_trades(tmp_path / "plain" / "trades_2024-12-01.csv", day1)
    write_tardis_trades(tmp_path / "plain" / "trades_2024-12-02.csv", day2)
    write_tardis_trades(tmp_path / "gz" / "trades_2024-12-01.csv.gz", day1)
    write_tardis_trades(tmp_path / "gz" / "trades_2024-12-02.csv.gz", day2)
    keep = ["timestamp", "instrument", "side", "amount", "trade_id", "source_row"]
    by_glob = fg.read_tardis_trades(str(tmp_path / "gz" / "trades_*.csv.gz")).select(keep)
    by_list = fg.read_tardis_trades(sorted((tmp_path / "plain").glob("*.csv"))).select(keep)
    assert by_glob.num_rows == 60
    assert by_glob.to_pandas().equals(by_list.to_pandas())
    assert by_glob.column("trade_id").to_pylist() == [r["id"] for r in day1 + day2]  # name order is date order
    one = fg.read_tardis_trades(tmp_path / "gz" / "trades_2024-12-02.csv.gz").select(keep)
    assert one.to_pandas().equals(by_glob.slice(30).to_pandas().reset_index(drop=True))


def test_chain_columns_and_units(tmp_path):
    rows = chain_rows([T0, T0 + pd.Timedelta("5min")], ["BTC-27DEC24-100000-C", "SOL_USDC-27DEC24-240-P"])
    path = write_tardis_chain(tmp_path / "options_chain.csv.gz", rows)
    c = fg.read_tardis_chain(path)
    want = canonical_chain(rows)
    got = c.select(list(want.columns)).to_pandas()
    got["instrument"] = got["instrument"].astype(str)
    # Tardis upper-cases names; the canonical name is the same instrument in any case.
    want["instrument"] = want["instrument"].str.upper()
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
    assert c.column("bid_iv").to_pylist()[0] == pytest.approx((rows[0]["mark_iv"] - 1) / 100, abs=0, rel=1e-15)
    assert c.column("bid_amount").to_pylist()[1] == rows[1]["open_interest"] / 10  # SOL amounts in contracts
    assert c.column("expiration").to_pylist()[0] == pd.Timestamp("2024-12-27T08:00Z")
    assert c.column("type").to_pylist()[:2] == ["call", "put"]
    assert c.column("source_row").to_pylist() == [2, 3, 4, 5]


def test_engine_on_read_tables_equals_engine_on_direct_tables(tmp_path):
    trades = market(80, seed=4)
    names = sorted({r["name"] for r in trades})
    chain = chain_rows([T0 - pd.Timedelta("1min") + pd.Timedelta(hours=h) for h in range(10)], names)
    write_tardis_trades(tmp_path / "t" / "a.csv.gz", trades[:40])
    write_tardis_trades(tmp_path / "t" / "b.csv.gz", trades[40:])
    write_tardis_chain(tmp_path / "chain.csv", chain)
    read = fg.read_tardis_trades(str(tmp_path / "t" / "*.csv.gz"))
    got = fg.flow_gex(read, fg.read_tardis_chain(tmp_path / "chain.csv"))
    want = fg.flow_gex(canonical(trades, with_marks=False), canonical_chain(chain))
    assert_identical(got, want)
    assert got.diagnostics.trades_used == 80 and got.diagnostics.vol_source["chain"] > 0


def test_unparseable_values_are_kept_as_bad_rows(tmp_path):
    rows = market(6, seed=5)
    rows[2] = {**rows[2], "amount": "abc"}
    rows[4] = {**rows[4], "time": "not-a-time"}
    path = write_tardis_trades(tmp_path / "t.csv", rows)
    t = fg.read_tardis_trades(path)
    assert t.num_rows == 6
    assert np.isnan(t.column("amount").to_pylist()[2]) and t.column("timestamp").to_pylist()[4] is None
    chain = canonical_chain(chain_rows([T0 - pd.Timedelta("1min")], sorted({r["name"] for r in rows})))
    res = fg.flow_gex(t, chain, errors="quarantine")
    assert res.diagnostics.rejected == {"bad_amount": 1, "bad_timestamp": 1}
    rejected = res.diagnostics.rejected_rows["trades"].to_pandas().sort_values("source_row")
    assert rejected.source_row.tolist() == [4, 6] and rejected.reason.tolist() == ["bad_amount", "bad_timestamp"]


def test_unknown_multiplier_keeps_the_row_with_a_nan_amount_and_can_be_given(tmp_path):
    rows = [
        {"time": T0, "name": "PAXG_USDC-27DEC24-2600-C", "side": "buy", "amount": 2.0, "id": "1"},
        {"time": T0, "name": "BTC-27DEC24-100000-C", "side": "buy", "amount": 3.0, "id": "2"},
    ]
    path = write_tardis_trades(tmp_path / "paxg.csv", rows)
    amount = fg.read_tardis_trades(path).column("amount").to_pylist()  # one odd option never aborts the read
    assert math.isnan(amount[0]) and amount[1] == 3.0
    assert fg.read_tardis_trades(path, multipliers={"PAXG": 0.5}).column("amount").to_pylist() == [4.0, 3.0]
    assert fg.read_tardis_trades(path, multipliers={"PAXG_USDC": 0.25}).column("amount").to_pylist() == [8.0, 3.0]


def test_header_only_file_is_zero_rows(tmp_path):
    path = write_tardis_trades(tmp_path / "quiet_day.csv", [])
    t = fg.read_tardis_trades(path)
    assert t.num_rows == 0 and {"timestamp", "instrument", "side", "amount"} <= set(t.column_names)
