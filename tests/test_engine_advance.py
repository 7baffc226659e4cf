"""`Engine.advance`: the event clock moves without a row (DESIGN rule 19).

The contract a live feed relies on: advancing the clock between chunks commits
the steps before the clock's bucket, makes older rows `late`, and otherwise
changes nothing, so a stream with clock ticks anywhere gives bit for bit the
one-shot result of the same rows. And the missing-data errors carry where they
happened as attributes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowgex as fg
from compare import assert_identical
from simmarket import market

TEN_MIN = 600 * 10**9


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _windows(tables: tuple[pd.DataFrame, ...], cuts: list[int]) -> list[tuple[pd.DataFrame, ...]]:
    """The tables split at the given trade rows' times (every table by time, so each chunk is in order)."""
    trades = tables[0]
    times = sorted({int(trades["timestamp"].iloc[c].value) for c in cuts})
    edges = [np.iinfo(np.int64).min, *times, np.iinfo(np.int64).max]
    out = []
    for lo, hi in zip(edges, edges[1:]):
        out.append(
            tuple(t[(t["timestamp"].astype("int64") >= lo) & (t["timestamp"].astype("int64") < hi)] for t in tables)
        )
    return out


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 599), max_size=6),
    lag=st.floats(0.0, 1.0),
)
def test_clock_ticks_between_chunks_change_nothing(seed: int, cuts: list[int], lag: float) -> None:
    """Ticks at any time up to the next chunk's first row: same result as one call."""
    m = market(seed, n=600, chain=True, spot=True)
    tables = (_sorted(m.trades), _sorted(m.chain), _sorted(m.spot))
    expected = fg.flow_gex(*tables)

    eng = fg.Engine()
    parts = _windows(tables, cuts)
    for k, part in enumerate(parts):
        eng.update(*part)
        if k + 1 < len(parts):
            last = max(t["timestamp"].iloc[-1].value for t in part if len(t))
            nxt = min(t["timestamp"].iloc[0].value for t in parts[k + 1] if len(t))
            eng.advance(last + int((nxt - last) * lag))
    assert_identical(eng.finish(), expected)


def test_advance_commits_steps_before_the_clock() -> None:
    m = market(3, n=400)
    trades = _sorted(m.trades)
    eng = fg.Engine(resolution="10min", missing_vol=0.5)
    eng.update(trades.iloc[:1])
    first = trades["timestamp"].iloc[0].value
    label = (first // TEN_MIN + 1) * TEN_MIN
    assert eng.open_bucket == label
    assert eng.buffered_steps() == 0  # the first bucket is still open
    eng.advance(label + 3 * TEN_MIN + 1)  # the clock is inside the bucket labelled label + 4Δ
    assert eng.open_bucket == label + 4 * TEN_MIN
    assert eng.buffered_steps() == 4  # steps label .. label + 3Δ are final
    drained = eng.drain()
    # drain stops at the last trade's bucket: only the step holding the trade is final output
    assert list(drained.times) == [pd.Timestamp(label, tz="UTC")]


def test_rows_before_the_clock_are_late() -> None:
    m = market(4, n=300)
    trades = _sorted(m.trades)
    head, tail = trades.iloc[:100], trades.iloc[100:]
    clock = tail["timestamp"].iloc[-1].value  # everything in `tail` before this bucket is now late
    eng = fg.Engine(errors="quarantine", missing_vol=0.5)
    eng.update(head)
    eng.advance(clock)
    eng.update(tail)
    res = eng.finish()
    late = res.diagnostics.rejected_rows["trades"].to_pandas()
    start = (clock // TEN_MIN) * TEN_MIN
    expected_late = int((tail["timestamp"].astype("int64") < start).sum())
    assert expected_late > 0
    assert int((late["reason"] == "late").sum()) == expected_late

    strict = fg.Engine(missing_vol=0.5)
    strict.update(head)
    strict.advance(clock)
    with pytest.raises(fg.errors.BadRowsError):
        strict.update(tail)


def test_earlier_clock_is_a_no_op_and_survives_snapshots() -> None:
    trades = _sorted(market(5, n=300).trades)
    eng = fg.Engine(missing_vol=0.5)
    eng.update(trades.iloc[:50])
    t = trades["timestamp"].iloc[120].value
    eng.advance(t)
    bucket = eng.open_bucket
    eng.advance(t - 5 * TEN_MIN)
    assert eng.open_bucket == bucket
    restored = fg.Engine.restore(eng.snapshot())
    assert restored.open_bucket == bucket
    restored.update(trades.iloc[120:])
    eng.update(trades.iloc[120:])
    assert_identical(restored.finish(), eng.finish())


@pytest.mark.parametrize("bad", ["not a time", True, "2262-04-12", np.iinfo(np.int64).max])
def test_bad_clocks_raise_option_errors(bad: object) -> None:
    eng = fg.Engine()
    with pytest.raises(fg.errors.OptionError):
        eng.advance(bad)


def test_missing_data_errors_say_where() -> None:
    trades = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-12-01 00:03", "2024-12-01 00:25"], utc=True),
            "instrument": ["BTC-27DEC24-100000-C", "BTC-27DEC24-100000-C"],
            "side": ["buy", "sell"],
            "amount": [1.0, 2.0],
            "index_price": [95_000.0, 95_100.0],
        }
    )
    with pytest.raises(fg.errors.MissingVolError) as info:
        fg.flow_gex(trades)
    assert info.value.instrument == "BTC-27DEC24-100000-C"
    assert info.value.time_ns == pd.Timestamp("2024-12-01 00:10", tz="UTC").value
    assert "2024-12-01" in str(info.value)
    with pytest.raises(fg.errors.MissingSpotError) as spot_info:
        fg.flow_gex(trades.assign(index_price=np.nan, iv=0.5))
    assert spot_info.value.instrument == "BTC-27DEC24-100000-C"
    assert spot_info.value.time_ns == pd.Timestamp("2024-12-01 00:10", tz="UTC").value
