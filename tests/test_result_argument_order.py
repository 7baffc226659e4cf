"""GexResult.inventory / to_arrow take (asset, at) like every other table; the old
positional order (at, asset) still gives the same rows, with a FutureWarning."""

from __future__ import annotations

import pandas as pd
import pytest

import flowgex as fg


@pytest.fixture(scope="module")
def res() -> fg.GexResult:
    m = fg.simulate(days=1, assets=("BTC", "ETH"), seed=5, trades_per_day=200)
    return fg.flow_gex(m.trades, m.chain, m.spot)


def test_new_order_matches_keywords(res: fg.GexResult) -> None:
    want = res.inventory(asset="ETH", at="last")
    assert len(want) and set(want["asset"]) == {"ETH"}
    assert want["time"].nunique() == 1 and want["time"].iloc[0] == res.times[-1]
    pd.testing.assert_frame_equal(res.inventory("ETH", "last"), want)
    assert res.to_arrow("ETH", "last").equals(res.to_arrow(asset="ETH", at="last"))
    # Same order as the other tables.
    assert set(res.by_strike("ETH", "last")["asset"]) == {"ETH"}


@pytest.mark.parametrize("at", ["last", "2024-11-25 12:00"])
def test_old_positional_order_still_works_with_a_warning(res: fg.GexResult, at: str) -> None:
    want = res.inventory(asset="BTC", at=at)
    with pytest.warns(FutureWarning, match=r"\(asset, at\)"):
        got = res.inventory(at, "BTC")
    pd.testing.assert_frame_equal(got, want)
    with pytest.warns(FutureWarning):
        only_at = res.inventory(at)
    pd.testing.assert_frame_equal(only_at, res.inventory(at=at))
    with pytest.warns(FutureWarning):
        assert res.to_arrow(at, "BTC").equals(res.to_arrow(asset="BTC", at=at))


def test_unknown_asset_is_still_no_rows(res: fg.GexResult) -> None:
    assert len(res.inventory("DOGE")) == 0
    assert len(res.inventory(asset="DOGE", at="last")) == 0
