"""The Rust core and the reference agree on the amended bad-input rules (DESIGN
section 5, second round; issue 11): the same reasons in the same order, the
same rows rejected, chain rows after expiry counted alike, zero-iv trades'
flows kept, and the same numbers (to the DESIGN tolerance).

These compare the compiled core with ``reference.py``; they pass once the core
implements the amended rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given

import flowgex as fg
from compare import assert_close
from flowgex import _core
from flowgex.diagnostics import REASONS
from flowgex.schema import TIMESTAMP
from test_reference_hostile_properties import hostile, table

T0 = pd.Timestamp("2024-12-01T00:00:00Z")
LIMIT_10MIN = 15_372_284 * 600_000_000_000
INT64_MAX = 2**63 - 1


def both(*tables, **kw):
    return fg.flow_gex(*tables, **kw), fg.flow_gex(*tables, engine="reference", **kw)


def test_reasons_are_the_cores():
    assert REASONS == tuple(_core.reason_names())


@given(hostile(stray=False))
def test_rust_equals_reference_on_hostile_input(case):
    kw = dict(
        errors="quarantine",
        resolution=case["resolution"],
        start=case["start"],
        end=case["end"],
        multipliers=case["multipliers"],
        missing_vol=case["missing_vol"],
        missing_spot="skip",
        unit=case["unit"],
    )
    tables = [table(case[k], k) for k in ("trades", "chain", "spot")]
    fast, ref = both(*tables, **kw)
    assert_close(fast, ref)


def deribit_block_trade() -> pd.DataFrame:
    """Trades like Deribit's documented block trade: one leg with iv 0 and index 0."""
    return pd.DataFrame(
        {
            "timestamp": [T0, T0 + pd.Timedelta("3min"), T0 + pd.Timedelta("13min")],
            "instrument": ["BTC-27DEC24-100000-C"] * 3,
            "side": ["buy", "sell", "buy"],
            "amount": [2.0, 5.0, 1.0],
            "index_price": [96_000.0, 0.0, 96_500.0],
            "iv": [0.5, 0.0, 0.55],
            "trade_id": ["1", "2", "3"],
        }
    )


def test_a_zero_iv_trade_keeps_its_flow():
    fast, ref = both(deribit_block_trade())
    assert_close(fast, ref)
    assert fast.diagnostics.rejected == {}
    assert fast.inventory()["inventory"].tolist() == [-2.0 + 5.0, -2.0 + 5.0 - 1.0]


def test_overflowing_values_are_bad_rows():
    t = deribit_block_trade()
    t.loc[1, "amount"] = 1e308
    with pytest.raises(fg.BadRowsError, match="trades row 1: bad_amount"):
        fg.flow_gex(t)
    fast, ref = both(t, errors="quarantine")
    assert_close(fast, ref)
    assert fast.diagnostics.rejected == {"bad_amount": 1}
    chain = pd.DataFrame(
        {
            "timestamp": [T0, T0],
            "instrument": ["BTC-27DEC24-100000-C"] * 2,
            "mark_iv": [0.5, 0.5],
            "underlying_price": [96_000.0, 96_000.0],
            "open_interest": [1e308, 1.0],
        }
    )
    fast, ref = both(deribit_block_trade(), chain, errors="quarantine")
    assert_close(fast, ref)
    assert fast.diagnostics.chain_rejected == {"bad_open_interest": 1}


def test_unknown_multipliers_are_bad_rows():
    t = deribit_block_trade()
    t.loc[1, ["instrument", "index_price", "iv"]] = ["DOGE_USDC-27DEC24-0d3-C", 0.9, 0.8]
    chain = pd.DataFrame({"timestamp": [T0], "instrument": ["ZZZ-27DEC24-10-P"], "mark_iv": [0.5]})
    with pytest.raises(fg.BadRowsError, match="unknown_multiplier"):
        fg.flow_gex(t, chain)
    fast, ref = both(t, chain, errors="quarantine")
    assert_close(fast, ref)
    assert fast.diagnostics.rejected == {"unknown_multiplier": 1}
    assert fast.diagnostics.chain_rejected == {"unknown_multiplier": 1}
    fast, ref = both(t, chain, multipliers={"DOGE": 10.0, "ZZZ": 1.0})
    assert_close(fast, ref)


def test_a_chain_day_spanning_an_expiry_runs_with_default_options():
    """Snapshots every 30 minutes from 06:00 to 10:00 of an option expiring at 08:00
    and of a later one: the rows at and after 08:00 of the expiring one are counted."""
    times = pd.date_range("2024-12-01T06:00Z", "2024-12-01T10:00Z", freq="30min")
    rows = []
    for ts in times:
        for name in ("BTC-1DEC24-95000-C", "BTC-27DEC24-100000-C"):
            rows.append(
                {"timestamp": ts, "instrument": name, "mark_iv": 0.5, "underlying_price": 96_000.0, "open_interest": 5}
            )
    chain = pd.DataFrame(rows)
    t = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp("2024-12-01T06:05Z"), pd.Timestamp("2024-12-01T09:05Z")],
            "instrument": ["BTC-1DEC24-95000-C", "BTC-27DEC24-100000-C"],
            "side": ["buy", "sell"],
            "amount": [1.0, 2.0],
        }
    )
    fast, ref = both(t, chain)
    assert_close(fast, ref)
    after = int(((chain.instrument == "BTC-1DEC24-95000-C") & (chain.timestamp >= "2024-12-01T08:00Z")).sum())
    assert after == 5
    assert fast.diagnostics.chain_after_expiry == after and fast.diagnostics.chain_rejected == {}


def test_timestamps_at_the_grid_limit():
    n = 4
    t = pa.table(
        {
            "timestamp": pa.array([LIMIT_10MIN - 1, LIMIT_10MIN, INT64_MAX, None], pa.int64()).cast(TIMESTAMP),
            "asset": ["BTC"] * n,
            "expiry": pa.array([INT64_MAX - 1] * n, pa.int64()).cast(TIMESTAMP),
            "strike": [96_000.0] * n,
            "kind": ["C"] * n,
            "side": ["buy"] * n,
            "amount": [2.0] * n,
            "index_price": [96_000.0] * n,
            "iv": [0.5] * n,
        }
    )
    fast, ref = both(t, errors="quarantine")
    assert_close(fast, ref)
    assert fast.diagnostics.rejected == {"bad_timestamp": 3}
    assert [int(x.value) for x in fast.times] == [LIMIT_10MIN]
    assert np.isfinite(fast.inventory()["gex"]).all()
