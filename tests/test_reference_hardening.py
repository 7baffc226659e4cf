"""The reference engine on the amended bad-input rules (DESIGN section 5, second
round), checked against values derived by hand from the rules:

- a timestamp is bad at or beyond LIMIT(Δ) = (⌊(2⁶³−1)/Δ⌋ − 2)·Δ, or null;
- values out of bounds are bad rows (amount (0, 1e12], prices [1e-12, 1e12],
  ivs [1e-4, 1e3], open interest [0, 1e12], |gamma| <= 1e12; NaN/inf fail);
- a trade's iv or index price that is null or exactly 0 is no observation,
  and the trade's flow counts;
- an option whose asset has no multiplier is an ``unknown_multiplier`` row;
- chain rows at or after their option's expiry are ignored and counted in
  ``diagnostics.chain_after_expiry`` (a bad row stays bad);
- reasons apply in ``REASONS`` order, the first failing check wins.

These run on the reference alone; ``test_rust_matches_reference_hardening.py``
compares the Rust core with it on the same rules.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

import flowgex as fg
from flowgex.diagnostics import REASONS
from flowgex.schema import TIMESTAMP

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MIN = 60 * 10**9
TEN_MIN = 10 * MIN
HOUR = 60 * MIN
YEAR = 365 * 24 * HOUR
T0 = 1_733_011_200 * 10**9  # 2024-12-01T00:00:00Z
NAME = "BTC-27DEC24-100000-C"
EXPIRY = 1_735_286_400 * 10**9  # 2024-12-27T08:00:00Z
# (⌊(2⁶³−1)/6e11⌋ − 2)·6e11 = (15_372_286 − 2)·6e11, worked out by hand.
LIMIT_10MIN = 15_372_284 * 600_000_000_000


def ts_array(values: list[int | None]) -> pa.Array:
    return pa.array(values, pa.int64()).cast(TIMESTAMP)


def trades(**cols: list) -> pa.Table:
    """A trades table; unspecified columns get one good value per row."""
    n = len(next(iter(cols.values())))
    base = {
        "timestamp": [T0 + k * MIN for k in range(n)],
        "instrument": [NAME] * n,
        "side": ["buy"] * n,
        "amount": [1.0] * n,
        "index_price": [96_000.0] * n,
        "iv": [0.5] * n,
    }
    base.update(cols)
    out = {}
    for k, v in base.items():
        if k in ("timestamp", "expiry"):
            out[k] = ts_array(v)
        elif k in ("amount", "index_price", "iv", "strike"):
            out[k] = pa.array(v, pa.float64(), from_pandas=False)  # NaN stays NaN (not null)
        else:
            out[k] = pa.array(v, pa.string())
    return pa.table(out)


def ref(t, chain=None, spot=None, **kw):
    kw.setdefault("errors", "quarantine")
    return fg.flow_gex(t, chain, spot, engine="reference", **kw)


def rejected_reasons(res: fg.GexResult, table: str = "trades") -> list[tuple[int, str]]:
    rows = res.diagnostics.rejected_rows.get(table)
    if rows is None:
        return []
    return list(zip(rows.column("row").to_pylist(), rows.column("reason").to_pylist()))


def bs_gamma(S: float, K: float, T: float, sigma: float) -> float:
    """Rule 8 with r = 0, written out again for the expectations."""
    d1 = (math.log(S / K) + 0.5 * sigma * sigma * T) / (sigma * math.sqrt(T))
    return math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (S * sigma * math.sqrt(T))


# -- reasons ------------------------------------------------------------------------
def test_reasons_in_precedence_order():
    assert REASONS == (
        "bad_timestamp",
        "outlier_timestamp",
        "unparseable_instrument",
        "unknown_multiplier",
        "unknown_side",
        "bad_amount",
        "bad_price",
        "bad_iv",
        "bad_open_interest",
        "bad_gamma",
        "bad_asset",
        "expired",
        "late",
        "duplicate_trade_id",
    )


# -- timestamps ---------------------------------------------------------------------
def test_timestamp_limit_formula():
    from flowgex.reference import timestamp_limit

    assert timestamp_limit(TEN_MIN) == LIMIT_10MIN == 9_223_370_400_000_000_000
    assert timestamp_limit(1) == INT64_MAX - 2
    assert timestamp_limit(3 * 10**18) == 3 * 10**18  # ⌊(2⁶³−1)/3e18⌋ = 3, minus 2: one step
    for res in (1, 7, TEN_MIN, HOUR, 24 * HOUR, 10**18):
        limit = timestamp_limit(res)
        assert limit % res == 0
        label = ((limit - 1) // res + 1) * res  # the latest good row's label ...
        assert label + res <= INT64_MAX  # ... and one more step fit in int64
        assert limit + 3 * res > INT64_MAX  # and no larger multiple of Δ would do


def test_timestamps_at_the_grid_limit():
    """A far-future option (four-column form, expiry at int64 max − 1): a trade one
    ns before LIMIT is accepted and reported at grid time LIMIT; LIMIT and later,
    int64 max and null are bad_timestamp; int64 min (pandas' NaT) is null too."""
    stamps = [LIMIT_10MIN - 1, LIMIT_10MIN, LIMIT_10MIN + 1, INT64_MAX, None, INT64_MIN]
    n = len(stamps)
    t = trades(
        timestamp=stamps,
        asset=["BTC"] * n,
        expiry=[INT64_MAX - 1] * n,
        strike=[96_000.0] * n,
        kind=["C"] * n,
        amount=[2.0] * n,
    ).drop_columns(["instrument"])
    res = ref(t)
    assert rejected_reasons(res) == [(k, "bad_timestamp") for k in range(1, n)]
    assert res.diagnostics.rejected == {"bad_timestamp": n - 1}
    assert [int(x.value) for x in res.times] == [LIMIT_10MIN]
    inv = res.inventory()
    assert inv["inventory"].tolist() == [-2.0]
    T = (INT64_MAX - 1 - LIMIT_10MIN) / YEAR
    g = bs_gamma(96_000.0, 96_000.0, T, 0.5)
    assert inv["gamma"].iloc[0] == pytest.approx(g, rel=1e-12)
    assert inv["gex"].iloc[0] == pytest.approx(g * -2.0 * 96_000.0**2 * 0.01, rel=1e-12)
    with pytest.raises(fg.BadRowsError, match="trades row 1: bad_timestamp"):
        ref(t, errors="raise")


def test_the_limit_follows_the_resolution():
    """At Δ = 1 day the limit is (⌊(2⁶³−1)/8.64e13⌋ − 2)·8.64e13 = 106_749·8.64e13."""
    day = 24 * HOUR
    limit = 106_749 * day
    assert (INT64_MAX // day) == 106_751
    n = 2
    t = trades(
        timestamp=[limit - 1, limit],
        asset=["BTC"] * n,
        expiry=[INT64_MAX - 1] * n,
        strike=[96_000.0] * n,
        kind=["P"] * n,
    ).drop_columns(["instrument"])
    res = ref(t, resolution="1D")
    assert rejected_reasons(res) == [(1, "bad_timestamp")]
    assert [int(x.value) for x in res.times] == [limit]


def test_chain_and_spot_timestamps_use_the_same_limit():
    t = trades(timestamp=[T0])
    chain = pa.table(
        {
            "timestamp": ts_array([T0, LIMIT_10MIN, None]),
            "instrument": [NAME] * 3,
            "mark_iv": [0.5] * 3,
        }
    )
    spot = pa.table({"timestamp": ts_array([T0, INT64_MAX]), "asset": ["BTC", "BTC"], "price": [96_000.0, 1.0]})
    res = ref(t, chain, spot)
    assert rejected_reasons(res, "chain") == [(1, "bad_timestamp"), (2, "bad_timestamp")]
    assert rejected_reasons(res, "spot") == [(1, "bad_timestamp")]


# -- value bounds -------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")
ABOVE_1E12 = float(np.nextafter(1e12, INF))
BELOW_1E_12 = float(np.nextafter(1e-12, 0.0))

TRADE_CASES = [
    # (column, value, reason or None when accepted)
    ("amount", 1e12, None),
    ("amount", 5e-324, None),
    ("amount", ABOVE_1E12, "bad_amount"),
    ("amount", 1e308, "bad_amount"),
    ("amount", 0.0, "bad_amount"),
    ("amount", -0.0, "bad_amount"),
    ("amount", -1.0, "bad_amount"),
    ("amount", NAN, "bad_amount"),
    ("amount", INF, "bad_amount"),
    ("amount", None, "bad_amount"),
    ("index_price", 1e-12, None),
    ("index_price", 1e12, None),
    ("index_price", 0.0, None),  # no observation
    ("index_price", None, None),  # no observation
    ("index_price", BELOW_1E_12, "bad_price"),
    ("index_price", ABOVE_1E12, "bad_price"),
    ("index_price", -1.0, "bad_price"),
    ("index_price", NAN, "bad_price"),
    ("index_price", -INF, "bad_price"),
    ("iv", 1e-4, None),
    ("iv", 1e3, None),
    ("iv", 0.0, None),  # no observation
    ("iv", -0.0, None),  # == 0.0
    ("iv", None, None),
    ("iv", float(np.nextafter(1e-4, 0.0)), "bad_iv"),
    ("iv", float(np.nextafter(1e3, INF)), "bad_iv"),
    ("iv", 5e-324, "bad_iv"),
    ("iv", -0.2, "bad_iv"),
    ("iv", NAN, "bad_iv"),
    ("iv", INF, "bad_iv"),
]


@pytest.mark.parametrize(("column", "value", "reason"), TRADE_CASES)
def test_trade_value_bounds(column, value, reason):
    t = trades(**{column: [0.5 if column == "iv" else 96_000.0 if column == "index_price" else 1.0, value]})
    res = ref(t)
    assert rejected_reasons(res) == ([] if reason is None else [(1, reason)])
    assert res.diagnostics.trades_used == (2 if reason is None else 1)
    for frame in (res.inventory(), res.by_strike(), res.by_expiry(), res.total()):
        assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()


CHAIN_CASES = [
    ("underlying_price", 1e-12, None),
    ("underlying_price", 1e12, None),
    ("underlying_price", None, None),
    ("underlying_price", 0.0, "bad_price"),  # only a trade's zero is "no observation"
    ("underlying_price", ABOVE_1E12, "bad_price"),
    ("underlying_price", NAN, "bad_price"),
    ("mark_iv", 1e-4, None),
    ("mark_iv", 1e3, None),
    ("mark_iv", None, None),
    ("mark_iv", 0.0, "bad_iv"),
    ("mark_iv", 1e308, "bad_iv"),
    ("open_interest", 0.0, None),
    ("open_interest", 1e12, None),
    ("open_interest", None, None),
    ("open_interest", ABOVE_1E12, "bad_open_interest"),
    ("open_interest", -5e-324, "bad_open_interest"),
    ("open_interest", INF, "bad_open_interest"),
    ("gamma", -1e12, None),
    ("gamma", 1e12, None),
    ("gamma", 0.0, None),
    ("gamma", None, None),
    ("gamma", float(np.nextafter(-1e12, -INF)), "bad_gamma"),
    ("gamma", NAN, "bad_gamma"),
    ("gamma", -INF, "bad_gamma"),
]


@pytest.mark.parametrize(("column", "value", "reason"), CHAIN_CASES)
def test_chain_value_bounds(column, value, reason):
    good = {"underlying_price": 96_100.0, "mark_iv": 0.55, "open_interest": 3.0, "gamma": 1e-5}
    chain = pa.table(
        {
            "timestamp": ts_array([T0, T0 + MIN]),
            "instrument": [NAME, NAME],
            **{c: pa.array([v, value if c == column else v], pa.float64(), from_pandas=False) for c, v in good.items()},
        }
    )
    res = ref(trades(timestamp=[T0 + 20 * MIN]), chain)
    assert rejected_reasons(res, "chain") == ([] if reason is None else [(1, reason)])
    assert res.diagnostics.chain_after_expiry == 0


@pytest.mark.parametrize(
    ("price", "bad"), [(1e-12, False), (1e12, False), (0.0, True), (BELOW_1E_12, True), (1e300, True), (NAN, True)]
)
def test_spot_price_bounds(price, bad):
    spot = pa.table(
        {
            "timestamp": ts_array([T0]),
            "asset": ["BTC"],
            "price": pa.array([price], pa.float64(), from_pandas=False),
        }
    )
    res = ref(trades(timestamp=[T0 + MIN]), spot=spot)
    assert rejected_reasons(res, "spot") == ([(0, "bad_price")] if bad else [])


# -- a trade's zero iv or index price is no observation ------------------------------
def test_zero_iv_and_index_price_keep_the_flow_but_observe_nothing():
    """Trade 0 (buy 2, iv 0.5, index 96,000) at T0; trade 1 (sell 5, iv 0, index 0)
    in the next bucket. At T0+20min the inventory is −2 + 5 = 3, and the vol and
    spot are still trade 0's: trade 1 observed nothing."""
    t = trades(
        timestamp=[T0, T0 + TEN_MIN + MIN],
        side=["buy", "sell"],
        amount=[2.0, 5.0],
        iv=[0.5, 0.0],
        index_price=[96_000.0, 0.0],
    )
    res = ref(t, errors="raise")
    assert res.diagnostics.rejected == {} and res.diagnostics.trades_used == 2
    inv = res.inventory()
    assert inv["inventory"].tolist() == [-2.0, 3.0]
    assert inv["vol"].tolist() == [0.5, 0.5]
    assert inv["spot"].tolist() == [96_000.0, 96_000.0]
    T = (EXPIRY - (T0 + 2 * TEN_MIN)) / YEAR
    assert inv["gex"].iloc[1] == pytest.approx(bs_gamma(96_000.0, 100_000.0, T, 0.5) * 3.0 * 96_000.0**2 * 0.01)


def test_a_trade_with_only_a_zero_iv_is_missing_vol():
    t = trades(timestamp=[T0], iv=[0.0])
    with pytest.raises(fg.MissingVolError):
        ref(t)
    res = ref(t, missing_vol="skip")
    assert res.inventory()["inventory"].tolist() == [-1.0]
    assert res.diagnostics.missing_vol == 1 and res.diagnostics.rejected == {}


# -- unknown multipliers -------------------------------------------------------------
def test_unknown_multiplier_is_a_bad_row():
    t = trades(instrument=[NAME, "ZZZ-27DEC24-10-C", "ZZZ_USDC-27DEC24-10-P"])
    res = ref(t)
    assert rejected_reasons(res) == [(1, "unknown_multiplier"), (2, "unknown_multiplier")]
    with pytest.raises(fg.BadRowsError, match="trades row 1: unknown_multiplier"):
        ref(t, errors="raise")
    # Resolution order: user ASSET_QUOTE, user ASSET, built-in.
    res = ref(t, errors="raise", multipliers={"ZZZ_USDC": 7.0, "ZZZ": 3.0})
    book = res.book("ZZZ")
    assert dict(zip(book.instrument.tolist(), book.multiplier.tolist())) == {
        "ZZZ-27DEC24-10-C": 3.0,
        "ZZZ_USDC-27DEC24-10-P": 7.0,
    }
    res = ref(t, errors="raise", multipliers={"BTC": 2.0, "ZZZ": 3.0})
    assert res.book("BTC").multiplier.tolist() == [2.0]


def test_unknown_multiplier_in_the_chain_and_a_seeded_option():
    chain = pa.table({"timestamp": ts_array([T0]), "instrument": ["ZZZ-27DEC24-10-C"], "mark_iv": [0.5]})
    res = ref(trades(timestamp=[T0 + MIN]), chain)
    assert rejected_reasons(res, "chain") == [(0, "unknown_multiplier")]
    with pytest.raises(fg.MultiplierError, match="ZZZ"):
        ref(trades(timestamp=[T0 + MIN]), initial={"ZZZ-27DEC24-10-C": 1.0})


# -- chain rows after expiry ----------------------------------------------------------
def test_chain_rows_after_expiry_are_ignored_and_counted():
    """Option A expires at 2024-12-01 08:00. Its chain rows at 08:00 and 08:01 are
    ignored (counted), so the asset's spot in the totals stays option B's chain
    underlying 96,100, not A's 999; A's bad row after expiry is still bad_iv."""
    a, b = "BTC-1DEC24-95000-C", NAME
    exp_a = T0 + 8 * HOUR
    chain = pa.table(
        {
            "timestamp": ts_array([exp_a - 2 * HOUR, exp_a, exp_a + MIN, exp_a + MIN]),
            "instrument": [b, a, a, a],
            "mark_iv": [0.5, 0.5, 0.5, -1.0],
            "underlying_price": [96_100.0, 999.0, 999.0, 999.0],
        }
    )
    t = trades(timestamp=[exp_a + 5 * MIN], index_price=[None])
    res = ref(t, chain)
    d = res.diagnostics
    assert d.chain_after_expiry == 2
    assert d.chain_rejected == {"bad_iv": 1}
    assert rejected_reasons(res, "chain") == [(3, "bad_iv")]
    assert res.total()["spot"].tolist() == [96_100.0]
    assert res.inventory()["spot"].tolist() == [96_100.0]
    # Without the bad row nothing raises under errors="raise".
    res = ref(t, chain.slice(0, 3), errors="raise")
    assert res.diagnostics.chain_after_expiry == 2 and res.diagnostics.chain_rejected == {}
    # Only trades after expiry are bad rows.
    late = trades(timestamp=[exp_a + 5 * MIN, exp_a], instrument=[b, a])
    assert rejected_reasons(ref(late, chain.slice(0, 3))) == [(1, "expired")]


# -- precedence ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"timestamp": None, "instrument": "garbage", "side": "hold"}, "bad_timestamp"),
        ({"instrument": "garbage", "amount": -1.0}, "unparseable_instrument"),
        ({"instrument": "ZZZ-27DEC24-10-C", "side": "hold", "amount": NAN}, "unknown_multiplier"),
        ({"side": "hold", "amount": 0.0, "iv": -1.0}, "unknown_side"),
        ({"amount": INF, "index_price": -1.0}, "bad_amount"),
        ({"index_price": 1e300, "iv": 1e300}, "bad_price"),
        ({"iv": 1e300, "instrument": "BTC-1DEC24-95000-C", "timestamp": T0 + 9 * HOUR}, "bad_iv"),
        ({"instrument": "BTC-1DEC24-95000-C", "timestamp": T0 + 8 * HOUR}, "expired"),
    ],
)
def test_the_first_failing_check_wins(row, reason):
    cols = {"timestamp": T0, "instrument": NAME, "side": "buy", "amount": 1.0, "index_price": 96_000.0, "iv": 0.5}
    cols.update(row)
    t = trades(**{k: [v] for k, v in cols.items()})
    assert rejected_reasons(ref(t)) == [(0, reason)]


def test_chain_precedence_bad_values_before_after_expiry():
    exp_a = T0 + 8 * HOUR
    chain = pa.table(
        {
            "timestamp": ts_array([exp_a + MIN] * 4),
            "instrument": ["BTC-1DEC24-95000-C", "ZZZ-1DEC24-1-C", "BTC-1DEC24-95000-C", "BTC-1DEC24-95000-C"],
            "underlying_price": pa.array([-1.0, 1.0, 1.0, 1.0], pa.float64()),
            "mark_iv": pa.array([-1.0, 0.5, 0.5, 0.5], pa.float64()),
            "open_interest": pa.array([1.0, 1.0, -1.0, 1.0], pa.float64()),
        }
    )
    res = ref(trades(timestamp=[T0]), chain)
    assert rejected_reasons(res, "chain") == [(0, "bad_price"), (1, "unknown_multiplier"), (2, "bad_open_interest")]
    assert res.diagnostics.chain_after_expiry == 1
