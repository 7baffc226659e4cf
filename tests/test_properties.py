"""Property tests on random markets (see strategies.py):

- the Rust engine equals the pure-Python reference to 1e-9 relative, rows,
  keys, diagnostics and rejected rows included;
- any split of a time-ordered stream into chunks, with snapshots and restores
  in between, is bit-identical to one call;
- serial and parallel runs are bit-identical (including the per-asset
  parallel replay used with last-step retention).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import flowgex as fg
from compare import assert_close, assert_identical
from strategies import DAY, T0, markets


def _opts(m, **kw):
    return {"resolution": m.resolution, "errors": "quarantine", "missing_vol": "skip", "missing_spot": "skip", **kw}


@given(markets(bad=True))
def test_rust_equals_reference(m):
    fast = fg.flow_gex(m.trades, m.chain, m.spot, **_opts(m))
    ref = fg.flow_gex(m.trades, m.chain, m.spot, engine="reference", **_opts(m))
    assert_close(fast, ref)


@given(markets(bad=True), st.sampled_from(["all", "last"]), st.sampled_from(["all", "last"]))
def test_retention_options_agree_with_the_reference(m, inventory, aggregates):
    kw = _opts(m, keep_inventory=inventory, keep_aggregates=aggregates)
    lean = fg.flow_gex(m.trades, m.chain, m.spot, **kw)
    assert_close(lean, fg.flow_gex(m.trades, m.chain, m.spot, engine="reference", **kw))
    full = fg.flow_gex(m.trades, m.chain, m.spot, **_opts(m))
    pd.testing.assert_frame_equal(lean.total(), full.total())


@given(
    markets(),
    st.sampled_from(["usd_per_1pct", "usd_per_point", "underlying"]),
    st.sampled_from([0.0, 0.05]),
    st.one_of(st.none(), st.integers(-3 * 3600, 30 * 3600)),
    st.one_of(st.none(), st.integers(0, 60 * 3600)),
    st.booleans(),
)
def test_rust_equals_reference_with_options(m, unit, r, start, span, seed):
    kw = _opts(m, unit=unit, r=r, missing_vol=0.45)
    if start is not None:
        kw["start"] = pd.Timestamp(T0 + start * 10**9, tz="UTC")
        if span is not None:
            kw["end"] = kw["start"] + pd.Timedelta(seconds=span) + pd.Timedelta(m.resolution)
    if seed:
        kw["initial"] = pd.DataFrame(
            {"instrument": ["BTC-27DEC24-100000-P", "eth-6dec24-3500-c"], "inventory": [5.0, -2.5]}
        )
    assert_close(
        fg.flow_gex(m.trades, m.chain, m.spot, **kw), fg.flow_gex(m.trades, m.chain, m.spot, engine="reference", **kw)
    )


def _time_sorted(df):
    return None if df is None else df.sort_values("timestamp", kind="stable").reset_index(drop=True)


@given(markets(), st.data())
def test_any_chunking_with_snapshots_is_bit_identical(m, data):
    trades, chain, spot = _time_sorted(m.trades), _time_sorted(m.chain), _time_sorted(m.spot)
    kw = _opts(m)
    whole = fg.flow_gex(trades, chain, spot, **kw)

    cuts = sorted(data.draw(st.lists(st.integers(0, 2 * DAY), max_size=6)))
    edges = [None] + [pd.Timestamp(T0 + c, tz="UTC") for c in cuts] + [None]
    eng = fg.Engine(**kw)
    for lo, hi in zip(edges[:-1], edges[1:]):

        def part(df, lo=lo, hi=hi):
            if df is None:
                return None
            keep = np.ones(len(df), dtype=bool)
            if lo is not None:
                keep &= (df.timestamp >= lo).to_numpy()
            if hi is not None:
                keep &= (df.timestamp < hi).to_numpy()
            return df[keep]

        eng.update(part(trades), part(chain), part(spot))
        if data.draw(st.booleans()):
            eng.result()  # reading a result must not disturb the stream
        if data.draw(st.booleans()):
            eng = fg.Engine.restore(eng.snapshot())
    assert_identical(eng.result(), whole)
    assert_identical(eng.finish(), whole)


@given(markets(with_chain=False), st.lists(st.integers(0, 200), max_size=5))
def test_row_splits_that_cut_equal_timestamps_are_bit_identical(m, cuts):
    trades = _time_sorted(m.trades)
    kw = _opts(m)
    whole = fg.flow_gex(trades, **kw)
    eng = fg.Engine(**kw)
    bounds = [0] + sorted(c % (len(trades) + 1) for c in cuts) + [len(trades)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        eng.update(trades.iloc[lo:hi])
    assert_identical(eng.result(), whole)


@given(markets(bad=True))
def test_threads_do_not_change_a_bit(m):
    one = fg.flow_gex(m.trades, m.chain, m.spot, **_opts(m, threads=1))
    two = fg.flow_gex(m.trades, m.chain, m.spot, **_opts(m, threads=2))
    assert_identical(one, two)
    assert one.diagnostics == two.diagnostics


@given(markets(bad=True), st.data())
def test_per_asset_parallel_replay_is_bit_identical_to_serial(m, data):
    # keep_*="last" on two threads replays each update asset by asset (Rust
    # `shard`): chunked, seeded, with start/end, it equals one thread bit for bit.
    kw = _opts(m, keep_inventory="last", keep_aggregates="last", missing_vol=0.45)
    if data.draw(st.booleans()):
        kw["initial"] = {"BTC-27DEC24-100000-P": 5.0, "eth-6dec24-3500-c": -2.5}
    if data.draw(st.booleans()):
        kw["start"] = pd.Timestamp(T0 + data.draw(st.integers(-3600, 20 * 3600)) * 10**9, tz="UTC")
        kw["end"] = kw["start"] + pd.Timedelta(m.resolution) + pd.Timedelta(hours=data.draw(st.integers(0, 40)))
    trades, chain, spot = _time_sorted(m.trades), _time_sorted(m.chain), _time_sorted(m.spot)
    cuts = sorted(data.draw(st.lists(st.integers(0, 2 * DAY), max_size=4)))
    edges = [None] + [pd.Timestamp(T0 + c, tz="UTC") for c in cuts] + [None]
    got = []
    for threads in (1, 2):
        eng = fg.Engine(threads=threads, **kw)
        for lo, hi in zip(edges[:-1], edges[1:]):

            def part(df, lo=lo, hi=hi):
                if df is None:
                    return None
                keep = np.ones(len(df), dtype=bool)
                if lo is not None:
                    keep &= (df.timestamp >= lo).to_numpy()
                if hi is not None:
                    keep &= (df.timestamp < hi).to_numpy()
                return df[keep]

            eng.update(part(trades), part(chain), part(spot))
        got.append(eng.finish())
    assert_identical(got[1], got[0])
    assert got[1].diagnostics == got[0].diagnostics


@given(markets(bad=True))
def test_results_never_hold_nan_or_inf(m):
    res = fg.flow_gex(m.trades, m.chain, m.spot, **_opts(m))
    for frame in (res.inventory(), res.by_strike(), res.by_expiry(), res.total()):
        numbers = frame.select_dtypes("number").to_numpy()
        assert np.isfinite(numbers).all()
