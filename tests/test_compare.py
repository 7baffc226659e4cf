"""fg.compare: strike-by-strike verdicts and the one-line summary, checked
against by_strike tables joined and classified by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowgex as fg
from test_levels_profile import T0, classic_chain, flow_market


@pytest.fixture(scope="module")
def pair() -> tuple[fg.GexResult, fg.GexResult]:
    return fg.flow_gex(flow_market()), fg.classic_gex(classic_chain())


def verdict(f: float, c: float, ratio: float = 2.0) -> str:
    if f == 0 and c == 0:
        return "both zero"
    if c == 0:
        return "flow only"
    if f == 0:
        return "classic only"
    if (f > 0) != (c > 0):
        return "opposite sign"
    return "agree" if max(abs(f), abs(c)) <= ratio * min(abs(f), abs(c)) else "same sign, size differs"


def test_table_matches_the_two_strike_charts(pair):
    flow, classic = pair
    cmp = fg.compare(flow, classic, "BTC")
    f = flow.by_strike(asset="BTC", at="last").set_index("strike")["gex"]
    c = classic.by_strike(asset="BTC", at="last").set_index("strike")["gex"]
    strikes = sorted(set(f.index) | set(c.index))
    t = cmp.table
    assert list(t.columns) == ["strike", "flow_gex", "classic_gex", "difference", "same_sign", "size_ratio", "verdict"]
    assert t["strike"].tolist() == strikes
    for row in t.itertuples():
        fv, cv = float(f.get(row.strike, 0.0)), float(c.get(row.strike, 0.0))
        assert row.flow_gex == fv and row.classic_gex == cv and row.difference == fv - cv
        assert row.verdict == verdict(fv, cv)
        assert row.same_sign == (fv != 0 and np.sign(fv) == np.sign(cv))
        if cv == 0:
            assert row.size_ratio is pd.NA
        else:
            assert row.size_ratio == pytest.approx(abs(fv) / abs(cv))
    assert not t[["flow_gex", "classic_gex", "difference"]].isna().any().any()


def test_summary_counts_and_levels(pair):
    flow, classic = pair
    cmp = fg.compare(flow, classic, "btc")
    t = cmp.table
    active = (t.flow_gex != 0) | (t.classic_gex != 0)
    same, opposite = int(t.same_sign.sum()), int((t.verdict == "opposite sign").sum())
    assert cmp.sign_agreement == pytest.approx(same / active.sum())
    assert f"same sign on {same}/{int(active.sum())} strikes" in cmp.summary
    assert f"opposite on {opposite}" in cmp.summary and str(cmp) == cmp.summary and "\n" not in cmp.summary
    assert cmp.flow_flip == fg.levels(flow, "BTC").flip and cmp.classic_flip == fg.levels(classic, "BTC").flip
    assert cmp.flow_total == fg.levels(flow, "BTC").total_gex
    assert opposite > 0, "this market's dealers are short upside calls, classic assumes long"


def test_size_ratio_option_moves_verdicts(pair):
    flow, classic = pair
    loose = fg.compare(flow, classic, "BTC", size_ratio=1e9).table
    strict = fg.compare(flow, classic, "BTC", size_ratio=1.0).table
    assert (loose.verdict == "same sign, size differs").sum() == 0
    assert (strict.verdict == "agree").sum() <= (loose.verdict == "agree").sum()


def test_compare_at_a_time(pair):
    flow, classic = pair
    cmp = fg.compare(flow, classic, "BTC", at=T0 + pd.Timedelta("6h"))
    assert cmp.flow_time == T0 + pd.Timedelta("6h") and cmp.classic_time == T0


def test_bad_input(pair):
    flow, classic = pair
    with pytest.raises(fg.OptionError, match="size_ratio"):
        fg.compare(flow, classic, "BTC", size_ratio=0.5)
    with pytest.raises(fg.OptionError, match="not in this result"):
        fg.compare(flow, classic, "ETH")
    with pytest.raises(fg.OptionError, match="units"):
        fg.compare(fg.flow_gex(flow_market(100), unit="underlying"), classic, "BTC")
