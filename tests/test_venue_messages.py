"""Real Deribit message formats (tests/data/venue_samples, see PROVENANCE.md):
websocket notifications in JSON lines (with and without a capture's local
timestamp in front), markprice.options with decimal iv, a mixed capture split
into trades, chain and spot, iv 0 as "no observation", user trades' maker side
flipped, and every message kind counted. Expected values come from the raw
JSON read here with the json module, not from the readers."""

from __future__ import annotations

import ast
import csv
import json
import math

import pandas as pd
import pytest

import flowgex as fg

FLIP = {"buy": "sell", "sell": "buy"}


def samples(shared_data):
    return shared_data / "venue_samples"


@pytest.fixture
def markprice_index(data_file):
    return data_file("venue_samples/deribit_ws_markprice_index.jsonl")


def raw_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ws_trades(shared_data):
    return [t for m in raw_lines(samples(shared_data) / "deribit_ws_trades.jsonl") for t in m["params"]["data"]]


def test_websocket_trade_notifications_are_read(shared_data):
    path = samples(shared_data) / "deribit_ws_trades.jsonl"
    raw = ws_trades(shared_data)
    t = fg.read_deribit_trades(path).to_pandas()
    assert len(t) == len(raw) == 4
    assert t.trade_id.tolist() == [r["trade_id"] for r in raw]
    assert (t.timestamp == pd.to_datetime([r["timestamp"] for r in raw], unit="ms", utc=True)).all()
    assert t.side.tolist() == [r["direction"] for r in raw]  # public trades: direction is the taker's
    assert t.amount.tolist() == [float(r["amount"]) for r in raw]  # perpetuals: no option multiplier applies
    assert t.index_price.tolist() == [r["index_price"] for r in raw]
    assert t.liquidation.tolist() == ["liquidation" in r for r in raw] == [False, False, True, True]
    assert t.source_row.tolist() == [1, 1, 2, 3]  # the line of each message
    assert fg.channel_counts(fg.read_deribit_trades(path)) == {}


def test_a_local_timestamp_in_front_of_each_message_is_skipped(shared_data, tmp_path):
    path = samples(shared_data) / "deribit_ws_trades.jsonl"
    stamped = tmp_path / "capture.jsonl"
    stamps = ["2019-09-01T00:00:22.6012345Z", "2020-03-13T00:07:24.0712Z", "2020-03-13T00:07:47.7Z"]
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    stamped.write_text("".join(f"{s} {line}\n" for s, line in zip(stamps, lines, strict=True)))
    a = fg.read_deribit_trades(path).drop_columns(["source_file"])
    b = fg.read_deribit_trades(stamped).drop_columns(["source_file"])
    assert a.equals(b)


def test_markprice_iv_is_already_a_decimal(markprice_index):
    path = markprice_index
    raw = raw_lines(path)[0]["params"]["data"]
    chain = fg.read_deribit_tickers(path).to_pandas()
    assert chain.instrument.astype(str).tolist() == [r["instrument_name"] for r in raw]
    assert chain.mark_iv.tolist() == [r["iv"] for r in raw] == [0.9] * 5  # Deribit's docs: iv 0.9, not 0.009
    assert chain.mark_price.tolist() == [r["mark_price"] for r in raw]
    assert (chain.timestamp == pd.Timestamp(1622470378005, unit="ms", tz="UTC")).all()
    assert fg.channel_counts(fg.read_deribit_tickers(path)) == {"index": 1}


def ticker_from_dump_row(row: dict[str, str]) -> dict:
    """A public/ticker result rebuilt from one row of the real 2020 ticker dump."""
    return {
        "timestamp": int(row["timestamp"]),
        "instrument_name": row["instrument_name"],
        "mark_iv": float(row["mark_iv"]),
        "underlying_price": float(row["underlying_price"]),
        "open_interest": float(row["open_interest"]),
        "index_price": float(row["index_price"]),
        "greeks": ast.literal_eval(row["greeks"]),
    }


@pytest.fixture
def capture(shared_data, markprice_index, tmp_path):
    """A mixed capture: real trade notifications, Deribit's documented mark-price and index
    examples, a ticker from the real dump, and messages flowgex does not read."""
    with open(shared_data / "deribit_ticker_2020" / "btc_options_data_2020-05-14.csv", newline="") as f:
        row = next(csv.DictReader(f))
    ticker = ticker_from_dump_row(row)
    note = {"jsonrpc": "2.0", "method": "subscription"}
    lines = (samples(shared_data) / "deribit_ws_trades.jsonl").read_text().splitlines()
    lines += markprice_index.read_text().splitlines()
    lines += [
        json.dumps({**note, "params": {"channel": f"ticker.{ticker['instrument_name']}.100ms", "data": ticker}}),
        json.dumps({**note, "params": {"channel": "book.BTC-PERPETUAL.100ms", "data": {"bids": [], "asks": []}}}),
        json.dumps({"jsonrpc": "2.0", "id": 42, "result": ["trades.BTC-PERPETUAL.raw"]}),
        json.dumps({"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}),
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(line for line in lines if line.strip()) + "\n")
    return path, ticker


def test_read_deribit_messages_splits_a_capture(capture):
    path, ticker = capture
    m = fg.read_deribit_messages(path)
    assert isinstance(m, fg.DeribitMessages)
    assert m.trades.num_rows == 4 and m.chain.num_rows == 5 + 1 and m.spot.num_rows == 1
    assert m.channels == {"book": 1, "control": 2}
    spot = m.spot.to_pandas()
    assert spot.asset.tolist() == ["BTC"] and spot.price.tolist() == [3937.89]
    assert spot.timestamp.tolist() == [pd.Timestamp(1550588002899, unit="ms", tz="UTC")]
    chain = m.chain.to_pandas()
    tick = chain[chain.instrument.astype(str) == ticker["instrument_name"]].iloc[0]
    assert tick.mark_iv == ticker["mark_iv"] / 100.0 and tick.gamma == ticker["greeks"]["gamma"]
    assert tick.underlying_price == ticker["underlying_price"] and tick.open_interest == ticker["open_interest"]
    assert (chain.mark_iv == 0.9).sum() == 5


def test_single_table_readers_count_what_they_skip(capture):
    path, _ = capture
    trades = fg.read_deribit_trades(path)
    assert trades.num_rows == 4
    assert fg.channel_counts(trades) == {"book": 1, "control": 2, "index": 1, "markprice": 1, "ticker": 1}
    chain = fg.read_deribit_tickers(path)
    assert chain.num_rows == 6
    assert fg.channel_counts(chain) == {"book": 1, "control": 2, "index": 1, "trades": 3}


def test_a_capture_without_the_asked_for_messages_names_what_it_holds(tmp_path):
    path = tmp_path / "book.jsonl"
    book = {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": "book.BTC-PERPETUAL.raw", "data": {}}}
    path.write_text(json.dumps(book) + "\n" + json.dumps(book) + "\n")
    with pytest.raises(fg.SchemaError, match=r"no trades messages; recognised .*2 book.*read_deribit_messages"):
        fg.read_deribit_trades(path)
    with pytest.raises(fg.SchemaError, match=r"no ticker or markprice messages; recognised .*2 book"):
        fg.read_deribit_tickers(path)
    with pytest.raises(fg.SchemaError, match=r"no trade, ticker, mark price or index message; found 2 book"):
        fg.read_deribit_messages(path)


def test_messages_from_memory_equal_messages_from_the_file(capture):
    path, _ = capture
    values = [json.loads(line) for line in path.read_text().splitlines()]
    a, b = fg.read_deribit_messages(path), fg.read_deribit_messages(values)
    assert a.channels == b.channels
    assert a.trades.drop_columns(["source_file", "source_row"]).equals(b.trades)
    assert a.chain.drop_columns(["source_file", "source_row"]).equals(b.chain)


def test_block_trade_with_iv_zero_keeps_its_flow(shared_data):
    path = samples(shared_data) / "PrivateGetBlockTradeResponse.example.json"
    raw = json.loads(path.read_text())["result"]["trades"]
    assert raw[0]["iv"] == 0 and raw[0]["liquidity"] == "T"
    t = fg.read_deribit_trades(path)
    assert t.column("iv").to_pylist() == [None, None]  # 0 (and absent) is "no observation", not 0
    assert t.column("side").to_pylist() == [r["direction"] for r in raw]  # liquidity T: already the taker's
    option = t.filter(pa_equal(t, "instrument", raw[0]["instrument_name"]))
    res = fg.flow_gex(option, missing_vol=0.5)
    assert res.diagnostics.rejected == {}
    inv = res.inventory(at="last")
    assert inv.inventory.tolist() == [float(raw[0]["amount"])]  # the taker sold 10: dealers long 10


def pa_equal(table, column, value):
    import pyarrow.compute as pc

    return pc.equal(table.column(column).cast("string"), value)


def test_zero_iv_and_index_price_are_no_observation_but_bad_values_stay(tmp_path):
    base = {"timestamp": 1733011200000, "instrument_name": "BTC-27DEC24-100000-C", "direction": "buy",
            "amount": 1.0, "index_price": 96000.0, "iv": 55.0}  # fmt: skip
    rows = [
        {**base, "trade_id": "zero", "iv": 0, "index_price": 0},
        {**base, "trade_id": "neg", "iv": -5.0},
        {**base, "trade_id": "missing_iv"},
    ]
    del rows[2]["iv"]
    t = fg.read_deribit_trades(rows)
    assert t.column("iv").to_pylist()[0] is None and t.column("index_price").to_pylist()[0] is None
    assert t.column("iv").to_pylist()[1] == -0.05 and t.column("iv").to_pylist()[2] is None
    nan = fg.read_deribit_trades(json.dumps([{**base, "trade_id": "nan", "iv": float("nan")}]))
    assert math.isnan(nan.column("iv").to_pylist()[0])


def test_user_trades_are_turned_to_the_taker_side(shared_data):
    for name in ("PrivateGetUserTradesHistoryResponse.example.json", "PrivateGetBlockTradesResponse.example.json"):
        path = samples(shared_data) / name
        result = json.loads(path.read_text())["result"]
        raw = result["trades"] if isinstance(result, dict) else [t for r in result for t in r["trades"]]
        assert {r["liquidity"] for r in raw} == {"M"}
        t = fg.read_deribit_trades(path)
        assert t.column("side").to_pylist() == [FLIP[r["direction"]] for r in raw]
        assert t.column("liquidity").to_pylist() == ["M"] * len(raw)
    one = json.loads((samples(shared_data) / "PrivateGetUserTradesHistoryResponse.example.json").read_text())
    taker = dict(one["result"]["trades"][0], liquidity="T")
    assert fg.read_deribit_trades([taker]).column("side").to_pylist() == [taker["direction"]]


def test_unknown_multiplier_keeps_the_row_and_known_usdc_families_convert(tmp_path):
    recs = [
        {
            "timestamp": 1733011200000,
            "instrument_name": name,
            "mark_iv": 80.0,
            "underlying_price": 1.0,
            "open_interest": oi,
        }  # fmt: skip
        for name, oi in [
            ("MATIC_USDC-27DEC24-0d5-C", 3000.0),
            ("DOGE_USDC-27DEC24-0d4-C", 5.0),
            ("BTC-27DEC24-100000-C", 2.5),
            ("AVAX_USDC-27DEC24-40-P", 300.0),
        ]
    ]
    oi = fg.read_deribit_tickers({"result": recs}).column("open_interest").to_pylist()
    assert oi[0] == 3.0 and math.isnan(oi[1]) and oi[2] == 2.5 and oi[3] == 3.0
    oi = fg.read_deribit_tickers({"result": recs}, multipliers={"DOGE": 1000}).column("open_interest").to_pylist()
    assert oi[1] == 0.005


def test_multiplier_table_and_override_order():
    from flowgex.multipliers import BUILTIN_MULTIPLIERS, contract_multiplier

    assert dict(BUILTIN_MULTIPLIERS) == {
        "BTC": 1.0, "ETH": 1.0, "SOL": 10.0, "XRP": 1000.0, "SOL_USDC": 10.0, "XRP_USDC": 1000.0,
        "MATIC_USDC": 1000.0, "AVAX_USDC": 100.0, "TRX_USDC": 10000.0,
    }  # fmt: skip
    assert contract_multiplier("SOL", "USDC") == 10.0
    assert contract_multiplier("SOL", "USDC", {"SOL": 5}) == 5.0  # user ASSET beats built-in ASSET_QUOTE
    assert contract_multiplier("sol", "usdc", {"SOL": 5, "sol_usdc": 7}) == 7.0  # user ASSET_QUOTE first
    assert contract_multiplier("BTC", "USDC") == 1.0  # no built-in BTC_USDC: the built-in BTC
    assert contract_multiplier("BTC", "USDC", {"BTC_USDC": 0.01}) == 0.01
    assert contract_multiplier("PAXG", "USDC") is None and contract_multiplier("BNB", "USDC") is None
    assert contract_multiplier("TRX", "USDC") == 10000.0 and contract_multiplier("AVAX", "USDC") == 100.0
