"""Inputs that used to raise foreign exceptions (ArrowInvalid, KeyError,
RecursionError, UnicodeEncodeError, OverflowError) now give a FlowgexError
naming the problem, or a row the engine counts; the command line exits 2 with
one line for a user's bad file."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import flowgex as fg
from flowgex.cli import main
from flowgex.schema import canonical_trades

T = pd.Timestamp("2024-12-01T00:00:00Z")
NAME = "BTC-27DEC24-100000-C"
SPOT = pd.DataFrame({"timestamp": [T - pd.Timedelta("1min")], "asset": ["BTC"], "price": [96_000.0]})
TRADE = {"timestamp": 1733011200000, "instrument_name": NAME, "direction": "buy", "amount": 1.0}


def test_a_stray_string_in_a_numeric_pandas_column_names_the_column():
    df = pd.DataFrame({"timestamp": [T, T], "instrument": [NAME] * 2, "side": ["buy", "sell"], "amount": [1.0, "x"]})
    with pytest.raises(fg.SchemaError, match=r"column 'amount' .*mixed value types \['float', 'str'\]"):
        canonical_trades(df)
    with pytest.raises(fg.FlowgexError, match="amount"):
        fg.flow_gex(df, spot=SPOT, missing_vol=0.5)


def test_duplicate_column_names_are_a_schema_error():
    df = pd.DataFrame([[T, NAME, "buy", 1.0, 2.0]], columns=["timestamp", "instrument", "side", "amount", "amount"])
    with pytest.raises(fg.SchemaError, match=r"duplicate column name\(s\) \['amount'\]"):
        fg.flow_gex(df)
    table = pa.Table.from_arrays(
        [pa.array([T]), pa.array([NAME]), pa.array(["buy"]), pa.array([1.0]), pa.array(["buy"])],
        names=["timestamp", "instrument", "side", "amount", "side"],
    )
    with pytest.raises(fg.SchemaError, match=r"duplicate column name\(s\) \['side'\]"):
        fg.flow_gex(table)


def test_timestamp_strings_beyond_2262_are_a_schema_error():
    df = pd.DataFrame({"timestamp": ["3000-01-01"], "instrument": [NAME], "side": ["buy"], "amount": [1.0]})
    with pytest.raises(fg.SchemaError, match="out of the ns range"):
        canonical_trades(df)


@pytest.mark.parametrize("reader", [fg.read_deribit_trades, fg.read_deribit_tickers, fg.read_deribit_messages])
def test_deeply_nested_json_is_a_read_error(reader, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    path.write_text(deep)
    with pytest.raises(fg.ReadError, match="nested too deeply"):
        reader(path)
    with pytest.raises(fg.ReadError, match="nested too deeply"):
        reader(deep)


def test_a_lone_surrogate_in_a_name_is_a_counted_bad_row(tmp_path):
    path = tmp_path / "t.json"
    rows = [{**TRADE, "instrument_name": "BTC-\ud800", "trade_id": "1"}, {**TRADE, "trade_id": "2"}]
    path.write_text(json.dumps(rows))
    t = fg.read_deribit_trades(path)
    assert t.column("instrument").to_pylist() == ["BTC-\\ud800", NAME]  # escaped, visible, not lost
    res = fg.flow_gex(t, spot=SPOT, missing_vol=0.5, errors="quarantine")
    assert res.diagnostics.rejected == {"unparseable_instrument": 1}
    assert res.inventory(at="last").inventory.tolist() == [-1.0]


def test_a_20_digit_tardis_timestamp_is_a_counted_bad_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        f"deribit,{NAME},12345678901234567890,1733011200000000,1,buy,0.1,1\n"
        f"deribit,{NAME},1733011200000000,1733011200000000,2,buy,0.1,1\n"
    )
    t = fg.read_tardis_trades(path)
    assert t.column("timestamp").to_pylist()[0] is None
    res = fg.flow_gex(t, spot=SPOT, missing_vol=0.5, errors="quarantine")
    assert res.diagnostics.rejected == {"bad_timestamp": 1}


def test_a_trade_without_a_timestamp_is_a_counted_bad_row():
    t = fg.read_deribit_trades([{k: v for k, v in TRADE.items() if k != "timestamp"} | {"trade_id": "1"},
                                TRADE | {"trade_id": "2"}])  # fmt: skip
    res = fg.flow_gex(t, spot=SPOT, missing_vol=0.5, errors="quarantine")
    assert res.diagnostics.rejected == {"bad_timestamp": 1}
    df = pd.DataFrame({"timestamp": [None], "instrument": [NAME], "side": ["buy"], "amount": [1.0]})
    assert canonical_trades(df).column("timestamp").type == pa.timestamp("ns", tz="UTC")


def test_cboe_cells_that_are_not_numbers_become_nan(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "NASDAQ 100,Last: 14694.35\n"
        '"Date: February 5 2022, 8:26 PM EST",Bid: 0\n'
        "Expiration Date,Calls,IV,Gamma,Open Interest,Strike,Puts,IV,Gamma,Open Interest\n"
        "Fri Feb 18 2022,NDX220218C14000000,oops,0.001,5,14000,NDX220218P14000000,0.25,0.001,7\n"
    )
    chain = fg.read_cboe_quotedata(path).chain.to_pandas()
    assert chain.mark_iv.isna().tolist() == [True, False] and chain.open_interest.tolist() == [5.0, 7.0]


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("deep.json", "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("noise.json", "\x00\xff garbage", "not valid JSON"),
        ("noise.parquet", "not a parquet file", "cannot read the trades file"),
        ("book.jsonl", json.dumps({"method": "subscription", "params": {"channel": "book.X", "data": {}}}), "book"),
        ("noise.csv.gz", "\x1f\x8bnot gzip", "Error: "),
    ],
)
def test_cli_bad_files_exit_2_with_one_line(runner, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1"))
    result = runner.invoke(main, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert "internal error" not in result.output


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(min_value=-(2**64), max_value=2**64), st.none()), max_size=20),
       st.sampled_from(["s", "ms", "us", "ns"]))  # fmt: skip
def test_epochs_across_the_whole_int64_range_are_a_timestamp_or_null(values, unit):
    from flowgex.io._convert import epoch_timestamps

    scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    text = pa.array([None if v is None else str(v) for v in values], pa.string())
    got = epoch_timestamps(text, unit).cast(pa.int64()).to_pylist()
    # The same values one by one: a value's fate never depends on its neighbours.
    alone = [epoch_timestamps(pa.array([t], pa.string()), unit).cast(pa.int64())[0].as_py() for t in text.to_pylist()]
    assert alone == got
    for v, g in zip(values, got, strict=True):
        fits = v is not None and abs(v * scale) <= 2**63 - 1
        assert g == (v * scale if fits else None)  # Python's exact integers are the oracle


def test_a_gzip_capture_with_local_timestamps_reads_like_the_plain_one(shared_data, tmp_path):
    import gzip

    plain = shared_data / "venue_samples" / "deribit_ws_trades.jsonl"
    lines = [line for line in plain.read_text().splitlines() if line.strip()]
    packed = tmp_path / "capture.jsonl.gz"
    packed.write_bytes(
        gzip.compress("".join(f"2020-03-01T00:00:0{i}.1234567Z {x}\n" for i, x in enumerate(lines)).encode())
    )
    a = fg.read_deribit_messages(plain)
    b = fg.read_deribit_messages(packed)
    assert a.trades.drop_columns(["source_file"]).equals(b.trades.drop_columns(["source_file"]))
    assert a.channels == b.channels == {}
