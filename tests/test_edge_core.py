"""The edge of the core (issue 11): timestamps at int64's limits, the grid
budget, value bounds, zero iv / index price, chain rows after expiry,
unknown multipliers and corrupt snapshots. Each either works or raises a
clear FlowgexError; hostile bytes are tried in a child process, so a crash
fails the test instead of killing the run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowgex as fg

T0 = pd.Timestamp("2024-12-01T00:00:00Z")
I64_MAX = 2**63 - 1
RES = 600 * 10**9


def trades(n: int = 6, **cols) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "timestamp": [T0 + pd.Timedelta(minutes=7 * k) for k in range(n)],
            "instrument": ["BTC-27DEC24-100000-C", "BTC-27DEC24-90000-P"] * (n // 2)
            + ["BTC-27DEC24-100000-C"] * (n % 2),
            "side": ["buy", "sell"] * (n // 2) + ["buy"] * (n % 2),
            "amount": [1.0 + k for k in range(n)],
            "index_price": [96_000.0] * n,
            "iv": [0.5] * n,
        }
    )
    for k, v in cols.items():
        t[k] = v
    return t


def ts_limit(res: int = RES) -> int:
    return (I64_MAX // res - 2) * res


def with_row(t: pd.DataFrame, at: int, **values) -> pd.DataFrame:
    row = {**t.iloc[0].to_dict(), **values}
    return pd.concat([t.iloc[:at], pd.DataFrame([row]), t.iloc[at:]], ignore_index=True)


def ns_frame(t: pd.DataFrame, stamps: list[int]) -> pd.DataFrame:
    """``t`` with raw int64 ns timestamps (pandas cannot hold them all as Timestamps)."""
    import pyarrow as pa

    tab = pa.Table.from_pandas(t.drop(columns=["timestamp"]), preserve_index=False)
    return tab.add_column(0, "timestamp", pa.array(stamps, pa.timestamp("ns", tz="UTC")))


# --- timestamps across the whole int64 range ---------------------------------


@pytest.mark.parametrize("stamp", [I64_MAX, I64_MAX - 1, ts_limit(), ts_limit() + 1])
def test_a_row_at_the_largest_timestamps_is_a_bad_row_not_a_hang(stamp):
    t = trades()
    stamps = [int(x.value) for x in t["timestamp"]]
    tab = ns_frame(t, stamps[:-1] + [stamp])
    with pytest.raises(fg.BadRowsError, match="bad_timestamp"):
        fg.flow_gex(tab)
    res = fg.flow_gex(tab, errors="quarantine")
    assert res.diagnostics["rejected"] == {"bad_timestamp": 1}
    assert np.isfinite(res.total()["gex"]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stamp=st.integers(min_value=-(2**63) + 1, max_value=I64_MAX), errors=st.sampled_from(["raise", "quarantine"]))
def test_any_timestamp_gives_a_result_or_a_flowgex_error(stamp, errors):
    t = trades(4)
    stamps = [int(x.value) for x in t["timestamp"]]
    tab = ns_frame(t, stamps[:-1] + [stamp])
    try:
        res = fg.flow_gex(tab, errors=errors, grid_limit=10**7)
    except fg.FlowgexError:
        return
    tot = res.total()
    assert np.isfinite(tot["gex"]).all()
    d = res.diagnostics
    assert d["trades_used"] + sum(d["rejected"].values()) == 4


@pytest.mark.parametrize("stamp", [I64_MAX, ts_limit() - 1])
def test_spot_and_chain_rows_at_the_limit_never_hang(stamp):
    import pyarrow as pa

    spot = pa.table(
        {
            "timestamp": pa.array([int(T0.value), stamp], pa.timestamp("ns", tz="UTC")),
            "asset": ["BTC", "BTC"],
            "price": [96_000.0, 96_000.0],
        }
    )
    with pytest.raises(fg.FlowgexError):
        fg.flow_gex(trades(), spot=spot)


# --- the grid budget ----------------------------------------------------------


def test_a_stray_row_in_1970_is_refused_with_the_span_and_the_remedies():
    t = with_row(trades(), 0, timestamp=pd.Timestamp("1970-01-02T00:00:00Z"))
    with pytest.raises(fg.GridLimitError) as info:
        fg.flow_gex(t, resolution="1s")
    msg = str(info.value)
    for part in (
        "1970-01-02",
        "2024-12-01",
        "grid_limit",
        "start=/end=",
        'keep_inventory=\\"last\\"'.replace("\\", ""),
    ):
        assert part in msg, part


def test_under_quarantine_an_isolated_outlier_is_set_aside_and_counted():
    t = with_row(trades(200), 0, timestamp=pd.Timestamp("1970-01-02T00:00:00Z"))
    res = fg.flow_gex(t, resolution="1s", errors="quarantine")
    assert res.diagnostics["rejected"] == {"outlier_timestamp": 1}
    assert res.times[0] >= T0
    clean = fg.flow_gex(trades(200), resolution="1s")
    pd.testing.assert_frame_equal(res.total(), clean.total())
    # With the rule off, the same input is refused.
    with pytest.raises(fg.GridLimitError):
        fg.flow_gex(t, resolution="1s", errors="quarantine", outlier_gap=None)


def test_the_outlier_rule_is_a_quarantine_rule_with_a_tunable_gap():
    t = with_row(trades(200), 0, timestamp=T0 - pd.Timedelta(days=40))
    # Under errors="raise" the row is good input: the grid starts 40 days earlier.
    res = fg.flow_gex(t, keep_inventory="last")
    assert res.diagnostics["rejected"] == {}
    assert res.times[0] < T0 - pd.Timedelta(days=39)
    # Under quarantine it is an isolated outlier (more than 30 days from the bulk, < 1% of rows) ...
    res = fg.flow_gex(t, errors="quarantine", keep_inventory="last")
    assert res.diagnostics["rejected"] == {"outlier_timestamp": 1}
    assert res.times[0] >= T0
    # ... unless the gap allows it, or the rule is off.
    for gap in ("60D", None):
        res = fg.flow_gex(t, errors="quarantine", keep_inventory="last", outlier_gap=gap)
        assert res.diagnostics["rejected"] == {}
    # Rows that are more than 1% of the call are data, not outliers.
    few = with_row(trades(20), 0, timestamp=T0 - pd.Timedelta(days=40))
    assert fg.flow_gex(few, errors="quarantine", keep_inventory="last").diagnostics["rejected"] == {}


@pytest.mark.parametrize(
    "kw",
    [
        {"resolution": "1ns"},
        {"end": "2262-01-01"},
        {"start": "1677-09-22", "resolution": "1min"},
        {"grid_limit": 10},
    ],
)
def test_huge_grids_are_refused_before_allocating(kw):
    with pytest.raises(fg.GridLimitError, match="grid_limit"):
        fg.flow_gex(trades(), **kw)


def test_the_grid_limit_can_be_raised():
    with pytest.raises(fg.GridLimitError):
        fg.flow_gex(trades(), resolution="1s", grid_limit=1000)
    res = fg.flow_gex(trades(), resolution="1s", grid_limit=10**6, keep_inventory="last")
    assert len(res.times) > 1000


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "big", 2**64])
def test_grid_limit_is_validated(bad):
    with pytest.raises(fg.OptionError):
        fg.flow_gex(trades(), grid_limit=bad)


@pytest.mark.parametrize("bad", [0, "-1D", "soon", "NaT"])
def test_outlier_gap_is_validated(bad):
    with pytest.raises(fg.OptionError):
        fg.flow_gex(trades(), outlier_gap=bad)


def test_an_end_past_the_grid_limit_of_time_is_an_option_error():
    with pytest.raises(fg.OptionError):
        fg.flow_gex(trades(), end=pd.Timestamp.max)


# --- values whose GEX would overflow ----------------------------------------


@pytest.mark.parametrize(
    "col,value,reason",
    [
        ("amount", 1e308, "bad_amount"),
        ("amount", 1e13, "bad_amount"),
        ("index_price", 1e300, "bad_price"),
        ("index_price", 1e-300, "bad_price"),
        ("iv", 1e-300, "bad_iv"),
        ("iv", 1e300, "bad_iv"),
    ],
)
def test_values_whose_gex_would_overflow_are_bad_rows(col, value, reason):
    t = with_row(trades(), 3, **{col: value})
    with pytest.raises(fg.BadRowsError, match=reason):
        fg.flow_gex(t)
    res = fg.flow_gex(t, errors="quarantine")
    assert res.diagnostics["rejected"] == {reason: 1}
    for table in (res.total(), res.by_strike(), res.inventory()):
        num = table.select_dtypes("number")
        assert np.isfinite(num.to_numpy()).all()


def test_open_interest_of_1e308_is_a_bad_chain_row():
    chain = pd.DataFrame(
        {
            "timestamp": [T0, T0 + pd.Timedelta(minutes=1)],
            "instrument": ["BTC-27DEC24-100000-C"] * 2,
            "mark_iv": [0.5, 0.5],
            "underlying_price": [96_000.0] * 2,
            "open_interest": [10.0, 1e308],
        }
    )
    out = fg.flow_gex(trades(), chain, errors="quarantine")
    assert out.diagnostics["chain_rejected"] == {"bad_open_interest": 1}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    amount=st.floats(allow_nan=True, allow_infinity=True),
    px=st.floats(allow_nan=True, allow_infinity=True),
    iv=st.floats(allow_nan=True, allow_infinity=True),
)
def test_any_float_gives_finite_results_or_a_counted_bad_row(amount, px, iv):
    t = with_row(trades(), 2, amount=amount, index_price=px, iv=iv)
    res = fg.flow_gex(t, errors="quarantine", missing_vol=0.5)
    d = res.diagnostics
    assert d["trades_used"] + sum(d["rejected"].values()) == len(t)
    for table in (res.total(), res.by_strike(), res.inventory()):
        assert np.isfinite(table.select_dtypes("number").to_numpy()).all()


# --- zero iv / index price: no observation, the flow counts -------------------


def test_a_trade_with_iv_zero_keeps_its_flow():
    t = trades(6)
    z = t.copy()
    z.loc[3, "iv"] = 0.0
    z.loc[4, "index_price"] = 0.0
    res = fg.flow_gex(z)
    assert res.diagnostics["rejected"] == {}
    inv_z = res.inventory(at="last").set_index("instrument")["inventory"]
    inv = fg.flow_gex(t).inventory(at="last").set_index("instrument")["inventory"]
    pd.testing.assert_series_equal(inv_z, inv)


def test_zero_iv_is_no_observation_not_a_vol_of_zero():
    t = trades(2)
    t.loc[1, "iv"] = 0.0
    t.loc[1, "timestamp"] = T0 + pd.Timedelta(minutes=30)
    t.loc[1, "instrument"] = t.loc[0, "instrument"]
    res = fg.flow_gex(t)
    inv = res.inventory()
    c = inv[inv.instrument == "BTC-27DEC24-100000-C"]
    assert (c["vol"] == 0.5).all()


# --- chain rows after expiry ---------------------------------------------------


def test_a_chain_day_spanning_an_expiry_runs_with_default_options():
    expiry = pd.Timestamp("2024-12-02T08:00:00Z")
    times = pd.date_range("2024-12-02T07:00:00Z", "2024-12-02T09:00:00Z", freq="5min")
    chain = pd.DataFrame(
        {
            "timestamp": np.repeat(times, 2),
            "instrument": ["BTC-2DEC24-100000-C", "BTC-27DEC24-100000-C"] * len(times),
            "mark_iv": 0.5,
            "underlying_price": 96_000.0,
            "open_interest": 5.0,
        }
    )
    t = pd.DataFrame(
        {
            "timestamp": [expiry - pd.Timedelta(minutes=50), expiry + pd.Timedelta(minutes=30)],
            "instrument": ["BTC-2DEC24-100000-C", "BTC-27DEC24-100000-C"],
            "side": ["buy", "sell"],
            "amount": [1.0, 2.0],
        }
    )
    res = fg.flow_gex(t, chain)
    after = int((chain.timestamp >= expiry).sum() / 2)
    assert res.diagnostics["chain_after_expiry"] == after
    assert res.diagnostics["chain_rejected"] == {}
    assert np.isfinite(res.total()["gex"]).all()


# --- unknown multipliers ------------------------------------------------------


def test_an_option_of_an_unknown_asset_is_a_counted_bad_row():
    t = with_row(trades(), 2, instrument="DOGE_USDC-27DEC24-0d3-C")
    with pytest.raises(fg.BadRowsError, match="unknown_multiplier"):
        fg.flow_gex(t)
    res = fg.flow_gex(t, errors="quarantine")
    assert res.diagnostics["rejected"] == {"unknown_multiplier": 1}
    ok = fg.flow_gex(t, multipliers={"DOGE": 1000})
    assert "DOGE" in ok.assets


# --- snapshots: any bytes give an engine or a SnapshotError ------------------

CHILD = textwrap.dedent(
    """
    import sys, flowgex as fg
    blob = open(sys.argv[1], "rb").read()
    try:
        eng = fg.Engine.restore(blob)
    except fg.SnapshotError:
        print("snapshot-error"); sys.exit(0)
    except BaseException as exc:
        print("foreign", type(exc).__name__, exc); sys.exit(3)
    print("restored", repr(float(eng.result().total()["gex"].sum())))
    """
)


@pytest.fixture(scope="module")
def snapshot_blob(tmp_path_factory):
    eng = fg.Engine(errors="quarantine")
    eng.update(with_row(trades(40), 5, amount=-1.0))
    blob = eng.snapshot()
    total = repr(float(eng.result().total()["gex"].sum()))
    return blob, total, tmp_path_factory.mktemp("snap")


def _run_child(tmp, blob: bytes) -> tuple[int, str]:
    path = tmp / "blob.bin"
    path.write_bytes(blob)
    p = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout.strip() + p.stderr.strip()[-500:]


def test_snapshot_round_trip_in_a_child(snapshot_blob):
    blob, total, tmp = snapshot_blob
    code, out = _run_child(tmp, blob)
    assert (code, out) == (0, f"restored {total}")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_flipped_bits_and_cuts_never_crash_or_change_totals(snapshot_blob, data):
    blob, total, tmp = snapshot_blob
    kind = data.draw(st.sampled_from(["flip", "cut", "random"]))
    b = bytearray(blob)
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(b) - 1))
            b[i] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "cut":
        b = b[: data.draw(st.integers(0, len(b) - 1))]
    else:
        b = bytearray(data.draw(st.binary(max_size=4096)))
    code, out = _run_child(tmp, bytes(b))
    assert code == 0, out
    assert out in ("snapshot-error", f"restored {total}"), out


def test_a_core_blob_with_a_valid_checksum_but_bad_contents_is_refused():
    """Deeper than the checksum: a re-sealed blob whose payload was altered."""
    import struct

    from xxhash import xxh3_64_intdigest  # type: ignore[import-not-found]

    eng = fg.Engine()
    eng.update(trades(20))
    core = bytes(eng._core.snapshot())
    body = bytearray(core[28:])
    rng = np.random.default_rng(1)
    outcomes = set()
    for _ in range(200):
        b = bytearray(body)
        i = int(rng.integers(0, len(b)))
        b[i] ^= 1 << int(rng.integers(0, 8))
        sealed = core[:12] + struct.pack("<QQ", len(b), xxh3_64_intdigest(bytes(b))) + bytes(b)
        try:
            fg._core.CoreEngine.restore(sealed)
            outcomes.add("restored")
        except fg.SnapshotError:
            outcomes.add("snapshot-error")
    assert "snapshot-error" in outcomes
    assert outcomes <= {"restored", "snapshot-error"}


def test_the_core_and_the_readers_share_one_multiplier_table():
    from flowgex import _core
    from flowgex.multipliers import BUILTIN_MULTIPLIERS

    assert dict(_core.builtin_multipliers()) == dict(BUILTIN_MULTIPLIERS)


def test_linear_families_resolve_by_asset_and_quote():
    t = with_row(trades(), 2, instrument="AVAX_USDC-27DEC24-30-C", index_price=30.0)
    res = fg.flow_gex(t)
    inv = res.inventory(at="last")
    row = inv[inv.instrument == "AVAX_USDC-27DEC24-30-C"]
    assert len(row) == 1 and np.isfinite(row["gex"]).all()


def test_a_hundred_thousand_instruments_in_a_day_with_keep_all_is_refused_not_an_abort():
    """The "a million instruments in one day" case, scaled to the test: with the limit
    scaled down too (about 7 million cells here, 5 million allowed), the run is refused
    before allocating."""
    n = 100_000
    names = [f"BTC-27DEC24-{10_000 + k}-{'C' if k % 2 else 'P'}" for k in range(n)]
    t = pd.DataFrame(
        {
            "timestamp": T0 + pd.to_timedelta(np.arange(n) * 864_000_000, unit="ns"),
            "instrument": names,
            "side": "buy",
            "amount": 1.0,
            "index_price": 96_000.0,
            "iv": 0.5,
        }
    )
    with pytest.raises(fg.GridLimitError, match="live options"):
        fg.flow_gex(t, grid_limit=5_000_000)


@pytest.mark.parametrize("seed", [1e308, -1e16, float("inf"), float("nan")])
def test_a_seeded_inventory_out_of_range_is_an_option_error(seed):
    with pytest.raises(fg.OptionError, match="initial"):
        fg.flow_gex(trades(), initial={"BTC-27DEC24-100000-C": seed})
    ok = fg.flow_gex(trades(), initial={"BTC-27DEC24-100000-C": 1e15})
    assert np.isfinite(ok.total()["gex"]).all()
