"""Validation with nothing lost, through the readers, from files written here.

For every bad-row kind of DESIGN section 5: with errors="quarantine" the
result on good + bad rows equals the result on the good rows alone, the row is
counted under its reason and returned with its file and line; with
errors="raise" the error names the file, the line and the reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import flowgex as fg
from compare import assert_identical
from venue_files import (
    T0,
    canonical_chain,
    chain_rows,
    deribit_trade,
    market,
    ms_rows,
    response,
    write_json,
    write_tardis_chain,
    write_tardis_trades,
)

AT = 8  # where the bad row goes (0-based position among the trades)

DERIBIT_BAD = {
    "bad_timestamp": {"timestamp": "soon"},
    "unparseable_instrument": {"instrument_name": "BTC-31FEB24-1-C"},
    "unknown_side": {"direction": "hold"},
    "bad_amount": {"amount": -2.0},
    "bad_amount_text": {"amount": "two"},
    "bad_amount_zero": {"amount": 0},
    "bad_price": {"index_price": -1.0},  # 0 is "no observation" (DESIGN section 5, second round)
    "bad_iv": {"iv": -5.0},
    "expired": {"instrument_name": "BTC-29NOV24-100000-C"},
    "duplicate_trade_id": "copy",
}


def reason_of(case: str) -> str:
    return case.removesuffix("_text").removesuffix("_zero")


def deribit_files(tmp_path, case):
    trades = [deribit_trade(r) for r in ms_rows(market(24, seed=11))]
    bad = dict(trades[3]) if DERIBIT_BAD[case] == "copy" else {**trades[5], "trade_id": "bad", **DERIBIT_BAD[case]}
    good = write_json(tmp_path / "good.json", response(trades))
    with_bad = write_json(tmp_path / "bad.json", response(trades[:AT] + [bad] + trades[AT:]))
    return good, with_bad


@pytest.mark.parametrize("case", sorted(DERIBIT_BAD))
def test_deribit_json_quarantine_equals_good_rows_alone(tmp_path, case):
    good, with_bad = deribit_files(tmp_path, case)
    res = fg.flow_gex(fg.read_deribit_trades(with_bad), errors="quarantine")
    assert_identical(res, fg.flow_gex(fg.read_deribit_trades(good)))
    d = res.diagnostics
    assert d.rejected == {reason_of(case): 1} and d.trades_read == 25 and d.trades_used == 24
    rows = d.rejected_rows["trades"]
    assert rows.column("source_file").to_pylist() == [str(with_bad)]
    assert rows.column("source_row").to_pylist() == [AT + 1]  # 1-based position in the document
    with pytest.raises(fg.BadRowsError) as info:
        fg.flow_gex(fg.read_deribit_trades(with_bad))
    assert f"trades row {AT} ({with_bad}, line {AT + 1}): {reason_of(case)}" in str(info.value)


TARDIS_BAD = {
    "bad_timestamp": {"time": "soon"},
    "unparseable_instrument": {"name": "BTC-31FEB24-1-C"},
    "unknown_side": {"side": "unknown"},
    "bad_amount": {"amount": "abc"},
    "bad_amount_zero": {"amount": "0"},
    "expired": {"name": "BTC-29NOV24-100000-C"},
    "duplicate_trade_id": "copy",
}


def tardis_setup(tmp_path, case):
    rows = market(24, seed=12)
    bad = dict(rows[3]) if TARDIS_BAD[case] == "copy" else {**rows[5], "id": "bad", **TARDIS_BAD[case]}
    names = sorted({r["name"] for r in rows})
    chain = write_tardis_chain(tmp_path / "chain.csv", chain_rows([T0 - pd.Timedelta("1min")], names))
    good = write_tardis_trades(tmp_path / "good.csv.gz", rows)
    with_bad = write_tardis_trades(tmp_path / "bad.csv.gz", rows[:AT] + [bad] + rows[AT:])
    return fg.read_tardis_chain(chain), good, with_bad


@pytest.mark.parametrize("case", sorted(TARDIS_BAD))
def test_tardis_csv_quarantine_equals_good_rows_alone(tmp_path, case):
    chain, good, with_bad = tardis_setup(tmp_path, case)
    res = fg.flow_gex(fg.read_tardis_trades(with_bad), chain, errors="quarantine")
    assert_identical(res, fg.flow_gex(fg.read_tardis_trades(good), chain))
    assert res.diagnostics.rejected == {reason_of(case): 1}
    rows = res.diagnostics.rejected_rows["trades"]
    assert rows.column("source_row").to_pylist() == [AT + 2]  # the line: header is line 1
    with pytest.raises(fg.BadRowsError, match=rf"trades row {AT} \(.*bad\.csv\.gz, line {AT + 2}\): {reason_of(case)}"):
        fg.flow_gex(fg.read_tardis_trades(with_bad), chain)


@pytest.mark.parametrize(
    ("column", "value", "reason"), [("mark_iv", -3.0, "bad_iv"), ("underlying_price", 0, "bad_price")]
)
def test_bad_chain_rows_from_tardis_files(tmp_path, column, value, reason):
    rows = market(20, seed=13)
    names = sorted({r["name"] for r in rows})
    chain = chain_rows([T0 - pd.Timedelta("1min"), T0 + pd.Timedelta("1h")], names)
    bad = {**chain[-1], column: value}
    write_tardis_chain(tmp_path / "good.csv", chain)
    write_tardis_chain(tmp_path / "bad.csv", chain + [bad])
    trades = fg.read_tardis_trades(write_tardis_trades(tmp_path / "t.csv", rows))
    res = fg.flow_gex(trades, fg.read_tardis_chain(tmp_path / "bad.csv"), errors="quarantine")
    assert_identical(res, fg.flow_gex(trades, fg.read_tardis_chain(tmp_path / "good.csv")))
    assert res.diagnostics.chain_rejected == {reason: 1}
    assert res.diagnostics.rejected_rows["chain"].column("source_row").to_pylist() == [len(chain) + 2]
    assert canonical_chain(chain).shape[0] == len(chain)


def test_late_rows_in_a_replay_are_counted_and_named(tmp_path):
    rows = ms_rows(market(40, seed=14))
    late = {**rows[2], "id": "late"}  # 00:14, appended after 04:30: its bucket closed chunks ago
    good = [write_json(tmp_path / "good" / "p1.json", response([deribit_trade(r) for r in rows[:20]]))]
    good.append(write_json(tmp_path / "good" / "p2.json", response([deribit_trade(r) for r in rows[20:]])))
    bad = [write_json(tmp_path / "bad" / "p1.json", response([deribit_trade(r) for r in rows[:20] + [late]]))]
    bad.append(good[1])
    ref = fg.replay(good, out=tmp_path / "out_good", chunk_rows=4, progress=False)
    res = fg.replay(bad, out=tmp_path / "out_bad", chunk_rows=4, progress=False, errors="quarantine")
    for table in ("by_strike", "by_expiry", "total"):
        pd.testing.assert_frame_equal(fg.read_replay(res.out, table), fg.read_replay(ref.out, table), check_exact=True)
    assert res.diagnostics.rejected == {"late": 1} and ref.diagnostics.rejected == {}
    saved = json.loads((res.out / "diagnostics.json").read_text())
    assert saved["rejected"] == {"late": 1} and saved["trades_read"] == 41
    rejected = pd.read_parquet(res.out / "rejected" / "trades.parquet")
    assert rejected.reason.tolist() == ["late"] and rejected.source_row.tolist() == [21]
    assert rejected.source_file.astype(str).tolist() == [str(bad[0])]
    with pytest.raises(fg.BadRowsError, match=r"\(.*bad/p1\.json, line 21\): late"):
        fg.replay(bad, out=tmp_path / "out_raise", chunk_rows=4, progress=False)
