"""``classic_gex(..., greeks=...)``: DEX, VEX, CEX of the classic inventory s·OI
(rule 13's sign: dealers long calls, short puts) equal the public kernels times
s·OI·m·S and their scales, and aggregate as GEX does; gamma-only output is unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowgex as fg
from test_levels_profile import classic_chain

YEAR_NS = 365 * 86_400 * 10**9
ALL = ("gamma", "delta", "vanna", "charm")


@pytest.mark.parametrize("gamma", ["model", "chain"])
def test_classic_exposures(gamma):
    chain = classic_chain()
    if gamma == "chain":
        chain = chain.assign(gamma=1e-5)  # the venue's gamma: GEX uses it, the other greeks stay the model's
    plain = fg.classic_gex(chain, gamma=gamma)
    res = fg.classic_gex(chain, gamma=gamma, greeks=ALL, r=0.01)
    inv = res.inventory()
    base = plain.inventory()
    assert "dex" not in base.columns
    plain_r = fg.classic_gex(chain, gamma=gamma, r=0.01).inventory()
    pd.testing.assert_frame_equal(plain_r, inv[plain_r.columns], check_exact=True)
    # Classic inventory: +OI for calls, −OI for puts.
    oi = chain.sort_values("timestamp").groupby("instrument")["open_interest"].last()
    sign = np.where(inv["kind"] == "C", 1.0, -1.0)
    np.testing.assert_array_equal(inv["inventory"].to_numpy(), sign * inv["instrument"].map(oi).to_numpy())
    T = (inv["expiry"].astype("int64") - inv["time"].astype("int64")).to_numpy() / YEAR_NS
    S, K, sig, kind = inv["spot"].to_numpy(), inv["strike"].to_numpy(), inv["vol"].to_numpy(), inv["kind"].to_numpy()
    pos = inv["inventory"].to_numpy() * S  # multiplier 1 (BTC)
    want = {
        "dex": fg.black76_delta(S, K, T, sig, kind, r=0.01) * pos,
        "vex": fg.black76_vanna(S, K, T, sig, r=0.01) * pos * 0.01,
        "cex": fg.black76_charm(S, K, T, sig, kind, r=0.01) * pos / 365.0,
    }
    for x, w in want.items():
        assert (np.abs(w) > 0).all()
        np.testing.assert_allclose(inv[x].to_numpy(), w, rtol=1e-9, atol=1e-12)
        total = res.total()[x].iloc[0]
        assert total == pytest.approx(inv[x].sum(), rel=1e-9, abs=1e-9 * np.abs(inv[x]).sum())
        strikes = res.by_strike().set_index("strike")[x]
        np.testing.assert_allclose(strikes.to_numpy(), inv.groupby("strike")[x].sum().reindex(strikes.index), rtol=1e-9)


def test_classic_greeks_are_validated():
    with pytest.raises(fg.errors.OptionError, match="greeks"):
        fg.classic_gex(classic_chain(), greeks=("rho",))
