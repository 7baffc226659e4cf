"""Rust == the pure-Python reference for DEX, VEX and CEX (rules 15–16) on random
markets, to the DESIGN tolerance (1e-9 relative, 1e-12 absolute; sums judged
relative to the sum of their terms' magnitudes), with any subset of greeks,
every unit, a rate, retention options and seeds; and the reference's own greeks
against the definitions by finite differences of its delta."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import flowgex as fg
from compare import assert_close
from flowgex.reference import first_order
from strategies import markets

SUBSETS = st.lists(st.sampled_from(["gamma", "delta", "vanna", "charm"]), max_size=4)


def _opts(m, **kw):
    return {"resolution": m.resolution, "errors": "quarantine", "missing_vol": "skip", "missing_spot": "skip", **kw}


@given(
    markets(bad=True),
    SUBSETS,
    st.sampled_from(["usd_per_1pct", "usd_per_point", "underlying"]),
    st.sampled_from([0.0, 0.05, -0.02]),
    st.sampled_from(["all", "last"]),
    st.booleans(),
)
def test_rust_equals_reference_for_every_exposure(m, greeks, unit, r, keep, seed):
    kw = _opts(m, greeks=greeks, unit=unit, r=r, missing_vol=0.45, keep_inventory=keep, keep_aggregates=keep)
    if seed:
        kw["initial"] = pd.DataFrame(
            {"instrument": ["BTC-27DEC24-100000-P", "eth-6dec24-3500-c"], "inventory": [5.0, -2.5]}
        )
    fast = fg.flow_gex(m.trades, m.chain, m.spot, **kw)
    ref = fg.flow_gex(m.trades, m.chain, m.spot, engine="reference", **kw)
    assert (
        fast.exposures
        == ref.exposures
        == tuple(x for g, x in (("delta", "dex"), ("vanna", "vex"), ("charm", "cex")) if g in greeks)
    )
    assert_close(fast, ref)


@given(
    st.floats(0.2, 5.0),
    st.floats(0.005, 3.0),
    st.floats(0.1, 1.5),
    st.sampled_from([0.0, 0.04, -0.03]),
    st.booleans(),
)
def test_reference_greeks_are_derivatives_of_its_delta(moneyness, T, sigma, r, call):
    # Central differences of the reference delta (step h, error O(h²)) against its vanna and charm.
    S, K = 100.0 * moneyness, 100.0
    d, vanna, charm = first_order(S, K, T, sigma, r, call)
    hv, ht = 1e-5, 1e-6 * T
    dv = (first_order(S, K, T, sigma + hv, r, call)[0] - first_order(S, K, T, sigma - hv, r, call)[0]) / (2 * hv)
    dt = (first_order(S, K, T + ht, sigma, r, call)[0] - first_order(S, K, T - ht, sigma, r, call)[0]) / (2 * ht)
    assert math.isclose(vanna, dv, rel_tol=1e-5, abs_tol=1e-7)
    assert math.isclose(charm, -dt, rel_tol=1e-4, abs_tol=1e-6 / T)
    # Put–call relation of rule 15: Δ_C − Δ_P = e^{−rT}.
    other = first_order(S, K, T, sigma, r, not call)[0]
    assert math.isclose(abs(d - other), math.exp(-r * T), rel_tol=1e-12)


def test_reference_greeks_of_degenerate_inputs_are_zero():
    for args in [
        (0.0, 1.0, 1.0, 0.5),
        (1.0, 1.0, 0.0, 0.5),
        (1.0, 1.0, 1.0, 0.0),
        (1.0, -1.0, 1.0, 0.5),
        (math.inf, 1.0, 1.0, 0.5),
        (1.0, 1.0, math.nan, 0.5),
    ]:
        assert first_order(*args, 0.0, True) == (0.0, 0.0, 0.0)
