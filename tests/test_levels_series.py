"""res.levels_series: every grid time's levels, as fg.levels gives them one at a
time, computed in one pass of the Rust profile kernel; no NaN, nullable flips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brute
import flowgex as fg
from flowgex.analytics import series as series_module
from test_levels_profile import flow_market


@pytest.fixture(scope="module")
def res() -> fg.GexResult:
    return fg.flow_gex(flow_market(900, seed=5), resolution="30min")


def test_series_matches_levels_at_every_step(res):
    s = res.levels_series("BTC")
    assert list(s.columns) == ["time", "spot", "total_gex", "near_spot_gex", "flip", "crossings", "regime"]
    assert str(s["time"].dtype) == "datetime64[ns, UTC]" and str(s["flip"].dtype) == "Float64"
    assert len(s) == len(res.total(asset="BTC"))
    for row in s.itertuples():
        lv = fg.levels(res, "BTC", at=row.time)
        assert lv.time == row.time and lv.spot == row.spot and lv.total_gex == row.total_gex
        assert lv.near_spot_gex == pytest.approx(row.near_spot_gex, rel=1e-12, abs=1e-9)
        assert lv.regime == row.regime and len(lv.flips) == row.crossings
        assert (lv.flip is None) == (row.flip is pd.NA)
        if lv.flip is not None:
            assert lv.flip == row.flip, "same grid, same kernel: bit-identical flips"


def test_series_flips_against_brute_force_on_a_few_steps(res):
    s = res.levels_series("BTC")
    for i in (3, len(s) // 2, len(s) - 1):
        rows, spot, _ = brute.options(res, "BTC", s["time"].iloc[i])
        want = brute.levels(rows, spot)
        got = s["flip"].iloc[i]
        assert brute.close(None if got is pd.NA else float(got), want["flip"], rel=1e-9)
        assert s["regime"].iloc[i] == want["regime"]


def test_no_nan_and_missing_flips_are_na(res):
    s = res.levels_series("BTC", width=0.01)  # a narrow grid: many steps without a crossing
    assert s["flip"].isna().any() and not s["flip"].isna().all()
    numeric = s[["spot", "total_gex", "near_spot_gex"]].to_numpy(dtype=float)
    assert np.isfinite(numeric).all()
    present = s["flip"].dropna().to_numpy(dtype=float)
    assert np.isfinite(present).all()
    assert ((s["crossings"] == 0) == s["flip"].isna()).all()
    assert set(s["regime"].cat.categories) == {"sticky", "slippery"}


def test_batches_do_not_change_the_result(res, monkeypatch):
    whole = res.levels_series("BTC")
    monkeypatch.setattr(series_module, "_BATCH_ROWS", 7)
    pd.testing.assert_frame_equal(res.levels_series("BTC"), whole)


def test_module_function_and_method_agree(res):
    pd.testing.assert_frame_equal(fg.levels_series(res, "BTC", band=0.05), res.levels_series("BTC", band=0.05))


def test_needs_every_steps_inventory():
    lean = fg.flow_gex(flow_market(300), keep_inventory="last")
    with pytest.raises(fg.OptionError, match="keep_inventory='all'"):
        lean.levels_series("BTC")
    with pytest.raises(fg.OptionError, match="not in this result"):
        fg.flow_gex(flow_market(50)).levels_series("ETH")
