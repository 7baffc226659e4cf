"""Classic GEX on real CBOE data (tests/data/ndx_cboe_2022, gzip): the reader, the
totals against an independent computation, and the published chart's flip 14,686.

The chart's method (PROVENANCE.md): Black-Scholes r = q = 0, T = business days
from the quote *date* / 262, 60 spots over 0.8-1.2 S, first sign change,
linear interpolation; NaN gammas (T = 0 on the next expiry) silently dropped
by pandas. Re-done here from the raw CSV with numpy, it gives 14,686.3; flowgex
(T = calendar time to 16:00 / 09:30 New York, 401 spots, bisection) gives
14,683.7 with the next expiry excluded (the chart's curves are ex-next in
effect) and 14,773 with it.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import math

import numpy as np
import pandas as pd
import pytest

import brute
import flowgex as fg
from flowgex.reference import gamma

NDX = "ndx_cboe_2022/ndx_quotedata_2022-02-05.csv"
PUBLISHED_FLIP = 14_686


@pytest.fixture(scope="module")
def path(shared_data):
    plain = shared_data / NDX  # $FLOWGEX_SHARED_DATA may hold it uncompressed
    return plain if plain.is_file() else plain.with_name(plain.name + ".gz")


@pytest.fixture(scope="module")
def cboe(path) -> fg.CboeChain:
    return fg.read_cboe_quotedata(path)


@pytest.fixture(scope="module")
def classic(cboe) -> fg.GexResult:
    return fg.classic_gex(cboe.chain, multipliers=cboe.multipliers, errors="quarantine")


def raw_rows(path) -> tuple[float, dt.date, list[list[str]]]:
    raw = path.read_bytes()
    lines = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8-sig").splitlines()
    spot = float(lines[1].split("Last:")[1].split(",")[0])
    day = dt.datetime.strptime(lines[2].split("Date:")[1].split(",")[0].strip(), "%B %d %Y").date()
    return spot, day, list(csv.reader(lines[4:]))


def test_reader(cboe, path):
    spot, _, rows = raw_rows(path)
    c = cboe.chain.to_pandas()
    assert cboe.spot == spot == 14694.3506 and cboe.asset == "NDX" and cboe.multipliers == {"NDX": 100.0}
    assert cboe.time == pd.Timestamp("2022-02-06T01:26:00Z")  # 8:26 PM EST
    assert len(c) == 2 * len(rows) == 18_386
    calls, puts = c[c.kind == "C"].reset_index(drop=True), c[c.kind == "P"].reset_index(drop=True)
    assert calls.open_interest.tolist() == [float(r[10]) for r in rows]
    assert puts.mark_iv.tolist() == [float(r[18]) for r in rows]
    assert calls.symbol[0] == rows[0][1] and puts.strike.tolist() == [float(r[11]) for r in rows]
    pm = c[c.symbol.str.startswith("NDXP")]
    am = c[~c.symbol.str.startswith("NDXP")]
    assert (pm.settlement == "PM").all() and (am.settlement == "AM").all()
    ny = pm.expiry.dt.tz_convert("America/New_York")
    assert ((ny.dt.hour == 16) & (ny.dt.minute == 0)).all()
    ny = am.expiry.dt.tz_convert("America/New_York")
    assert ((ny.dt.hour == 9) & (ny.dt.minute == 30)).all()
    assert am.expiry.min() == pd.Timestamp("2022-02-18T14:30Z")  # 09:30 EST
    assert pd.Timestamp("2022-03-18T13:30Z") in set(am.expiry)  # 09:30 EDT after the DST change


def test_zero_iv_rows_are_counted_not_lost(classic, cboe):
    c = cboe.chain.to_pandas()
    assert classic.diagnostics.chain_rejected == {"bad_iv": int((c.mark_iv <= 0).sum())}
    assert len(classic.inventory()) + int((c.mark_iv <= 0).sum()) == len(c)
    with pytest.raises(fg.BadRowsError, match="bad_iv"):
        fg.classic_gex(cboe.chain, multipliers=cboe.multipliers)


def test_classic_total_against_an_independent_sum(classic, cboe):
    """Rule 13 term by term with reference.gamma, T = calendar time to each expiry."""
    c = cboe.chain.to_pandas()
    c = c[c.mark_iv > 0]
    total = 0.0
    for r in c.itertuples():
        tau = (r.expiry - r.timestamp).total_seconds() / (365 * 86_400)
        s = 1.0 if r.kind == "C" else -1.0
        total += s * r.open_interest * gamma(cboe.spot, r.strike, tau, r.mark_iv) * 100 * cboe.spot**2 * 0.01
    lv = fg.levels(classic, "NDX")
    assert lv.total_gex == pytest.approx(total, rel=1e-9)
    assert lv.spot == cboe.spot


def published_method_flip(path) -> float:
    """The chart's own computation, from the raw CSV, with numpy only."""
    spot, day, rows = raw_rows(path)
    k = np.array([float(r[11]) for r in rows])
    expiry = [dt.datetime.strptime(r[0], "%a %b %d %Y").date() for r in rows]
    t = np.array([np.busday_count(day, e) for e in expiry]) / 262
    legs = [(np.array([float(r[7]) for r in rows]), np.array([float(r[10]) for r in rows]), 1.0)]
    legs.append((np.array([float(r[18]) for r in rows]), np.array([float(r[21]) for r in rows]), -1.0))

    def curve(x: float) -> float:
        out = 0.0
        with np.errstate(all="ignore"):
            for iv, oi, sign in legs:
                d1 = (np.log(x / k) + 0.5 * iv * iv * t) / (iv * np.sqrt(t))
                g = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (x * iv * np.sqrt(t))
                out += sign * np.nansum(oi * 100 * x * x * 0.01 * g)
        return out

    xs = np.linspace(0.8 * spot, 1.2 * spot, 60)
    ys = np.array([curve(x) for x in xs])
    i = np.flatnonzero(np.diff(np.sign(ys)))[0]
    return float(xs[i + 1] - (xs[i + 1] - xs[i]) * ys[i + 1] / (ys[i + 1] - ys[i]))


def test_the_published_method_gives_the_published_flip(path):
    assert round(published_method_flip(path)) == PUBLISHED_FLIP


def test_flowgex_flip_is_within_3_points_ex_next_expiry(classic):
    lv = fg.levels(classic.filter(exclude_next=True), "NDX")
    assert abs(lv.flip - PUBLISHED_FLIP) < 3.0  # 14,683.7: 0.02% below
    assert lv.flip < PUBLISHED_FLIP
    # All expiries: the next (Mon 7 Feb, 1.8 days away) expiry counts here but was NaN there.
    everything = fg.levels(classic, "NDX")
    assert 60 < everything.flip - PUBLISHED_FLIP < 120  # 14,773
    rows, spot, _ = brute.options(classic.filter(exclude_next=True), "NDX", "last")
    near = list(np.linspace(0.995, 1.005, 21) * spot)
    ys = [brute.gex_at(rows, spot, x) for x in near]
    changes = [i for i in range(len(ys) - 1) if ys[i] * ys[i + 1] < 0]
    assert len(changes) == 1 and near[changes[0]] <= lv.flip <= near[changes[0] + 1]


def test_chain_gamma_is_close_to_the_model_on_real_data(cboe, classic):
    """CBOE's own 4-decimal gammas give a total of the same sign and size."""
    own = fg.classic_gex(cboe.chain, multipliers=cboe.multipliers, errors="quarantine", gamma="chain")
    a, b = fg.levels(classic, "NDX").total_gex, fg.levels(own, "NDX").total_gex
    assert np.sign(a) == np.sign(b) and 0.5 < a / b < 2


def test_bad_files(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(fg.SchemaError, match="not a CBOE quote export"):
        fg.read_cboe_quotedata(bad)
    with pytest.raises(fg.ReadError, match="no such file"):
        fg.read_cboe_quotedata(tmp_path / "missing.csv")
