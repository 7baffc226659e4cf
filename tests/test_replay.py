"""Streaming replay: from Parquet datasets, Tardis globs (with a chain) and
Deribit JSON lists, in any chunk size, the output on disk equals the one-shot
engine on the same rows; finished replays return at once; checkpoints refuse
other inputs; a crash at any step resumes to the same files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import flowgex as fg
import flowgex.replaying.run as replay_module
from replay_compare import assert_replay_equals, assert_same_output, output_files
from test_read_parquet import write_dataset
from venue_files import (
    T0,
    canonical,
    chain_rows,
    deribit_trade,
    market,
    ms_rows,
    response,
    write_json,
    write_tardis_chain,
    write_tardis_trades,
)


def deribit_pages(tmp_path, n=90, per=25):
    rows = ms_rows(market(n, seed=21, minutes=11))
    return [
        write_json(tmp_path / "pages" / f"page-{i:03d}.json", response([deribit_trade(r) for r in rows[s : s + per]]))
        for i, s in enumerate(range(0, n, per))
    ]


def test_parquet_dataset_replay_equals_one_shot(tmp_path):
    write_dataset(tmp_path / "ds", market(150, seed=20, minutes=23))  # asset=.../date=...: overlapping files
    s = fg.replay(tmp_path / "ds", out=tmp_path / "out", chunk_rows=17, inventory=True, progress=False)
    one_shot = fg.flow_gex(fg.read_parquet(tmp_path / "ds"))
    assert_replay_equals(s.out, one_shot)
    assert s.diagnostics.as_dict() == one_shot.diagnostics.as_dict()
    assert s.rows["trades"] == 150 and s.chunks == 9 and not s.resumed
    parts = [p for p in output_files(s.out) if p.startswith("total/")]
    assert {p.split("/")[1] for p in parts} == {"asset=BTC", "asset=ETH", "asset=SOL"}
    assert {p.split("/")[2] for p in parts} == {"date=2024-12-01", "date=2024-12-02", "date=2024-12-03"}


def test_tardis_glob_with_chain_equals_one_shot(tmp_path):
    rows = market(120, seed=22, minutes=13)
    names = sorted({r["name"] for r in rows})
    for d, start in enumerate(range(0, 120, 40)):
        write_tardis_trades(
            tmp_path / "trades" / f"deribit_trades_2024-12-0{d + 1}_OPTIONS.csv.gz", rows[start : start + 40]
        )
    chain = chain_rows([T0 - pd.Timedelta("1min") + pd.Timedelta(hours=2 * h) for h in range(14)], names)
    write_tardis_chain(tmp_path / "chain" / "a.csv.gz", chain[: len(chain) // 2])
    write_tardis_chain(tmp_path / "chain" / "b.csv.gz", chain[len(chain) // 2 :])
    glob, chain_glob = str(tmp_path / "trades" / "*.csv.gz"), str(tmp_path / "chain" / "*.csv.gz")
    s = fg.replay(glob, chain=chain_glob, out=tmp_path / "out", chunk_rows=11, inventory=True, progress=False)
    one_shot = fg.flow_gex(fg.read_tardis_trades(glob), fg.read_tardis_chain(chain_glob))
    assert_replay_equals(s.out, one_shot)
    assert s.diagnostics.as_dict() == one_shot.diagnostics.as_dict()
    assert s.rows == {"trades": 120, "chain": len(chain), "spot": 0}


def test_deribit_json_list_in_any_order_and_chunk_size(tmp_path):
    pages = deribit_pages(tmp_path)
    one_shot = fg.flow_gex(fg.read_deribit_trades(pages))
    a = fg.replay(pages, out=tmp_path / "a", chunk_rows=7, inventory=True, progress=False)
    b = fg.replay(pages[::-1], out=tmp_path / "b", chunk_rows=10**6, inventory=True, progress=False)
    assert_replay_equals(a.out, one_shot)
    assert_replay_equals(b.out, one_shot)  # files are merged by time, whatever the list order
    assert b.chunks == 1 and a.chunks == 13


def test_arrow_stream_and_spot_sources(tmp_path):
    frame = canonical(market(60, seed=23)).drop(columns=["index_price"])
    spot = pd.DataFrame(
        {
            "timestamp": [T0 - pd.Timedelta("1min")] * 4,
            "asset": ["BTC", "ETH", "SOL", "XRP"],
            "price": [96_000.0, 3_600.0, 230.0, 2.4],
        }
    )
    reader = pa.Table.from_pandas(frame, preserve_index=False).to_reader(max_chunksize=9)
    s = fg.replay(reader, spot=spot, out=tmp_path / "out", chunk_rows=5, inventory=True, progress=False)
    assert_replay_equals(s.out, fg.flow_gex(frame, spot=spot))
    assert not (tmp_path / "out" / "_replay").exists()  # a one-shot stream has no checkpoint
    with pytest.raises(fg.OptionError, match="cannot be re-read"):
        fg.replay(frame, out=tmp_path / "o2", checkpoint=tmp_path / "ck", progress=False)


def test_filters_and_exclusions(tmp_path):
    rows = market(100, seed=24, minutes=17)
    frame = write_dataset(tmp_path / "ds", rows)
    s = fg.replay(tmp_path / "ds", out=tmp_path / "out", filters=[("asset", "=", "BTC")], block_trades=False,
                  chunk_rows=9, progress=False)  # fmt: skip
    btc = frame[frame.instrument.str.startswith("BTC")].sort_values("timestamp")
    kept = btc[~btc.block_trade]
    assert_replay_equals(s.out, fg.flow_gex(kept), inventory=False)
    d = s.diagnostics
    assert d.excluded == {"block_trade": int(btc.block_trade.sum())} and d.trades_read == len(btc)
    assert d.trades_used == len(kept)
    chain = pd.DataFrame({"timestamp": [T0], "instrument": ["BTC-27DEC24-100000-C"], "mark_iv": [0.5]})
    chain.to_parquet(tmp_path / "chain.parquet")
    only_btc = [("asset", "=", "BTC")]  # the chain file has no asset column to filter on
    with pytest.raises(fg.OptionError, match="filters for the chain input"):
        fg.replay(tmp_path / "ds", chain=tmp_path / "chain.parquet", out=tmp_path / "o2", filters=only_btc)


def test_a_finished_replay_returns_at_once_and_checkpoints_are_not_mixed(tmp_path):
    pages = deribit_pages(tmp_path)
    first = fg.replay(pages, out=tmp_path / "out", chunk_rows=20, progress=False)
    stamps = {k: p.stat().st_mtime_ns for k, p in output_files(first.out).items()}
    again = fg.replay(pages, out=tmp_path / "out", chunk_rows=20, progress=False)
    assert again.resumed and again.chunks == first.chunks and again.diagnostics.as_dict() == first.diagnostics.as_dict()
    assert {k: p.stat().st_mtime_ns for k, p in output_files(first.out).items()} == stamps
    with pytest.raises(fg.OptionError, match="other inputs or options"):
        fg.replay(pages, out=tmp_path / "out", resolution="5min", progress=False)
    with pytest.raises(fg.OptionError, match="other inputs or options"):
        fg.replay(pages[:2], out=tmp_path / "out", progress=False)
    with pytest.raises(fg.OptionError, match="holds another replay"):
        fg.replay(pages, out=tmp_path / "out", checkpoint=False, progress=False)
    fresh = fg.replay(pages, out=tmp_path / "out", resolution="5min", overwrite=True, progress=False)
    assert not fresh.resumed
    assert_replay_equals(fresh.out, fg.flow_gex(fg.read_deribit_trades(pages), resolution="5min"), inventory=False)


@pytest.mark.parametrize("where", ["before_parts", "after_parts", "final"])
def test_a_crash_at_any_step_resumes_to_the_same_files(tmp_path, monkeypatch, where):
    pages = deribit_pages(tmp_path)
    clean = fg.replay(pages, out=tmp_path / "clean", chunk_rows=8, inventory=True, progress=False)
    calls = {"n": 0}
    real_write, real_save = replay_module.write_step_tables, replay_module.ckpt.save

    def write(*args, **kw):
        calls["n"] += 1
        if where == "before_parts" and calls["n"] == 4:
            raise KeyboardInterrupt("crash")
        return real_write(*args, **kw)

    def save(path, cp):
        if (where == "after_parts" and cp.seq == 5) or (where == "final" and cp.done):
            raise KeyboardInterrupt("crash")
        return real_save(path, cp)

    monkeypatch.setattr(replay_module, "write_step_tables", write)
    monkeypatch.setattr(replay_module.ckpt, "save", save)
    with pytest.raises(KeyboardInterrupt):
        fg.replay(pages, out=tmp_path / "crashed", chunk_rows=8, inventory=True, progress=False)
    monkeypatch.setattr(replay_module, "write_step_tables", real_write)
    monkeypatch.setattr(replay_module.ckpt, "save", real_save)
    resumed = fg.replay(pages, out=tmp_path / "crashed", chunk_rows=8, inventory=True, progress=False)
    assert resumed.resumed
    assert_same_output(tmp_path / "crashed", clean.out)
    assert resumed.diagnostics.as_dict() == clean.diagnostics.as_dict()


def test_progress_bar_and_option_errors(tmp_path, capsys):
    pages = deribit_pages(tmp_path)
    fg.replay(pages, out=tmp_path / "out", chunk_rows=30, progress=True)
    assert "replay" in capsys.readouterr().err
    with pytest.raises(fg.OptionError, match="chunk_rows"):
        fg.replay(pages, out=tmp_path / "o", chunk_rows=0)
    with pytest.raises(fg.OptionError, match="keep_inventory"):
        fg.replay(pages, out=tmp_path / "o", keep_inventory="all")
    with pytest.raises(fg.OptionError, match="unit"):
        fg.replay(pages, out=tmp_path / "o", unit="usd")
    with pytest.raises(fg.OptionError, match="table"):
        fg.read_replay(tmp_path / "out", "levels")
    with pytest.raises(fg.ReadError, match="inventory=True"):
        fg.read_replay(tmp_path / "out", "inventory")


def test_chain_from_the_real_ticker_dumps_and_ticker_json(tmp_path, shared_data):
    dump = shared_data / "deribit_ticker_2020" / "btc_options_data_2020-05-14.csv"
    chain = fg.read_deribit_tickers(dump)
    names = sorted(n for n in set(chain.column("instrument").to_pylist()) if "-14MAY20-" not in n)[:12]
    rng = np.random.default_rng(3)
    t0 = pd.Timestamp("2020-05-14T05:45:00Z")
    trades = pd.DataFrame(
        {
            "timestamp": [t0 + pd.Timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 3 * 3600, 80))],
            "instrument": rng.choice(names, 80),
            "side": rng.choice(["buy", "sell"], 80),
            "amount": rng.integers(1, 20, 80) / 10.0,
            "trade_id": [f"t{i}" for i in range(80)],
        }
    )
    trades.to_parquet(tmp_path / "trades.parquet")
    s = fg.replay(tmp_path / "trades.parquet", chain=dump, out=tmp_path / "a", chunk_rows=9, inventory=True,
                  progress=False)  # fmt: skip
    one_shot = fg.flow_gex(trades, chain)
    assert_replay_equals(s.out, one_shot)
    assert s.diagnostics.vol_source["chain"] > 0 and s.diagnostics.vol_source == one_shot.diagnostics.vol_source
    rows = chain.to_pandas()
    records = [
        {"instrument_name": str(r.instrument), "timestamp": r.timestamp.value // 10**6, "mark_iv": r.mark_iv * 100,
         "underlying_price": r.underlying_price, "open_interest": r.open_interest}
        for r in rows.itertuples()
    ]  # fmt: skip
    write_json(tmp_path / "tickers.json", {"jsonrpc": "2.0", "result": records})
    j = fg.replay(tmp_path / "trades.parquet", chain=tmp_path / "tickers.json", out=tmp_path / "b", chunk_rows=9,
                  progress=False)  # fmt: skip
    pd.testing.assert_frame_equal(
        fg.read_replay(j.out, "total"), fg.read_replay(s.out, "total"), check_exact=False, rtol=1e-12
    )


def test_replay_with_greeks_and_edge_options_equals_one_shot(tmp_path):
    """greeks= (dex/vex/cex columns in every written table) and the grid options pass through."""
    write_dataset(tmp_path / "ds", market(150, seed=20, minutes=23))
    opts = dict(greeks=("gamma", "delta", "vanna", "charm"), grid_limit=10**7, outlier_gap="10D")
    s = fg.replay(tmp_path / "ds", out=tmp_path / "out", chunk_rows=17, inventory=True, progress=False, **opts)
    one_shot = fg.flow_gex(fg.read_parquet(tmp_path / "ds"), **opts)
    assert {"dex", "vex", "cex"} <= set(one_shot.by_strike().columns)
    assert_replay_equals(s.out, one_shot)
    written = fg.read_replay(s.out, "by_strike")
    assert {"dex", "vex", "cex"} <= set(written.columns)
