"""levels_series(lookback=...): the change of total and near-spot GEX over a
lookback (DESIGN rule 17), checked against the series' own values shifted by
hand, row by row."""

from __future__ import annotations

import pandas as pd
import pytest

import flowgex as fg


@pytest.fixture(scope="module")
def res():
    m = fg.simulate(days=1, assets=("BTC",), seed=5, trades_per_day=400)
    return fg.flow_gex(m.trades, m.chain, m.spot)


@pytest.mark.parametrize("lookback", ["10min", "1h", "6h"])
def test_changes_equal_the_series_minus_itself_lookback_earlier(res, lookback):
    s = res.levels_series("BTC", lookback=lookback)
    plain = res.levels_series("BTC")
    pd.testing.assert_frame_equal(s[plain.columns], plain)
    by_time = plain.set_index("time")
    lb = pd.Timedelta(lookback)
    for _, row in s.iterrows():
        before = row["time"] - lb
        for col in ("total_gex", "near_spot_gex"):
            got = row[f"{col}_change"]
            if before in by_time.index:
                assert got == row[col] - by_time.loc[before, col]
            else:
                assert got is pd.NA
    assert s["total_gex_change"].notna().sum() == len(s) - lb // pd.Timedelta("10min")


@pytest.mark.parametrize("bad", ["7min", "-1h", "soon", 0])
def test_a_lookback_off_the_grid_is_an_option_error(res, bad):
    with pytest.raises(fg.OptionError, match="lookback"):
        res.levels_series("BTC", lookback=bad)
