"""Trades handed to the core as record batches, not joined (issue 17).

A table of several record batches reaches the core as parts viewing Arrow's
buffers in place; only the replay that reads rows in time order joins them
(a copy). Whatever the batch boundaries — per column different, empty
batches, nulls in some batches only, string or integer ids, rows in time
order, asset by asset, or shuffled — the result must be the one of the same
table joined into one chunk, bit for bit, rejected rows and diagnostics
included, on one thread and two, keeping the last step or every step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowgex as fg
from compare import assert_identical
from flowgex import _encode
from flowgex.schema import canonical_trades
from strategies import markets
from test_per_asset_order import ASSETS, _by_asset, _int_ids


@pytest.fixture(autouse=True)
def every_batch_is_a_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts however short (the default joins batches under 4,096 rows on average)."""
    monkeypatch.setattr(_encode, "MIN_PART_ROWS", 1)


def _cut(table: pa.Table, cuts: list[int], *, dictionaries: bool = False) -> pa.Table:
    """The table as record batches ending at ``cuts`` (empty batches included);
    with ``dictionaries``, names and sides dictionary-encoded batch by batch,
    each batch with its own dictionary (as a Parquet dataset reads)."""
    edges = [0, *sorted(min(c, table.num_rows) for c in cuts), table.num_rows]
    pieces = [table.slice(lo, hi - lo) for lo, hi in zip(edges[:-1], edges[1:])]
    if dictionaries:
        pieces = [_dictionaries(piece) for piece in pieces]
    return pa.concat_tables(pieces)


def _dictionaries(table: pa.Table) -> pa.Table:
    for name in ("instrument", "side"):
        if pa.types.is_string(table.schema.field(name).type):
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pc.dictionary_encode(table.column(name).combine_chunks()))
    return table


def _cut_columns(table: pa.Table, data: st.DataObject) -> pa.Table:
    """Every column chunked at its own boundaries (record batches must realign them)."""
    n = table.num_rows
    cols = {}
    for name in table.column_names:
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4), label=f"cuts of {name}"))
        edges = [0, *cuts, n]
        arr = table.column(name).combine_chunks()
        cols[name] = pa.chunked_array([arr.slice(lo, hi - lo) for lo, hi in zip(edges[:-1], edges[1:])], type=arr.type)
    return pa.table(cols)


def _same(got: fg.GexResult, want: fg.GexResult) -> None:
    assert_identical(got, want)
    assert got.diagnostics == want.diagnostics
    assert got.diagnostics.rejected_rows.keys() == want.diagnostics.rejected_rows.keys()
    for name, rows in want.diagnostics.rejected_rows.items():
        assert got.diagnostics.rejected_rows[name].equals(rows)


@given(
    markets(bad=True),
    st.sampled_from(["input", "time", "asset"]),
    st.permutations(ASSETS),
    st.booleans(),
    st.booleans(),
    st.data(),
)
def test_record_batches_give_the_joined_tables_result(m, order, asset_order, int_ids, per_column, data):
    trades = m.trades
    if order == "time":
        trades = trades.sort_values("timestamp", kind="stable")
    elif order == "asset":
        trades = _by_asset(trades[trades["timestamp"].notna()], list(asset_order), False)
    if int_ids:
        trades = _int_ids(trades)
    table = canonical_trades(trades.reset_index(drop=True)).combine_chunks()
    if per_column:
        chunked = _cut_columns(table, data)
    else:
        cuts = data.draw(st.lists(st.integers(0, table.num_rows), max_size=6), label="cuts")
        chunked = _cut(table, cuts, dictionaries=data.draw(st.booleans(), label="dictionaries"))
    threads = data.draw(st.sampled_from([1, 2]), label="threads")
    keep = data.draw(st.sampled_from(["last", "all"]), label="keep")
    kw = {
        "resolution": m.resolution,
        "errors": "quarantine",
        "missing_vol": 0.45,
        "missing_spot": "skip",
        "keep_inventory": keep,
        "keep_aggregates": keep,
        "threads": threads,
    }
    want = fg.flow_gex(chunked.combine_chunks(), chain=m.chain, spot=m.spot, **kw)
    _same(fg.flow_gex(chunked, chain=m.chain, spot=m.spot, **kw), want)


def test_the_core_gets_parts_that_view_arrows_buffers():
    """No copy of the numeric columns: each part's arrays share Arrow's memory."""
    trades = fg.simulate(days=1, assets=("BTC", "ETH"), trades_per_day=500, seed=5).trades
    table = _cut(canonical_trades(trades).combine_chunks(), [100, 300, 600])
    enc = _encode.encode_trades(table, chunks=True)
    assert [len(p["ts"]) for p in enc["chunks"]] == [100, 200, 300, table.num_rows - 600]
    for part, batch in zip(enc["chunks"], table.to_batches()):
        amount = batch.column(batch.schema.get_field_index("amount"))
        assert part["amount"].ctypes.data == amount.buffers()[1].address + 8 * amount.offset
    assert "ts" not in enc and enc["names"]
    # Dictionary names (as Parquet reads them): each batch's indices in place, renumbered by a table.
    i = table.schema.get_field_index("instrument")
    dict_table = table.set_column(i, "instrument", pc.dictionary_encode(table.column("instrument")))
    enc = _encode.encode_trades(_cut(dict_table, [250]), chunks=True)
    names = np.array(enc["names"], dtype=object)
    want = table.column("instrument").to_numpy(zero_copy_only=False)
    got = np.concatenate([names[p["inst_lut"][p["inst"] + 1]] for p in enc["chunks"]])
    assert (got == want).all()
    for part, batch in zip(enc["chunks"], _cut(dict_table, [250]).to_batches()):
        indices = batch.column(i).indices
        assert part["inst"].ctypes.data == indices.buffers()[1].address + 4 * indices.offset
    # Short batches (under MIN_PART_ROWS on average) are joined as before.
    assert "chunks" not in _encode.encode_trades(table, chunks=False)


def test_strict_errors_name_the_rows_of_the_whole_table():
    """Under errors="raise" the bad rows are numbered across batches."""
    trades = fg.simulate(days=1, assets=("BTC", "ETH"), trades_per_day=300, seed=8).trades
    table = canonical_trades(trades).combine_chunks()
    amount = table.column("amount").to_numpy().copy()
    amount[[5, 250, 401]] = -1.0
    table = table.set_column(table.schema.get_field_index("amount"), "amount", pa.array(amount))
    for threads in (1, 2):
        with pytest.raises(fg.BadRowsError) as err:
            fg.flow_gex(_cut(table, [200, 400]), threads=threads, keep_inventory="last", keep_aggregates="last")
        rows = err.value.rejected["trades"]["row"].to_pylist()
        assert rows == [5, 250, 401]


def test_a_dataset_of_many_files_is_fed_as_parts(tmp_path):
    """The Parquet path (one batch per file) equals the table read whole."""
    sim = fg.simulate(days=3, assets=("BTC", "ETH"), trades_per_day=400, seed=11)
    table = canonical_trades(sim.trades)
    names = np.array(table.column("instrument").to_pylist())
    assets = np.array([n.split("-")[0] for n in names])
    days = table.column("timestamp").to_numpy().astype("datetime64[D]")
    for a in np.unique(assets):
        for d in np.unique(days):
            rows = np.flatnonzero((assets == a) & (days == d))
            where = tmp_path / f"asset={a}" / f"date={d}"
            where.mkdir(parents=True)
            pq.write_table(table.take(rows), where / "part-0.parquet")
    kw = {"keep_inventory": "last", "keep_aggregates": "last"}
    for threads in (1, 2):
        want = fg.flow_gex(fg.read_parquet(str(tmp_path)).combine_chunks(), threads=threads, **kw)
        _same(fg.flow_gex(str(tmp_path), threads=threads, **kw), want)
    assert pd.api.types.is_datetime64_any_dtype(want.total()["time"])


@pytest.mark.parametrize("how", ["code table value", "first entry", "batch code", "empty table", "short part"])
def test_a_corrupt_part_is_a_schema_error_not_a_crash(how):
    """The core checks every part it is handed: its lookup starts with null's -1,
    maps into the dictionary, covers every code of the batch, and its columns
    have one length."""
    trades = fg.simulate(days=1, assets=("BTC", "ETH"), trades_per_day=300, seed=5).trades
    table = _cut(canonical_trades(trades).combine_chunks(), [200], dictionaries=True)
    enc = _encode.encode_trades(table, chunks=True)
    part = enc["chunks"][0]
    lut = part["inst_lut"].copy()
    if how == "code table value":
        lut[1] = 10**6
    elif how == "first entry":
        lut[0] = 0
    elif how == "batch code":
        part["inst"] = part["inst"].copy()
        part["inst"][3] = len(lut) + 5
    elif how == "empty table":
        lut = lut[:0]
    else:
        part["amount"] = part["amount"][:-1]
    part["inst_lut"] = lut
    engine = fg.Engine(keep_inventory="last", keep_aggregates="last", threads=2)
    with pytest.raises(fg.errors.SchemaError):
        engine._core.update(enc, None, None, strict=True)
