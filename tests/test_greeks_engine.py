"""DEX, VEX and CEX in the engine (DESIGN rules 15–16, issue 15).

- gamma only (the default) has no exposure columns and exactly the gamma
  columns of a run with every greek;
- each inventory row's exposure is the public kernel's greek times I·m·S and
  its scale (the kernels are tested against mpmath in test_greeks.py); each
  aggregate is the sum of its rows; ``unit="underlying"`` drops S;
- streaming: chunked feeding with drains and snapshot/restore, keep_*="last",
  two threads and expiry filters keep the columns, bit for bit where the
  gamma columns are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowgex as fg
from compare import assert_close, assert_identical
from simmarket import market

ALL = ("gamma", "delta", "vanna", "charm")
YEAR_NS = 365 * 86_400 * 10**9
KW = {"missing_vol": 0.5, "missing_spot": "skip", "errors": "quarantine"}


@pytest.fixture(scope="module")
def mkt():
    m = market(3, 1500, chain=True, spot=True)
    sort = lambda df: None if df is None else df.sort_values("timestamp", kind="stable").reset_index(drop=True)  # noqa: E731
    return sort(m.trades), sort(m.chain), sort(m.spot)


def test_gamma_only_has_no_exposure_columns_and_the_same_bits(mkt):
    plain = fg.flow_gex(*mkt, **KW)
    full = fg.flow_gex(*mkt, greeks=ALL, **KW)
    for name in ("inventory", "by_strike", "by_expiry", "total"):
        a = getattr(plain, name)()
        b = getattr(full, name)()
        assert not {"dex", "vex", "cex"} & set(a.columns)
        assert list(b.columns) == list(a.columns) + ["dex", "vex", "cex"]
        pd.testing.assert_frame_equal(a, b[a.columns], check_exact=True)
    assert plain.greeks == ("gamma",) and full.greeks == ALL


@pytest.mark.parametrize(
    "greeks, cols",
    [(("charm",), ["cex"]), (("vanna", "gamma"), ["vex"]), (["delta", "charm"], ["dex", "cex"]), ("delta", ["dex"])],
)
def test_only_the_asked_greeks_get_columns(mkt, greeks, cols):
    res = fg.flow_gex(*mkt, greeks=greeks, **KW)
    for frame in (res.inventory(), res.by_strike(), res.by_expiry(), res.total()):
        assert [c for c in frame.columns if c in ("dex", "vex", "cex")] == cols


@pytest.mark.parametrize("bad", [("theta",), ("gamma", "Delta"), 5, (None,), ("delta", 1)])
def test_unknown_greeks_are_option_errors(mkt, bad):
    with pytest.raises(fg.errors.OptionError, match="greeks"):
        fg.flow_gex(*mkt, greeks=bad, **KW)
    with pytest.raises(fg.errors.OptionError, match="greeks"):
        fg.Engine(greeks=bad)


def _kernel_expected(inv: pd.DataFrame, res: fg.GexResult, r: float, unit: str) -> dict[str, np.ndarray]:
    mult = dict(zip(res.data.registry.name, res.data.registry.multiplier))
    m = inv["instrument"].map(mult).to_numpy()
    T = (inv["expiry"].astype("int64") - inv["time"].astype("int64")).to_numpy() / YEAR_NS
    S, K, sig, kind = inv["spot"].to_numpy(), inv["strike"].to_numpy(), inv["vol"].to_numpy(), inv["kind"].to_numpy()
    base = inv["inventory"].to_numpy() * m * (1.0 if unit == "underlying" else S)
    return {
        "dex": fg.black76_delta(S, K, T, sig, kind, r=r) * base,
        "vex": fg.black76_vanna(S, K, T, sig, r=r) * base * 0.01,
        "cex": fg.black76_charm(S, K, T, sig, kind, r=r) * base / 365.0,
    }


def _close(x, y, scale=0.0):
    x, y = np.asarray(x, float), np.asarray(y, float)
    assert x.shape == y.shape
    assert np.isfinite(x).all()
    np.testing.assert_array_less(np.abs(x - y), 1e-9 * np.maximum(np.abs(y), scale) + 1e-12)


@pytest.mark.parametrize("unit, r", [("usd_per_1pct", 0.0), ("usd_per_point", 0.03), ("underlying", -0.01)])
def test_rows_are_kernel_greeks_times_position_and_aggregates_their_sums(mkt, unit, r):
    res = fg.flow_gex(*mkt, greeks=ALL, unit=unit, r=r, **KW)
    inv = res.inventory()
    assert len(inv) > 1000 and (inv["inventory"] != 0).any()
    want = _kernel_expected(inv, res, r, unit)
    for x in ("dex", "vex", "cex"):
        assert (inv[x] != 0).sum() > 100
        _close(inv[x], want[x])
        mag = inv.assign(a=inv[x].abs()).groupby(["asset", "time"])["a"].sum()
        for name, key in (("by_strike", "strike"), ("by_expiry", "expiry"), (None, None)):
            if name is None:
                agg, sums = res.total(), inv.groupby(["asset", "time"])[x].sum()
                agg = agg[agg.set_index(["asset", "time"]).index.isin(sums.index)]
            else:
                agg, sums = getattr(res, name)(), inv.groupby(["asset", "time", key])[x].sum()
            idx = ["asset", "time"] + ([key] if key else [])
            got = agg.set_index(idx)[x]
            _close(got.to_numpy(), sums.reindex(got.index).to_numpy(), agg.join(mag, on=["asset", "time"])["a"])


def test_underlying_unit_drops_the_spot(mkt):
    usd = fg.flow_gex(*mkt, greeks=ALL, **KW).inventory()
    pt = fg.flow_gex(*mkt, greeks=ALL, unit="usd_per_point", **KW).inventory()
    und = fg.flow_gex(*mkt, greeks=ALL, unit="underlying", **KW).inventory()
    for x in ("dex", "vex", "cex"):
        pd.testing.assert_series_equal(usd[x], pt[x])  # DEX, VEX, CEX are USD under both USD units
        _close(und[x] * und["spot"], usd[x])


def _part(df, lo, hi):
    if df is None:
        return None
    keep = np.ones(len(df), dtype=bool)
    if lo is not None:
        keep &= (df.timestamp >= lo).to_numpy()
    if hi is not None:
        keep &= (df.timestamp < hi).to_numpy()
    return df[keep]


@pytest.mark.parametrize("keep", ["all", "last"])
def test_chunks_drains_and_snapshots_are_bit_identical(mkt, keep):
    kw = {**KW, "greeks": ALL, "keep_inventory": keep, "keep_aggregates": keep}
    whole = fg.flow_gex(*mkt, **kw)
    t0 = mkt[0]["timestamp"].min()
    edges = [None] + [t0 + pd.Timedelta(hours=h) for h in (3, 7.5, 20, 31)] + [None]
    eng = fg.Engine(**kw)
    drained = []
    for n, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        eng.update(*(_part(df, lo, hi) for df in mkt))
        if n % 2 == 1:
            eng = fg.Engine.restore(eng.snapshot())
        if keep == "all" and n in (1, 3):
            drained.append(eng.drain())
    final = eng.finish()
    if keep == "last":
        assert_identical(final, whole)
        return
    for name in ("inventory", "by_strike", "by_expiry", "total"):
        parts = [getattr(d, name)() for d in drained] + [getattr(final, name)()]
        got = pd.concat(parts, ignore_index=True)
        pd.testing.assert_frame_equal(got, getattr(whole, name)(), check_exact=True)
        assert "dex" in got.columns


def test_restored_engine_keeps_its_greeks_and_two_threads_agree(mkt):
    eng = fg.Engine(greeks=("vanna",), **KW)
    eng.update(mkt[0].iloc[:700], None, None)
    back = fg.Engine.restore(eng.snapshot())
    assert back.options.greeks == ("gamma", "vanna")
    back.update(mkt[0].iloc[700:])
    res = back.finish()
    assert "vex" in res.total().columns and "dex" not in res.total().columns
    kw = {**KW, "greeks": ALL, "keep_inventory": "last", "keep_aggregates": "last"}
    assert_identical(fg.flow_gex(*mkt, threads=2, **kw), fg.flow_gex(*mkt, threads=1, **kw))


def test_expiry_filter_sums_the_exposures_too(mkt):
    res = fg.flow_gex(*mkt, greeks=ALL, **KW)
    f = res.filter(max_days=3)
    inv = f.inventory()
    assert 0 < len(inv) < len(res.inventory())
    for x in ("dex", "vex", "cex"):
        got = f.by_strike().set_index(["asset", "time", "strike"])[x]
        want = inv.groupby(["asset", "time", "strike"])[x].sum()
        _close(got.to_numpy(), want.reindex(got.index).to_numpy(), np.abs(want).max())
        tot = f.total().set_index(["asset", "time"])[x]
        want_t = inv.groupby(["asset", "time"])[x].sum().reindex(tot.index).fillna(0.0)
        _close(tot.to_numpy(), want_t.to_numpy(), np.abs(want_t).max())


# The README's sign table: one taker trade on a 26-day BTC option, spot 100k, vol 50%.
# "above" strikes (d2 < 0: K > S·e^{−σ²T/2}, at the money included) and "below" (d2 > 0).
SIGNS = [
    # (side, instrument, GEX, DEX, VEX, CEX)
    ("buy", "BTC-27DEC24-100000-C", -1, -1, -1, +1),
    ("buy", "BTC-27DEC24-110000-C", -1, -1, -1, +1),
    ("buy", "BTC-27DEC24-80000-C", -1, -1, +1, -1),
    ("buy", "BTC-27DEC24-100000-P", -1, +1, -1, +1),
    ("buy", "BTC-27DEC24-80000-P", -1, +1, +1, -1),
    ("sell", "BTC-27DEC24-100000-C", +1, +1, +1, -1),
    ("sell", "BTC-27DEC24-80000-C", +1, +1, -1, +1),
    ("sell", "BTC-27DEC24-110000-P", +1, -1, +1, -1),
    ("sell", "BTC-27DEC24-80000-P", +1, -1, -1, +1),
]


@pytest.mark.parametrize("side, name, gex, dex, vex, cex", SIGNS)
def test_sign_conventions_of_the_readme(side, name, gex, dex, vex, cex):
    trades = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-12-01T00:05:00Z"]),
            "instrument": [name],
            "side": [side],
            "amount": [10.0],
            "index_price": [100_000.0],
            "iv": [0.5],
        }
    )
    row = fg.flow_gex(trades, greeks=ALL).total().iloc[0]
    assert (np.sign(row["gex"]), np.sign(row["dex"]), np.sign(row["vex"]), np.sign(row["cex"])) == (gex, dex, vex, cex)


@pytest.mark.parametrize("keep", ["all", "last"])
@pytest.mark.parametrize("threads", [1, 2])
def test_steps_with_no_live_option_still_carry_every_exposure(keep, threads):
    """Regression: at a step where an asset has no live option left (its only option
    expired), its total row must still have DEX/VEX/CEX (0), so the columns line up
    and the per-asset replay can interleave the assets' outputs (it panicked)."""
    trades = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["2024-12-01 00:00", "2024-12-01 07:50", "2024-12-01 00:05", "2024-12-01 09:10"], utc=True
            ),
            "instrument": ["BTC-1DEC24-95000-C", "BTC-1DEC24-95000-C", "ETH-27DEC24-4000-P", "ETH-27DEC24-4000-P"],
            "side": ["buy", "sell", "sell", "buy"],
            "amount": [1.0, 2.0, 3.0, 1.0],
            "index_price": [95_000.0, 95_100.0, 3_600.0, 3_650.0],
        }
    )
    kw = dict(greeks=("gamma", "delta", "vanna", "charm"), missing_vol=0.45, keep_inventory=keep, keep_aggregates=keep)
    fast = fg.flow_gex(trades, threads=threads, **kw)
    ref = fg.flow_gex(trades, engine="reference", **kw)
    total = fast.total()
    after = total[(total["asset"] == "BTC") & (total["time"] >= pd.Timestamp("2024-12-01 08:00", tz="UTC"))]
    assert len(after) > 0 and (after[["gex", "dex", "vex", "cex"]] == 0.0).all().all()
    assert_close(fast, ref)
