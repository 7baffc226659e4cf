"""``flow_gex(path)``: trades given as a Parquet file, directory or glob are
encoded batch by batch (flowgex/_encode_dataset.py) and must give exactly what
the same trades give as one table — every frame bit for bit, diagnostics, and
the rejected rows (which are read again from the files, each naming its file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowgex as fg
from compare import assert_identical
from strategies import markets

TRADE_COLUMNS = ["timestamp", "instrument", "side", "amount", "index_price", "iv", "trade_id"]


def _opts(m, **kw):
    return {"resolution": m.resolution, "errors": "quarantine", "missing_vol": "skip", "missing_spot": "skip", **kw}


def write_files(root, table: pa.Table, cuts: list[int], row_group: int) -> list[str]:
    """``table`` cut at ``cuts`` into hive partitions ``g=00``, ``g=01``, ... (read back in that order)."""
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < table.num_rows)), table.num_rows]
    paths = []
    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        target = root / f"g={k:02d}"
        target.mkdir(parents=True)
        paths.append(str(target / "part.parquet"))
        pq.write_table(table.slice(lo, hi - lo), paths[-1], row_group_size=row_group)
    return paths


def file_of_rows(paths: list[str], table: pa.Table, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < table.num_rows)), table.num_rows]
    return [paths[int(np.searchsorted(bounds, r, side="right")) - 1] for r in range(table.num_rows)]


def assert_same_rejections(by_path: fg.GexResult, by_table: fg.GexResult, files: list[str] | None) -> None:
    assert by_path.diagnostics == by_table.diagnostics
    got, want = by_path.diagnostics.rejected_rows, by_table.diagnostics.rejected_rows
    assert set(got) == set(want)
    for name, rows in want.items():
        cols = [c for c in rows.column_names if c in TRADE_COLUMNS + ["row", "reason"]]
        assert got[name].select(cols).to_pylist() == rows.select(cols).to_pylist(), name
        if name == "trades" and files is not None:
            assert got[name].column("source_file").to_pylist() == [files[r] for r in rows.column("row").to_pylist()]


@given(
    markets(bad=True),
    st.lists(st.integers(1, 80), max_size=5),
    st.sampled_from([1, 3, 1000]),
    st.sampled_from(["all", "last"]),
    st.sampled_from([1, 2]),
)
def test_a_dataset_path_equals_the_same_trades_as_a_table(tmp_path_factory, m, cuts, row_group, keep, threads):
    root = tmp_path_factory.mktemp("ds")
    table = pa.Table.from_pandas(m.trades, preserve_index=False)
    paths = write_files(root, table, cuts, row_group)
    kw = _opts(m, keep_inventory=keep, keep_aggregates=keep, threads=threads)
    by_path = fg.flow_gex(root, m.chain, m.spot, **kw)
    by_table = fg.flow_gex(m.trades, m.chain, m.spot, **kw)
    assert_identical(by_path, by_table)
    assert_same_rejections(by_path, by_table, file_of_rows(paths, table, cuts))
    # read_parquet numbers rows the same way (its partition column included).
    assert_identical(by_path, fg.flow_gex(fg.read_parquet(root), m.chain, m.spot, **kw))


def test_string_ids_nulls_and_duplicates_across_files(tmp_path):
    t0 = pd.Timestamp("2024-12-01T00:00:00Z")
    frame = pd.DataFrame(
        {
            "timestamp": [t0 + pd.Timedelta(minutes=m) for m in (1, 2, 3, 4, 5, 6, 7, 8)],
            "instrument": ["BTC-27DEC24-100000-C", "ETH-27DEC24-3500-P", None, "BTC-27DEC24-100000-C",
                           "BTC-27DEC24-90000-P", "ETH-27DEC24-3500-P", "BTC-27DEC24-100000-C", "garbage"],
            "side": ["buy", "sell", "buy", "buy", "sell", None, "sell", "buy"],
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "index_price": [96_000.0, 3_600.0, 96_000.0, 96_100.0, 96_200.0, 3_650.0, None, 96_300.0],
            "iv": [0.5, None, 0.5, 0.55, 0.6, 0.7, 0.5, 0.5],
            "trade_id": ["a1", "e1", "a2", "a1", None, "e2", "a3", "a4"],  # row 3 repeats a1 in another file
        }
    )  # fmt: skip
    table = pa.Table.from_pandas(frame, preserve_index=False)
    paths = write_files(tmp_path / "ds", table, [3, 5], row_group=2)
    kw = {"errors": "quarantine", "missing_spot": "skip", "missing_vol": "skip"}
    by_path = fg.flow_gex(tmp_path / "ds", **kw)
    by_table = fg.flow_gex(frame, **kw)
    assert_identical(by_path, by_table)
    assert by_path.diagnostics.duplicates == 1
    assert by_path.diagnostics.rejected == {
        "duplicate_trade_id": 1, "unparseable_instrument": 2, "unknown_side": 1
    }  # fmt: skip
    assert_same_rejections(by_path, by_table, file_of_rows(paths, table, [3, 5]))
    with pytest.raises(fg.BadRowsError, match=r"trades row 2 \(.*g=00.*part.parquet\): unparseable_instrument"):
        fg.flow_gex(tmp_path / "ds", missing_spot="skip", missing_vol="skip")


def test_four_column_options_by_path(tmp_path):
    t0 = pd.Timestamp("2024-12-02T15:00:00Z")
    expiry = pd.Timestamp("2024-12-20T21:00:00Z")
    frame = pd.DataFrame(
        {
            "timestamp": [t0 + pd.Timedelta(minutes=7 * i) for i in range(6)],
            "asset": ["SPX", "SPX", "NDX", "SPX", None, "NDX"],
            "expiry": [expiry] * 6,
            "strike": [6000.0, 6050.0, 21000.0, 6000.0, 6000.0, 21000.0],
            "kind": ["C", "P", "C", "C", "P", "P"],
            "side": ["buy", "sell", "buy", "sell", "buy", "buy"],
            "amount": [10.0, 5.0, 2.0, 3.0, 1.0, 4.0],
            "index_price": [6010.0, 6011.0, 21050.0, 6012.0, 6013.0, 21060.0],
            "iv": [0.15, 0.16, 0.18, 0.15, 0.2, 0.19],
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_files(tmp_path / "ds", table, [2, 4], row_group=1)
    kw = {"errors": "quarantine", "multipliers": {"SPX": 100, "NDX": 100}}
    by_path = fg.flow_gex(tmp_path / "ds", **kw)
    by_table = fg.flow_gex(frame, **kw)
    assert_identical(by_path, by_table)
    assert by_path.diagnostics.rejected == {"unparseable_instrument": 1}
    assert_same_rejections(by_path, by_table, None)


def test_chain_and_spot_by_path_and_one_file(tmp_path):
    m_trades = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-12-01T00:01Z", "2024-12-01T00:25Z", "2024-12-01T00:44Z"], utc=True),
            "instrument": ["BTC-27DEC24-100000-C", "BTC-27DEC24-90000-P", "ETH-27DEC24-3500-C"],
            "side": ["buy", "sell", "sell"],
            "amount": [1.5, 2.0, 10.0],
            "iv": [None, 0.6, None],
        }
    )
    chain = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-12-01T00:00Z", "2024-12-01T00:30Z"], utc=True),
            "instrument": ["BTC-27DEC24-100000-C", "ETH-27DEC24-3500-C"],
            "mark_iv": [0.55, 0.7],
        }
    )
    spot = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-12-01T00:00Z", "2024-12-01T00:00Z"], utc=True),
            "asset": ["BTC", "ETH"],
            "price": [96_000.0, 3_600.0],
        }
    )
    for name, frame in (("trades", m_trades), ("chain", chain), ("spot", spot)):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / f"{name}.parquet")
    by_path = fg.flow_gex(tmp_path / "trades.parquet", str(tmp_path / "chain.parquet"), tmp_path / "spot.parquet")
    by_table = fg.flow_gex(m_trades, chain, spot)
    assert_identical(by_path, by_table)
    assert by_path.total()["gex"].abs().sum() > 0
    ref = fg.flow_gex(tmp_path / "trades.parquet", tmp_path / "chain.parquet", spot, engine="reference")
    assert_identical(ref, fg.flow_gex(m_trades, chain, spot, engine="reference"))
    # The streaming engine takes paths too: two files fed in time order equal one call.
    pq.write_table(pa.Table.from_pandas(m_trades.iloc[:1], preserve_index=False), tmp_path / "a.parquet")
    pq.write_table(pa.Table.from_pandas(m_trades.iloc[1:], preserve_index=False), tmp_path / "b.parquet")
    eng = fg.Engine().update(tmp_path / "a.parquet", chain.iloc[:1], spot)
    eng.update(tmp_path / "b.parquet", chain.iloc[1:])
    assert_identical(eng.finish(), by_table)


def test_real_deribit_chain_by_path_with_trades_by_path(shared_data, tmp_path):
    """Deribit's own BTC ticker dump (vol and underlying per option) as a Parquet
    chain, with trades on its options spread over hourly files."""
    chain = fg.read_deribit_tickers(shared_data / "deribit_ticker_2020" / "btc_options_data_2020-05-14.csv")
    names = sorted(n for n in set(chain.column("instrument").to_pylist()) if "-14MAY20-" not in n)
    rng = np.random.default_rng(5)
    n = 600
    t0 = pd.Timestamp("2020-05-14T05:45:00Z")
    trades = pd.DataFrame(
        {
            "timestamp": [t0 + pd.Timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 6 * 3600, n))],
            "instrument": rng.choice(names, n),
            "side": rng.choice(["buy", "sell"], n),
            "amount": rng.integers(1, 50, n) / 10.0,
            "trade_id": rng.permutation(n).astype(np.int64),  # not increasing: the hash de-duplication
        }
    )
    table = pa.Table.from_pandas(trades, preserve_index=False)
    cuts = list(np.searchsorted(trades["timestamp"], [t0 + pd.Timedelta(hours=h) for h in range(1, 6)]))
    write_files(tmp_path / "ds", table, cuts, row_group=37)
    pq.write_table(chain, tmp_path / "chain.parquet")
    by_path = fg.flow_gex(tmp_path / "ds", tmp_path / "chain.parquet", threads=2)
    by_table = fg.flow_gex(trades, chain, threads=2)
    assert_identical(by_path, by_table)
    assert by_path.diagnostics.trades_used == n
    assert by_path.diagnostics.vol_source["chain"] > 0
    assert by_path.total()["gex"].abs().sum() > 0


def test_a_missing_or_broken_path_is_a_clear_error(tmp_path):
    with pytest.raises(fg.ReadError, match="nowhere"):
        fg.flow_gex(tmp_path / "nowhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.parquet").write_bytes(b"not parquet")
    with pytest.raises(fg.ReadError, match="x.parquet"):
        fg.flow_gex(tmp_path / "bad")
    # A broken file after a good one (the schema comes from the first file).
    good = pa.table({"timestamp": pa.array([0], pa.timestamp("ns", "UTC")), "instrument": ["BTC-27DEC24-100000-C"],
                     "side": ["buy"], "amount": [1.0]})  # fmt: skip
    write_files(tmp_path / "mixed", good, [], row_group=1)
    (tmp_path / "mixed" / "g=01").mkdir()
    (tmp_path / "mixed" / "g=01" / "y.parquet").write_bytes(b"PAR1 torn")
    with pytest.raises(fg.ReadError, match="y.parquet"):
        fg.flow_gex(tmp_path / "mixed")
