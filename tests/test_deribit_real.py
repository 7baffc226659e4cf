"""Real Deribit BTC option tickers (2020, with Deribit's own greeks), read in place."""

from __future__ import annotations

import ast
import math

import numpy as np
import pandas as pd
import pytest

import flowgex as fg
from flowgex import reference

FILES = ["btc_options_data_2020-05-14.csv", "btc_options_data_2020-05-21.csv"]


def load(shared_data, name: str) -> pd.DataFrame:
    df = pd.read_csv(shared_data / "deribit_ticker_2020" / name)
    df["deribit_gamma"] = [ast.literal_eval(g)["gamma"] for g in df["greeks"]]
    return df


@pytest.mark.parametrize("name", FILES)
def test_parsed_expiry_is_deribits(shared_data, name):
    df = load(shared_data, name)
    for inst, exp_ms, strike, kind in zip(df.instrument_name, df.expiration_timestamp, df.strike, df.option_type):
        parsed = fg.parse_instrument(inst)
        assert int(parsed.expiry.timestamp() * 1000) == exp_ms, inst
        assert parsed.strike == strike and parsed.kind == kind[0].upper()


@pytest.mark.parametrize("name", FILES)
def test_black76_reproduces_deribit_gamma(shared_data, name):
    df = load(shared_data, name)
    expiry_ns = np.array([int(fg.parse_instrument(n).expiry.timestamp()) * 10**9 for n in df.instrument_name])
    T = (expiry_ns - df.timestamp.to_numpy() * 10**6) / (365 * 86400 * 1e9)
    g = fg.black76_gamma(df.underlying_price.to_numpy(), df.strike.to_numpy(), T, df.mark_iv.to_numpy() / 100.0)
    match = np.round(g, 5) == df.deribit_gamma.to_numpy()
    assert match.mean() >= 0.99, (
        f"{match.mean():.4f} of {len(df)} rows match; first misses {df.instrument_name[~match].head().tolist()}"
    )
    assert len(df) > 300


def chain_of(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(df.timestamp, unit="ms", utc=True),
            "instrument": df.instrument_name,
            "mark_iv": df.mark_iv / 100.0,
            "underlying_price": df.underlying_price,
            "open_interest": df.open_interest,
            "gamma": df.deribit_gamma,
        }
    )


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("gamma", ["model", "chain"])
def test_classic_gex_is_s_oi_gamma_f2_per_option(shared_data, name, gamma):
    df = load(shared_data, name)
    chain = chain_of(df)
    res = fg.classic_gex(chain, gamma=gamma)
    at = chain.timestamp.max()
    assert res.times[-1] == at
    inv = res.inventory().set_index("instrument")
    assert len(inv) == len(df)
    for row in df.itertuples():
        K = row.strike
        expiry = fg.parse_instrument(row.instrument_name).expiry
        T = (expiry - at.to_pydatetime()).total_seconds() / (365 * 86400)
        F = row.underlying_price
        G = reference.gamma(F, K, T, row.mark_iv / 100.0) if gamma == "model" else row.deribit_gamma
        s = 1.0 if row.option_type == "call" else -1.0
        want = s * row.open_interest * G * 1.0 * F**2 * 0.01
        got = inv.loc[row.instrument_name]
        assert got.inventory == s * row.open_interest
        assert math.isclose(got.gex, want, rel_tol=1e-9, abs_tol=1e-9), (row.instrument_name, got.gex, want)
    # The strike chart sums both legs and all maturities of each strike.
    strikes = res.by_strike()
    assert math.isclose(strikes.gex.sum(), inv.gex.sum(), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(res.total().gex.iloc[0], inv.gex.sum(), rel_tol=1e-9, abs_tol=1e-6)


def test_classic_spot_override_and_as_of(shared_data):
    chain = chain_of(load(shared_data, FILES[0]))
    res = fg.classic_gex(chain, spot=9000.0)
    inv = res.inventory()
    assert (inv.spot == 9000.0).all()
    assert res.total().spot.iloc[0] == 9000.0
    assert res.diagnostics.spot_source["spot"] == len(inv)
    # Only rows at or before `at` count.
    early = chain.timestamp.sort_values().iloc[50]
    res_early = fg.classic_gex(chain, at=early)
    assert len(res_early.inventory()) == int((chain.timestamp <= early).sum())


def test_classic_centres_on_the_nearest_expiry_underlying(shared_data):
    # Deribit prices each expiry against its own future: the asset's spot for
    # totals, profiles and levels is the nearest live expiry's underlying price.
    df = load(shared_data, FILES[1])
    chain = chain_of(df)
    res = fg.classic_gex(chain)
    at = chain.timestamp.max()
    expiry = pd.to_datetime([fg.parse_instrument(n).expiry for n in df.instrument_name], utc=True)
    live = expiry > at
    nearest = expiry[live].min()
    rows = chain[live & (expiry == nearest)]
    want = rows.sort_values("timestamp", kind="stable").underlying_price.iloc[-1]
    assert res.total().spot.iloc[0] == want
    assert df.underlying_price.nunique() > 1, "the file holds several forwards"
    with pytest.raises(fg.OptionError, match="DOGE"):
        res.book("DOGE")
