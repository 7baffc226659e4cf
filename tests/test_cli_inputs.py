"""The command line reads files with the library's readers, by the library's format rules."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowgex as fg
from flowgex.cli._app import UserError
from flowgex.cli.inputs import detect_format, load_inputs, read_table

TICKERS = Path(__file__).parent / "data" / "deribit_ticker_2020" / "btc_options_data_2020-05-14.csv"


def test_a_chain_of_deribit_ticker_dumps_is_read_by_the_library_reader():
    assert detect_format(TICKERS, "chain") == "deribit"
    assert detect_format(TICKERS, "trades") == "csv"  # trades CSVs are Tardis or canonical, as for fg.replay
    assert read_table([TICKERS], "auto", "chain").equals(fg.read_deribit_tickers([str(TICKERS)]))


def test_tardis_files_are_read_by_the_library_and_parquet_stays_a_path(tmp_path):
    m = fg.simulate(days=1, assets=("BTC",), seed=2, trades_per_day=300)
    m.to_tardis_csv(tmp_path / "t")
    m.to_parquet(tmp_path / "p")
    files = sorted((tmp_path / "t").glob("deribit_trades_*"))
    got = load_inputs(files, spot=[tmp_path / "p" / "spot"])
    assert got.trades.equals(fg.read_tardis_trades([str(p) for p in files]))
    assert got.trade_files == tuple(str(p) for p in files)  # what fg.replay streams with --stream
    assert got.spot == [str(tmp_path / "p" / "spot")] and got.spot_table.num_rows == m.spot.num_rows
    folder = load_inputs([tmp_path / "p"])
    assert folder.trades == [str(tmp_path / "p" / "trades")] and folder.trade_rows == m.trades.num_rows
    assert folder.description.startswith(f"{m.trades.num_rows:,} trades from ")


def test_spot_from_json_is_refused_as_by_the_library(tmp_path):
    (tmp_path / "spot.json").write_text("[]")
    with pytest.raises(UserError, match="no spot reader for format 'deribit'"):
        read_table([tmp_path / "spot.json"], "auto", "spot")
