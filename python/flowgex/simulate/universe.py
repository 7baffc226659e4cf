"""The options listed over a simulation, and who trades them.

Every option of every expiry live during the simulation is created up front
(a few thousand per asset-month) with its strike ladder fixed at listing.
Takers come in five kinds, each with its own taste for expiries (weight
(days + 0.3)^−α: short-dated for speculators), for moneyness
m = ln(K/F)/(σ√T) (a Gaussian around m₀) and for a side:

| kind         | share | options      | α   | m₀   | taker buys |
|--------------|-------|--------------|-----|------|------------|
| noise        | 40%   | both, OTM 3:1| 1.0 | 0    | 50%        |
| call buyers  | 25%   | OTM calls    | 1.3 | +0.7 | 90%        |
| put sellers  | 20%   | OTM puts     | 0.4 | −0.8 | 12%        |
| hedgers      | 10%   | OTM puts     | 0.6 | −1.2 | 85%        |
| overwriters  | 5%    | OTM calls    | 0.3 | +1.0 | 12%        |

Speculative call buying leaves dealers short upside calls and put selling
leaves them long downside puts: the mirror image of the equity heuristic
(dealers long calls, short puts), which is what makes flow and classic GEX
disagree on this market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import DAY_NS, expiries_between, strike_ladder
from .model import MINUTE_NS, AssetSpec, atm_vol

__all__ = ["Universe", "build_universe", "taker_weights", "TAKERS", "YEAR_NS"]

YEAR_NS = 365 * DAY_NS
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class Taker:
    name: str
    share: float
    calls: bool | None  # None: both
    alpha: float
    m0: float
    width: float
    p_buy: float


TAKERS = (
    Taker("noise", 0.40, None, 1.0, 0.0, 1.0, 0.50),
    Taker("call_buyer", 0.25, True, 1.3, 0.7, 0.6, 0.90),
    Taker("put_seller", 0.20, False, 0.4, -0.8, 0.6, 0.12),
    Taker("hedger", 0.10, False, 0.6, -1.2, 0.6, 0.85),
    Taker("overwriter", 0.05, True, 0.3, 1.0, 0.6, 0.12),
)


@dataclass(frozen=True)
class Universe:
    """Every option of one asset over the simulation, as parallel arrays."""

    spec: AssetSpec
    names: list[str]
    expiry: np.ndarray
    listed: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray


def _name(spec: AssetSpec, expiry_ns: int, strike: float, call: bool) -> str:
    d = np.datetime64(expiry_ns, "ns").astype("datetime64[D]").item()
    k = f"{strike:.10g}".replace(".", "d")
    return f"{spec.prefix}-{d.day}{_MONTHS[d.month - 1]}{d.year % 100:02d}-{k}-{'C' if call else 'P'}"


def build_universe(spec: AssetSpec, path: np.ndarray, start_ns: int, end_ns: int) -> Universe:
    """Options of every expiry live in [start, end), ladders set from ``path`` (minute closes from start)."""
    names: list[str] = []
    cols: dict[str, list[float]] = {"expiry": [], "listed": [], "strike": [], "call": []}
    for e in expiries_between(start_ns, end_ns):
        at = max(e.listed_ns, start_ns)
        spot = float(path[min((at - start_ns) // MINUTE_NS, len(path) - 1)])
        years = (e.expiry_ns - at) / YEAR_NS
        for k in strike_ladder(spot, years, float(atm_vol(spec, years))):
            for call in (True, False):
                names.append(_name(spec, e.expiry_ns, float(k), call))
                cols["expiry"].append(e.expiry_ns)
                cols["listed"].append(e.listed_ns)
                cols["strike"].append(float(k))
                cols["call"].append(call)
    return Universe(
        spec=spec,
        names=names,
        expiry=np.array(cols["expiry"], dtype=np.int64),
        listed=np.array(cols["listed"], dtype=np.int64),
        strike=np.array(cols["strike"], dtype=np.float64),
        is_call=np.array(cols["call"], dtype=bool),
    )


def taker_weights(u: Universe, live: np.ndarray, spot: float, now_ns: int) -> np.ndarray:
    """Probabilities (takers × live options) that a trade of each taker kind hits each option."""
    years = (u.expiry[live] - now_ns) / YEAR_NS
    days = years * 365.0
    k, call = u.strike[live], u.is_call[live]
    sd = atm_vol(u.spec, years) * np.sqrt(np.maximum(years, 1e-6))
    m = np.log(k / spot) / sd
    otm = np.where(call, k >= spot, k <= spot)
    out = np.zeros((len(TAKERS), len(k)))
    for j, tk in enumerate(TAKERS):
        w = (days + 0.3) ** -tk.alpha * np.exp(-0.5 * ((m - tk.m0) / tk.width) ** 2)
        if tk.calls is None:
            w = w * np.where(otm, 0.75, 0.25)
        else:
            w = w * ((call == tk.calls) & otm)
        total = w.sum()
        out[j] = w / total if total > 0 else 0.0
    # A taker kind with nothing to trade falls back to the noise traders' taste.
    empty = out.sum(axis=1) == 0
    out[empty] = out[0] if out[0].sum() > 0 else 1.0 / max(len(k), 1)
    return out
