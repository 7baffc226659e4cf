"""classic_gex on bad input (DESIGN section 5, amended; issue 11): every chain row
is checked, bad rows raise or are counted, an option falls back to its latest
good row, rows at or after expiry are ignored and counted, unknown multipliers
are bad rows, values out of bounds are bad rows, and a chain without
timestamps works with ``at=``. Expected GEX values are rule 13 written out here:
GEX = s·OI·Γ·m·S²·0.01.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import flowgex as fg
from flowgex.schema import TIMESTAMP

MIN = 60 * 10**9
HOUR = 60 * MIN
YEAR = 365 * 24 * HOUR
T0 = 1_733_011_200 * 10**9  # 2024-12-01T00:00:00Z
NAME = "BTC-27DEC24-100000-C"
PUT = "BTC-27DEC24-90000-P"
EXPIRY = 1_735_286_400 * 10**9  # 2024-12-27T08:00:00Z
EARLY = "BTC-1DEC24-95000-C"  # expires T0 + 8h
NDX = "ndx_cboe_2022/ndx_quotedata_2022-02-05.csv"


def bs_gamma(S: float, K: float, T: float, sigma: float) -> float:
    d1 = (math.log(S / K) + 0.5 * sigma * sigma * T) / (sigma * math.sqrt(T))
    return math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (S * sigma * math.sqrt(T))


def classic_value(sign: float, oi: float, S: float, K: float, at: int, iv: float, m: float = 1.0) -> float:
    return sign * oi * bs_gamma(S, K, (EXPIRY - at) / YEAR, iv) * m * S * S * 0.01


def chain(**cols) -> pa.Table:
    n = len(cols["instrument"])
    base = {
        "timestamp": [T0] * n,
        "mark_iv": [0.5] * n,
        "underlying_price": [96_000.0] * n,
        "open_interest": [10.0] * n,
    }
    base.update(cols)
    out = {}
    for k, v in base.items():
        if k in ("timestamp", "expiry"):
            out[k] = pa.array(v, pa.int64()).cast(TIMESTAMP)
        elif k in ("instrument", "asset", "kind"):
            out[k] = pa.array(v, pa.string())
        else:
            out[k] = pa.array(v, pa.float64(), from_pandas=False)
    return pa.table(out)


def reasons(res: fg.GexResult) -> list[tuple[int, str]]:
    t = res.diagnostics.rejected_rows.get("chain")
    return [] if t is None else list(zip(t.column("row").to_pylist(), t.column("reason").to_pylist()))


def total(res: fg.GexResult) -> float:
    return float(res.total()["gex"].sum())


# -- (a) fallback to the latest good row ------------------------------------------------
def test_an_option_whose_latest_row_is_bad_falls_back_to_its_latest_good_row():
    c = chain(
        timestamp=[T0, T0 + HOUR, T0 + 2 * HOUR, T0 + HOUR],
        instrument=[NAME, NAME, NAME, PUT],
        mark_iv=[0.5, 0.6, -1.0, 0.7],
        open_interest=[10.0, 12.0, 99.0, 4.0],
    )
    with pytest.raises(fg.BadRowsError, match="chain row 2: bad_iv"):
        fg.classic_gex(c)
    res = fg.classic_gex(c, errors="quarantine")
    at = T0 + 2 * HOUR
    call = classic_value(1.0, 12.0, 96_000.0, 100_000.0, at, 0.6)
    want = call + classic_value(-1.0, 4.0, 96_000.0, 90_000.0, at, 0.7)
    assert total(res) == pytest.approx(want, rel=1e-12)
    inv = res.inventory().set_index("instrument")
    assert inv.loc[NAME, "inventory"] == 12.0 and inv.loc[NAME, "vol"] == 0.6
    assert inv.loc[PUT, "inventory"] == -4.0
    assert reasons(res) == [(2, "bad_iv")]
    assert res.diagnostics.chain_rejected == {"bad_iv": 1}
    # Only the bad row's own option falls back: as of 1h the bad row is not yet there.
    early = fg.classic_gex(c, at=pd.Timestamp(T0 + HOUR, tz="UTC"), errors="quarantine")
    assert total(early) == pytest.approx(
        classic_value(1.0, 12.0, 96_000.0, 100_000.0, T0 + HOUR, 0.6)
        + classic_value(-1.0, 4.0, 96_000.0, 90_000.0, T0 + HOUR, 0.7),
        rel=1e-12,
    )


def test_an_option_with_only_bad_rows_is_left_out_and_counted():
    c = chain(instrument=[NAME, PUT], open_interest=[10.0, -1.0])
    res = fg.classic_gex(c, errors="quarantine")
    assert res.inventory()["instrument"].tolist() == [NAME]
    assert reasons(res) == [(1, "bad_open_interest")]


# -- (b) null timestamps and instruments are counted ----------------------------------------
def test_null_timestamps_and_instruments_are_bad_rows():
    c = chain(timestamp=[T0, None, T0], instrument=[NAME, NAME, None])
    with pytest.raises(fg.BadRowsError) as info:
        fg.classic_gex(c)
    msg = str(info.value)
    assert "chain row 1: bad_timestamp" in msg and "chain row 2: unparseable_instrument" in msg
    assert info.value.counts == {"chain.bad_timestamp": 1, "chain.unparseable_instrument": 1}
    res = fg.classic_gex(c, errors="quarantine")
    assert reasons(res) == [(1, "bad_timestamp"), (2, "unparseable_instrument")]
    d = res.diagnostics
    assert d.chain_rows_read == 3 and d.chain_rejected == {"bad_timestamp": 1, "unparseable_instrument": 1}
    assert total(res) == pytest.approx(classic_value(1.0, 10.0, 96_000.0, 100_000.0, T0, 0.5), rel=1e-12)


def test_null_parts_are_unparseable():
    n = 5
    c = chain(
        instrument=[None] * n,
        asset=["BTC", None, "BTC", "BTC", "BTC"],
        expiry=[EXPIRY, EXPIRY, None, EXPIRY, EXPIRY],
        strike=[100_000.0, 100_000.0, 100_000.0, None, 100_000.0],
        kind=["C", "C", "C", "C", None],
    ).drop_columns(["instrument"])
    res = fg.classic_gex(c, errors="quarantine")
    assert reasons(res) == [(k, "unparseable_instrument") for k in range(1, n)]
    assert total(res) == pytest.approx(classic_value(1.0, 10.0, 96_000.0, 100_000.0, T0, 0.5), rel=1e-12)
    with pytest.raises(fg.BadRowsError, match="unparseable_instrument"):
        fg.classic_gex(c)


# -- (c) a chain without timestamps -----------------------------------------------------------
@pytest.fixture(scope="module")
def cboe(data_file) -> fg.CboeChain:
    return fg.read_cboe_quotedata(data_file(NDX))


def test_a_chain_without_timestamps_gives_the_same_totals(cboe):
    """The NDX chain (an SPX-style equity chain) with its timestamp column dropped:
    every row is taken as observed at ``at``, so with ``at`` = the quote time the
    result is the one with timestamps, bit for bit."""
    bare = cboe.chain.drop_columns(["timestamp"])
    kw = dict(multipliers=cboe.multipliers, errors="quarantine")
    with_ts = fg.classic_gex(cboe.chain, **kw)
    without = fg.classic_gex(bare, at=cboe.time, **kw)
    for a, b in (
        (with_ts.total(), without.total()),
        (with_ts.by_strike(), without.by_strike()),
        (with_ts.inventory(), without.inventory()),
    ):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert with_ts.diagnostics.as_dict() == without.diagnostics.as_dict()
    assert fg.levels(without, "NDX").flip == fg.levels(with_ts, "NDX").flip
    assert len(without.inventory()) > 9_000  # the real chain, not an empty one
    with pytest.raises(fg.SchemaError, match="no timestamp column, so at= is required"):
        fg.classic_gex(bare, **kw)


def test_a_chain_without_timestamps_and_pandas_input():
    c = chain(instrument=[NAME, PUT]).to_pandas().drop(columns=["timestamp"])
    at = pd.Timestamp(T0 + HOUR, tz="UTC")
    res = fg.classic_gex(c, at=at)
    want = classic_value(1.0, 10.0, 96_000.0, 100_000.0, T0 + HOUR, 0.5) + classic_value(
        -1.0, 10.0, 96_000.0, 90_000.0, T0 + HOUR, 0.5
    )
    assert total(res) == pytest.approx(want, rel=1e-12)
    assert list(res.times) == [at]


# -- (d) unknown multipliers ---------------------------------------------------------------
def test_unknown_multiplier_is_a_bad_row_not_an_error_for_the_chain():
    c = chain(instrument=[NAME, "ZZZ-27DEC24-100000-C", "DOGE_USDC-27DEC24-100000-C"])
    with pytest.raises(fg.BadRowsError, match="chain row 1: unknown_multiplier"):
        fg.classic_gex(c)
    res = fg.classic_gex(c, errors="quarantine")
    assert reasons(res) == [(1, "unknown_multiplier"), (2, "unknown_multiplier")]
    one = classic_value(1.0, 10.0, 96_000.0, 100_000.0, T0, 0.5)
    assert total(res) == pytest.approx(one, rel=1e-12)
    # With multipliers the options count, each with its own (ASSET_QUOTE before ASSET).
    res = fg.classic_gex(c, multipliers={"ZZZ": 2.0, "DOGE_USDC": 5.0, "DOGE": 7.0})
    gex = res.total().set_index("asset")["gex"]
    assert gex["ZZZ"] == pytest.approx(2.0 * one, rel=1e-12)
    assert gex["DOGE"] == pytest.approx(5.0 * one, rel=1e-12)
    assert gex["BTC"] == pytest.approx(one, rel=1e-12)


# -- (e) value bounds --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("open_interest", 1e308, "bad_open_interest"),
        ("open_interest", float(np.nextafter(1e12, np.inf)), "bad_open_interest"),
        ("open_interest", 1e12, None),
        ("open_interest", 0.0, None),
        ("underlying_price", 1e13, "bad_price"),
        ("underlying_price", 0.0, "bad_price"),
        ("underlying_price", 1e-12, None),
        ("mark_iv", 0.0, "bad_iv"),
        ("mark_iv", 1e4, "bad_iv"),
        ("mark_iv", float("nan"), "bad_iv"),
        ("mark_iv", 1e-4, None),
        ("mark_iv", 1e3, None),
    ],
)
def test_classic_value_bounds(column, value, reason):
    c = chain(instrument=[NAME, PUT], **{column: [10.0 if column == "open_interest" else 0.5, value]})
    if column == "underlying_price":
        c = c.set_column(c.column_names.index(column), column, pa.array([96_000.0, value], pa.float64()))
    res = fg.classic_gex(c, errors="quarantine")
    assert reasons(res) == ([] if reason is None else [(1, reason)])
    for frame in (res.inventory(), res.by_strike(), res.total()):
        assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()


@pytest.mark.parametrize(("value", "bad"), [(1e12, False), (-1e12, False), (1e13, True), (float("inf"), True)])
def test_classic_chain_gamma_bounds(value, bad):
    c = chain(instrument=[NAME, PUT], gamma=[1e-5, value])
    res = fg.classic_gex(c, gamma="chain", errors="quarantine")
    assert reasons(res) == ([(1, "bad_gamma")] if bad else [])
    assert np.isfinite(res.total()["gex"]).all()


def test_the_spot_override_is_bounds_checked():
    c = chain(instrument=[NAME])
    for bad in (0.0, -1.0, float("nan"), float("inf"), 1e13, "x"):
        with pytest.raises(fg.OptionError, match="spot"):
            fg.classic_gex(c, spot=bad)
    with pytest.raises(fg.OptionError, match="spot"):
        fg.classic_gex(c, spot={"BTC": float("nan")})


# -- chain rows at or after expiry -------------------------------------------------------------
def test_chain_rows_after_expiry_are_ignored_and_counted():
    """EARLY expires at T0+8h. Its rows at 8h and 8h01 are not bad: they are counted
    in chain_after_expiry, also under errors="raise"; a bad row after expiry stays bad."""
    exp = T0 + 8 * HOUR
    c = chain(
        timestamp=[exp - HOUR, exp, exp + MIN, exp + MIN],
        instrument=[NAME, EARLY, EARLY, EARLY],
        mark_iv=[0.5, 0.5, 0.5, 0.5],
        open_interest=[10.0, 3.0, 3.0, -3.0],
    )
    res = fg.classic_gex(c.slice(0, 3))
    d = res.diagnostics
    assert d.chain_after_expiry == 2 and d.chain_rejected == {}
    assert res.inventory()["instrument"].tolist() == [NAME]
    assert total(res) == pytest.approx(classic_value(1.0, 10.0, 96_000.0, 100_000.0, exp + MIN, 0.5), rel=1e-12)
    res = fg.classic_gex(c, errors="quarantine")
    assert res.diagnostics.chain_after_expiry == 2 and reasons(res) == [(3, "bad_open_interest")]


def test_at_that_would_overflow_the_time_to_expiry_is_refused():
    far = 2**63 - 2  # a four-column option expiring in 2262
    c = chain(instrument=[None], asset=["BTC"], expiry=[far], strike=[1.0], kind=["C"]).drop_columns(
        ["instrument", "timestamp"]
    )
    with pytest.raises(fg.OptionError, match="overflow"):
        fg.classic_gex(c, at=pd.Timestamp.min.tz_localize("UTC"))
    res = fg.classic_gex(c, at=pd.Timestamp("2000-01-01", tz="UTC"))
    assert np.isfinite(res.total()["gex"]).all()
