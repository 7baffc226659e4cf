"""Every supported input kind gives the same result: pandas, pyarrow (plain and
dictionary-encoded, any timestamp unit), polars and duckdb via __arrow_c_stream__,
and the four-column (asset, expiry, strike, kind) form instead of names."""

from __future__ import annotations

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import flowgex as fg
from compare import assert_identical

T0 = pd.Timestamp("2024-12-01T00:00:00Z")


@pytest.fixture
def trades() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [T0 + pd.Timedelta(minutes=m) for m in (1, 4, 13, 29, 29, 44)],
            "instrument": [
                "BTC-27DEC24-100000-C",
                "btc-27dec24-100000-c",
                "ETH-27DEC24-4000-P",
                "XRP_USDC-27DEC24-2d5-C",
                "BTC-27DEC24-100000-C",
                "ETH-27DEC24-4000-P",
            ],
            "side": ["buy", "SELL", "sell", "buy", "buy", "Buy"],
            "amount": [1.0, 0.5, 3.0, 100.0, 2.0, 1.5],
            "index_price": [96_000.0, 96_010.0, 3_600.0, 2.4, 96_050.0, 3_610.0],
            "iv": [0.6, 0.61, 0.7, 0.9, None, 0.72],
            "trade_id": ["a", "b", "c", "d", "e", "f"],
        }
    )


def test_pyarrow_and_dictionary_columns(trades):
    base = fg.flow_gex(trades)
    table = pa.Table.from_pandas(trades, preserve_index=False)
    assert_identical(fg.flow_gex(table), base)
    enc = table.set_column(1, "instrument", pc.dictionary_encode(table["instrument"]))
    enc = enc.set_column(2, "side", pc.dictionary_encode(enc["side"]))
    assert_identical(fg.flow_gex(enc), base)
    chunked = pa.concat_tables([enc.slice(0, 3), enc.slice(3)])
    assert chunked["instrument"].num_chunks == 2
    assert_identical(fg.flow_gex(chunked), base)
    assert_identical(fg.flow_gex(table.to_batches()[0]), base)


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_any_timestamp_unit(trades, unit):
    table = pa.Table.from_pandas(trades, preserve_index=False)
    coarse = table.set_column(0, "timestamp", table["timestamp"].cast(pa.timestamp(unit, tz="UTC")))
    naive = coarse.set_column(0, "timestamp", coarse["timestamp"].cast(pa.timestamp(unit)))
    assert_identical(fg.flow_gex(coarse), fg.flow_gex(naive))
    assert_identical(fg.flow_gex(coarse), fg.flow_gex(trades))


def test_polars_and_duckdb(trades):
    base = fg.flow_gex(trades)
    frame = pl.from_pandas(trades).with_columns(pl.col("instrument").cast(pl.Categorical))
    assert_identical(fg.flow_gex(frame), base)
    rel = duckdb.from_arrow(pa.Table.from_pandas(trades, preserve_index=False))
    assert_identical(fg.flow_gex(rel), base)


def test_four_column_form_equals_names(trades):
    parsed = [fg.parse_instrument(n) for n in trades.instrument]
    parts = trades.drop(columns=["instrument"]).assign(
        asset=[p.asset for p in parsed],
        expiry=pd.to_datetime([p.expiry for p in parsed], utc=True),
        strike=[p.strike for p in parsed],
        kind=[p.kind for p in parsed],
    )
    # XRP_USDC has a quote the four columns do not carry; compare the others.
    keep = ~trades.instrument.str.upper().str.startswith("XRP")
    assert_identical(fg.flow_gex(parts[keep]), fg.flow_gex(trades[keep]))


def test_integer_sides_and_ids(trades):
    ints = trades.assign(side=[1, -1, -1, 1, 1, 1], trade_id=range(6))
    assert_identical(fg.flow_gex(ints), fg.flow_gex(trades))


def test_iso_string_timestamps(trades):
    strings = trades.assign(timestamp=trades.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    assert_identical(fg.flow_gex(strings), fg.flow_gex(trades))


def test_empty_tables_of_any_kind(trades):
    res = fg.flow_gex(trades.iloc[:0].astype({"instrument": "category"}))
    assert res.by_strike().empty and len(res.times) == 0
    assert fg.flow_gex(pa.Table.from_pandas(trades.iloc[:0], preserve_index=False)).total().empty
