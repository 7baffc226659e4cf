"""Brute-force analytics for the tests, from DESIGN rules 12-14 alone.

Plain loops over option rows with :func:`flowgex.reference.gamma` (pure
Python, independent of the Rust kernels), a dense grid and bisection: slow,
obvious, and sharing no code with ``flowgex.analytics``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from flowgex.reference import gamma

YEAR_NS = 365 * 86_400 * 10**9
MULT = {"BTC": 1.0, "ETH": 1.0, "SOL": 10.0, "XRP": 1000.0, "NDX": 100.0}


def options(res, asset: str, at) -> tuple[list[dict], float, pd.Timestamp]:
    """(option rows, asset spot, grid time) of ``asset`` at ``at`` from the public tables."""
    inv = res.inventory(at=at, asset=asset)
    tot = res.total(asset=asset)
    t = inv["time"].iloc[0] if len(inv) else tot["time"].iloc[-1]
    spot = float(tot.loc[tot["time"] == t, "spot"].iloc[0])
    rows = []
    for r in inv.itertuples():
        rows.append(
            {
                "s": r.spot,
                "k": r.strike,
                "tau": (r.expiry.value - r.time.value) / YEAR_NS,
                "sigma": r.vol,
                "inv": r.inventory,
                "m": MULT[asset],
                "call": r.kind == "C",
            }
        )
    return rows, spot, t


def gex_at(rows: list[dict], spot: float, x: float, unit: str = "usd_per_1pct", r: float = 0.0) -> float:
    """Rule 12: every underlying scaled by x/spot, σ, T and inventory held; rule 10 summed."""
    total = 0.0
    for o in rows:
        s = o["s"] * x / spot
        g = gamma(s, o["k"], o["tau"], o["sigma"], r) * o["inv"] * o["m"]
        total += {"usd_per_1pct": g * s * s * 0.01, "usd_per_point": g * s, "underlying": g}[unit]
    return total


def option_gex(rows: list[dict], spot: float) -> list[float]:
    return [gex_at([o], spot, spot) for o in rows]


def crossings(rows: list[dict], spot: float, xs: np.ndarray) -> list[float]:
    """Sign changes of the curve on ``xs``, each bisected 100 times on the exact curve."""
    ys = [gex_at(rows, spot, x) for x in xs]
    nonzero = [j for j, y in enumerate(ys) if y != 0]
    roots = []
    for p, q in zip(nonzero, nonzero[1:]):
        if (ys[p] < 0) == (ys[q] < 0):
            continue
        if q > p + 1:  # exact zeros in between: the middle of that run
            roots.append((xs[p + 1] + xs[q - 1]) / 2)
            continue
        a, b, fa = xs[p], xs[q], ys[p]
        for _ in range(100):
            m = (a + b) / 2
            fm = gex_at(rows, spot, m)
            if (fm < 0) == (fa < 0):
                a, fa = m, fm
            else:
                b = m
        roots.append((a + b) / 2)
    return roots


def levels(rows: list[dict], spot: float, band: float = 0.02) -> dict:
    """Walls, absolute-gamma strike, near-spot GEX, regime and flips of one book."""
    by_k: dict[float, float] = {}
    abs_k: dict[float, float] = {}
    for o, g in zip(rows, option_gex(rows, spot)):
        by_k[o["k"]] = by_k.get(o["k"], 0.0) + g
        abs_k[o["k"]] = abs_k.get(o["k"], 0.0) + abs(g)
    pos = [k for k in sorted(by_k) if by_k[k] > 0]
    neg = [k for k in sorted(by_k) if by_k[k] < 0]
    near = sum(g for k, g in by_k.items() if abs(k - spot) <= band * spot)
    xs = np.linspace(0.8, 1.2, 401) * spot
    roots = crossings(rows, spot, xs)
    flip = min(roots, key=lambda x: (abs(x - spot), x)) if roots else None
    return {
        "positive_wall": max(pos, key=lambda k: (by_k[k], -k)) if pos else None,
        "negative_wall": min(neg, key=lambda k: (by_k[k], k)) if neg else None,
        "abs_gamma_strike": max((k for k in sorted(abs_k) if abs_k[k] > 0), key=lambda k: (abs_k[k], -k), default=None),
        "near_spot_gex": near,
        "regime": "sticky" if near > 0 else "slippery",
        "flips": roots,
        "flip": flip,
        "total": sum(by_k.values()),
    }


def close(a: float | None, b: float | None, rel: float = 1e-9, abs_: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
