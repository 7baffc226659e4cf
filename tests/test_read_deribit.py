"""Deribit API JSON readers (trades and tickers): fields and units against
hand-built records, every accepted JSON shape gives the same table, trade
classes can be left out and are counted, and the real 2020 ticker dumps read
as the chain the real-data tests build by hand."""

from __future__ import annotations

import ast
import json

import pandas as pd
import pyarrow as pa
import pytest

import flowgex as fg
from compare import assert_identical
from venue_files import T0, canonical, deribit_trade, market, ms, ms_rows, response, write_json

DATA_COLUMNS = ["timestamp", "instrument", "side", "amount", "index_price", "iv", "trade_id", "block_trade"]


def frame(t: pa.Table) -> pd.DataFrame:
    f = t.select(DATA_COLUMNS).to_pandas()
    f["instrument"] = f["instrument"].astype(str)
    return f


def test_trade_fields_and_units():
    r = ms_rows(market(3, seed=2))
    r[0] = {**r[0], "name": "BTC-27DEC24-100000-C", "amount": 1.7}
    r[1] = {**r[1], "name": "SOL_USDC-27DEC24-240-P", "amount": 20.0}
    trades = [
        deribit_trade(r[0], block_trade_id="BLOCK-1"),
        deribit_trade(r[1], combo_id="BTC-CS-27DEC24-90000_100000", trade_seq=7),
        deribit_trade(r[2], liquidation="T", iv=55.5),
    ]
    t = fg.read_deribit_trades(response(trades))
    assert [x.value for x in t.column("timestamp").to_pandas()] == [ms(x["time"]) * 10**6 for x in r]
    assert t.column("instrument").to_pylist() == [x["name"] for x in r]
    assert t.column("side").to_pylist() == [x["side"] for x in r]
    assert t.column("amount").to_pylist()[1] == 2.0  # 20 SOL = 2 contracts of 10
    assert t.column("amount").to_pylist()[0] == 1.7  # BTC: 1 coin per contract
    assert t.column("iv").to_pylist() == [r[0]["iv"] / 100, r[1]["iv"] / 100, 0.555]
    assert t.column("index_price").to_pylist() == [x["index_price"] for x in r]
    assert t.column("trade_id").to_pylist() == [x["id"] for x in r]
    assert t.column("block_trade").to_pylist() == [True, False, False]
    assert t.column("combo_leg").to_pylist() == [False, True, False]
    assert t.column("liquidation").to_pylist() == [False, False, True]
    assert t.column("trade_seq").to_pylist() == [1, 7, 1]
    assert "source_file" not in t.column_names  # in-memory objects have no file


def test_every_json_shape_reads_the_same(tmp_path):
    rows = ms_rows(market(12, seed=3))
    trades = [deribit_trade(x) for x in rows]
    pages = [response(trades[:5], True), response(trades[5:], False)]
    want = frame(fg.read_deribit_trades(pages))
    assert len(want) == 12
    write_json(tmp_path / "one.json", pages)
    write_json(tmp_path / "one.json.gz", pages)
    (tmp_path / "lines.jsonl").write_text("\n".join(json.dumps(p) for p in pages) + "\n")
    write_json(tmp_path / "p1.json", pages[0])
    write_json(tmp_path / "p2.json", pages[1])
    for source in (
        trades,
        [trades[:5], trades[5:]],
        pages[0] | {"result": {"trades": trades}},
        json.dumps(pages),
        tmp_path / "one.json",
        str(tmp_path / "one.json.gz"),
        tmp_path / "lines.jsonl",
        [tmp_path / "p1.json", tmp_path / "p2.json"],
        str(tmp_path / "p?.json"),
    ):
        pd.testing.assert_frame_equal(frame(fg.read_deribit_trades(source)), want, check_exact=True)
    lines = fg.read_deribit_trades(tmp_path / "lines.jsonl")
    assert lines.column("source_row").to_pylist() == [1] * 5 + [2] * 7  # the line of each response
    doc = fg.read_deribit_trades(tmp_path / "one.json")
    assert doc.column("source_row").to_pylist() == list(range(1, 13))  # position in the document


def test_read_trades_give_the_engine_the_direct_result(tmp_path):
    rows = ms_rows(market(50, seed=6))
    write_json(tmp_path / "a.json", response([deribit_trade(x) for x in rows]))
    assert_identical(fg.flow_gex(fg.read_deribit_trades(tmp_path / "a.json")), fg.flow_gex(canonical(rows)))


@pytest.mark.parametrize(
    ("flags", "removed"),
    [
        ({"block_trades": False}, {"block_trade": 2}),
        ({"combo_legs": False}, {"combo_leg": 1}),
        ({"liquidations": False}, {"liquidation": 2}),
        ({"block_trades": False, "liquidations": False}, {"block_trade": 2, "liquidation": 1}),
    ],
)
def test_trade_classes_can_be_left_out_and_are_counted(flags, removed):
    rows = ms_rows(market(6, seed=7))
    trades = [deribit_trade(x) for x in rows]
    trades[0]["block_trade_id"] = "B1"
    trades[1]["block_trade_id"] = "B1"
    trades[1]["liquidation"] = "M"  # a block trade and a liquidation: counted once, under the first left out
    trades[3]["combo_id"] = "C1"
    trades[5]["liquidation"] = "T"
    t = fg.read_deribit_trades(response(trades), **flags)
    assert fg.excluded_counts(t) == removed
    assert t.num_rows == 6 - sum(removed.values())
    assert fg.excluded_counts(fg.read_deribit_trades(response(trades))) == {}
    eng = fg.Engine()
    eng.update(t)
    eng.add_excluded(fg.excluded_counts(t))
    d = eng.result().diagnostics
    assert d.excluded == removed and d.trades_read == 6 and d.trades_used == t.num_rows


def ticker(name: str, ts: pd.Timestamp, **kw) -> dict:
    return {
        "instrument_name": name,
        "timestamp": ms(ts),
        "mark_iv": 61.5,
        "underlying_price": 96_100.0,
        "open_interest": 12.5,
        "index_price": 96_000.0,
        "mark_price": 0.03,
        "bid_iv": 60.0,
        "ask_iv": 63.0,
        "greeks": {"gamma": 0.00002, "delta": 0.41, "vega": 80.0},
        **kw,
    }


def test_ticker_and_book_summary_json(tmp_path):
    one = {"jsonrpc": "2.0", "result": ticker("BTC-27DEC24-100000-C", T0)}
    summary = {
        "jsonrpc": "2.0",
        "result": [
            {"instrument_name": "SOL_USDC-27DEC24-240-P", "creation_timestamp": ms(T0), "mark_iv": 80.0,
             "underlying_price": 231.0, "open_interest": 50.0},
        ],
    }  # fmt: skip
    c = fg.read_deribit_tickers([one, summary])
    assert c.column("instrument").to_pylist() == ["BTC-27DEC24-100000-C", "SOL_USDC-27DEC24-240-P"]
    assert c.column("timestamp").to_pylist() == [T0, T0]
    assert c.column("mark_iv").to_pylist() == [0.615, 0.8]
    assert c.column("open_interest").to_pylist() == [12.5, 5.0]  # SOL: 50 / 10 per contract
    assert c.column("gamma").to_pylist() == [0.00002, None] and c.column("delta").to_pylist() == [0.41, None]
    assert c.column("bid_iv").to_pylist()[0] == 0.6
    (tmp_path / "t.jsonl").write_text(json.dumps(one) + "\n" + json.dumps(summary) + "\n")
    from_file = fg.read_deribit_tickers(tmp_path / "t.jsonl")
    assert from_file.column("source_row").to_pylist() == [1, 2]
    assert from_file.drop_columns(["source_file", "source_row"]).equals(c)


FILES = ["btc_options_data_2020-05-14.csv", "btc_options_data_2020-05-21.csv"]


@pytest.mark.parametrize("name", FILES)
def test_real_ticker_dumps_read_as_the_hand_built_chain(shared_data, name):
    path = shared_data / "deribit_ticker_2020" / name
    raw = pd.read_csv(path)
    chain = fg.read_deribit_tickers(path)
    assert chain.num_rows == len(raw) > 300
    got = chain.to_pandas()
    assert got.instrument.astype(str).tolist() == raw.instrument_name.tolist()
    assert (got.timestamp == pd.to_datetime(raw.timestamp, unit="ms", utc=True)).all()
    assert (got.mark_iv == raw.mark_iv / 100.0).all()
    assert (got.underlying_price == raw.underlying_price).all() and (got.open_interest == raw.open_interest).all()
    assert (got.gamma == [ast.literal_eval(g)["gamma"] for g in raw.greeks]).all()
    assert (got.delta == [ast.literal_eval(g)["delta"] for g in raw.greeks]).all()
    assert got.source_row.tolist() == list(range(2, len(raw) + 2))
    by_hand = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(raw.timestamp, unit="ms", utc=True),
            "instrument": raw.instrument_name,
            "mark_iv": raw.mark_iv / 100.0,
            "underlying_price": raw.underlying_price,
            "open_interest": raw.open_interest,
            "gamma": [ast.literal_eval(g)["gamma"] for g in raw.greeks],
        }
    )
    for gamma in ("model", "chain"):
        assert_identical(fg.classic_gex(chain, gamma=gamma), fg.classic_gex(by_hand, gamma=gamma))


def test_both_real_dumps_by_glob(shared_data):
    chain = fg.read_deribit_tickers(str(shared_data / "deribit_ticker_2020" / "*.csv"))
    assert chain.num_rows == 310 + 326
    assert len(set(chain.column("source_file").to_pylist())) == 2
