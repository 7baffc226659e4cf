"""Bad input (DESIGN section 5): every kind raises naming rows and reasons, or is
quarantined and counted, and quarantine never changes the result of the good rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowgex as fg
from compare import assert_identical

T0 = pd.Timestamp("2024-12-01T00:00:00Z")


def good() -> pd.DataFrame:
    rows = []
    for k in range(12):
        rows.append(
            {
                "timestamp": T0 + pd.Timedelta(minutes=7 * k),
                "instrument": ["BTC-27DEC24-100000-C", "BTC-27DEC24-90000-P", "ETH-27DEC24-4000-C"][k % 3],
                "side": "buy" if k % 2 else "sell",
                "amount": 1.0 + k,
                "index_price": 3600.0 if k % 3 == 2 else 96_000.0,
                "iv": 0.5 + 0.01 * k,
                "trade_id": f"id{k}",
            }
        )
    return pd.DataFrame(rows)


BAD = {
    "unparseable_instrument": {"instrument": "BTC-31FEB24-1-C"},
    "unknown_multiplier": {"instrument": "ZZZ-27DEC24-100000-C"},
    "unknown_side": {"side": "hold"},
    "bad_amount": {"amount": -2.0},
    "bad_price": {"index_price": -96_000.0},  # zero is "no observation" (DESIGN 5, amended)
    "bad_iv": {"iv": float("inf")},
    "bad_timestamp": {"timestamp": pd.NaT},
    "expired": {"instrument": "BTC-29NOV24-100000-C"},
    "duplicate_trade_id": {"trade_id": "id3"},
}


def with_bad(reason: str) -> tuple[pd.DataFrame, int]:
    t = good()
    bad = {**t.iloc[5].to_dict(), "trade_id": "bad", **BAD[reason]}
    at = 8
    t = pd.concat([t.iloc[:at], pd.DataFrame([bad]), t.iloc[at:]], ignore_index=True)
    if reason == "duplicate_trade_id":
        t.loc[at] = t.loc[3]  # a re-delivered copy of row 3, later in the file
    return t, at


@pytest.mark.parametrize("reason", sorted(BAD))
def test_raise_names_the_row_and_the_reason(reason):
    t, at = with_bad(reason)
    with pytest.raises(fg.BadRowsError) as info:
        fg.flow_gex(t)
    msg = str(info.value)
    assert f"trades row {at}: {reason}" in msg, msg
    assert "quarantine" in msg
    assert info.value.counts == {f"trades.{reason}": 1}
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("reason", sorted(BAD))
def test_quarantine_equals_the_good_rows_alone(reason):
    t, at = with_bad(reason)
    res = fg.flow_gex(t, errors="quarantine")
    alone = fg.flow_gex(t.drop(index=at), errors="quarantine")
    assert_identical(res, alone)
    d = res.diagnostics
    assert d.rejected == {reason: 1}
    assert d.trades_read == len(t) and d.trades_used == len(t) - 1
    rows = d.rejected_rows["trades"]
    assert rows.column("row").to_pylist() == [at] and rows.column("reason").to_pylist() == [reason]
    assert d.duplicates == (1 if reason == "duplicate_trade_id" else 0)
    ref = fg.flow_gex(t, errors="quarantine", engine="reference")
    assert ref.diagnostics.as_dict() == d.as_dict()


def test_the_reference_raises_the_same_error():
    t, at = with_bad("bad_amount")
    with pytest.raises(fg.BadRowsError, match=f"trades row {at}: bad_amount"):
        fg.flow_gex(t, engine="reference")


def test_late_rows_in_a_later_chunk():
    t = good()
    eng = fg.Engine(errors="quarantine")
    eng.update(t.iloc[:8])
    late = t.iloc[[1]].assign(trade_id="again")  # older than the closed buckets
    eng.update(pd.concat([late, t.iloc[8:]]))
    assert eng.result().diagnostics.rejected == {"late": 1}
    assert_identical(eng.result(), fg.flow_gex(t))
    strict = fg.Engine()
    strict.update(t.iloc[:8])
    with pytest.raises(fg.BadRowsError, match="late"):
        strict.update(pd.concat([late, t.iloc[8:]]))
    # Nothing of the refused chunk was applied: the good part can still be fed.
    strict.update(t.iloc[8:])
    assert_identical(strict.result(), fg.flow_gex(t))


def test_bad_chain_and_spot_rows():
    t = good()
    chain = pd.DataFrame(
        {
            "timestamp": [T0, T0, T0, T0 + pd.Timedelta("1min")],
            "instrument": ["BTC-27DEC24-100000-C", "nonsense", "BTC-27DEC24-90000-P", "BTC-27DEC24-90000-P"],
            "mark_iv": [0.5, 0.5, -1.0, 0.5],
            "underlying_price": [96_100.0, 96_100.0, 96_100.0, np.nan],
            "open_interest": [10.0, 1.0, 1.0, -5.0],
        }
    )
    spot = pd.DataFrame({"timestamp": [T0, T0], "asset": ["BTC", None], "price": [96_000.0, 1.0]})
    with pytest.raises(fg.BadRowsError) as info:
        fg.flow_gex(t, chain, spot)
    assert "chain row 1: unparseable_instrument" in str(info.value)
    res = fg.flow_gex(t, chain, spot, errors="quarantine")
    d = res.diagnostics
    assert d.chain_rejected == {"unparseable_instrument": 1, "bad_iv": 1, "bad_open_interest": 1}
    assert d.spot_rejected == {"bad_asset": 1}
    good_only = fg.flow_gex(t, chain.iloc[[0]], spot.iloc[[0]])
    assert_identical(res, good_only)


def test_degenerate_prices_and_vols_never_give_nan():
    near = pd.Timestamp("2024-12-27T07:59:58.9995Z")  # its 1 ms bucket ends 1 s before expiry
    t = pd.DataFrame(
        {
            "timestamp": [near, near - pd.Timedelta("2s"), near - pd.Timedelta("1s")],
            "instrument": ["BTC-27DEC24-100000-C", "BTC-27DEC24-100000-P", "BTC-27DEC24-90000-P"],
            "side": ["buy", "sell", "buy"],
            "amount": [1e9, 1e-9, 3.0],
            # The extremes of the accepted ranges (rust/core/src/limits.rs); beyond them
            # values are bad rows (test_edge_core.py).
            "index_price": [1e-12, 1e12, 96_000.0],
            "iv": [1e-4, 1e3, 0.5],
        }
    )
    res = fg.flow_gex(t, resolution="1ms")
    assert len(res.times) == 2001
    for frame in (res.inventory(), res.by_strike(), res.total()):
        assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()


def test_missing_spot_is_an_error_or_skipped():
    t = good().drop(columns=["index_price"])
    with pytest.raises(fg.MissingSpotError, match="no underlying price"):
        fg.flow_gex(t)
    res = fg.flow_gex(t, missing_spot="skip")
    assert (res.inventory().gex == 0).all()
    assert res.diagnostics.missing_spot == len(res.inventory())


def test_wrong_kinds_of_input_are_type_errors():
    with pytest.raises(fg.SchemaError, match="expected a pandas DataFrame"):
        fg.flow_gex([1, 2, 3])
    with pytest.raises(fg.SchemaError, match="missing column"):
        fg.flow_gex(good().drop(columns=["side"]))
    with pytest.raises(fg.SchemaError, match="ambiguous"):
        fg.flow_gex(good().assign(timestamp=lambda d: d.timestamp.astype("int64")))
    with pytest.raises(TypeError):
        fg.flow_gex(good().assign(amount="x"))
    with pytest.raises(fg.OptionError, match="unit"):
        fg.flow_gex(good(), unit="usd")
    with pytest.raises(fg.OptionError, match="resolution"):
        fg.flow_gex(good(), resolution="-5min")
    with pytest.raises(fg.OptionError, match="errors"):
        fg.flow_gex(good(), errors="ignore")
    with pytest.raises(fg.OptionError, match="threads"):
        fg.flow_gex(good(), threads=0)
