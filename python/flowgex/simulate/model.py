"""The simulated market's parameters: assets, the volatility surface and the spot path.

- **Spot** moves minute by minute: a random walk with the asset's realised vol,
  70% correlated across assets through a common factor, plus jumps (about one
  every three days per asset, ±3% typical size). It is generated day by day
  from seeded generators, so a 7-day market is the first week of a 30-day one.
- **Volatility**: σ(K, T) = atm(T)·(1 − 0.10·x + 0.06·x²), x = ln(K/F)/√T
  (T in years, at least one day), clipped to [0.6, 3]×atm: a put skew with a
  smile. atm(T) = base + 0.08·e^(−T/(10 days)): short expiries richer.
- **Underlying** (a chain's ``underlying_price``): the index itself, with no
  futures basis (``CARRY = 0``), so every method sees one spot per asset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError
from ..multipliers import BUILTIN_MULTIPLIERS
from .calendar import DAY_NS

__all__ = ["AssetSpec", "ASSETS", "asset_spec", "atm_vol", "smile", "spot_path", "CARRY", "MINUTE_NS"]

MINUTE_NS = 60 * 10**9
CARRY = 0.0
_MINUTES_PER_YEAR = 365 * 1440


@dataclass(frozen=True)
class AssetSpec:
    """How one asset trades: start price, vols, names, trade sizes (contracts)."""

    asset: str
    quote: str | None
    start_price: float
    base_vol: float
    amount_median: float
    amount_step: float
    multiplier: float

    @property
    def prefix(self) -> str:
        return self.asset if self.quote is None else f"{self.asset}_{self.quote}"


ASSETS: dict[str, AssetSpec] = {
    s.asset: s
    for s in (
        AssetSpec("BTC", None, 95_000.0, 0.55, 1.0, 0.1, BUILTIN_MULTIPLIERS["BTC"]),
        AssetSpec("ETH", None, 3_600.0, 0.65, 8.0, 1.0, BUILTIN_MULTIPLIERS["ETH"]),
        AssetSpec("SOL", "USDC", 230.0, 0.80, 5.0, 1.0, BUILTIN_MULTIPLIERS["SOL"]),
        AssetSpec("XRP", "USDC", 2.3, 0.85, 5.0, 1.0, BUILTIN_MULTIPLIERS["XRP"]),
    )
}


def asset_spec(name: str) -> AssetSpec:
    up = str(name).upper()
    if up not in ASSETS:
        raise OptionError(f"invalid option assets: the simulator knows {sorted(ASSETS)}, found {name!r}")
    return ASSETS[up]


def atm_vol(spec: AssetSpec, years: np.ndarray | float) -> np.ndarray:
    """At-the-money vol by time to expiry: richer at the short end."""
    t = np.asarray(years, dtype=np.float64)
    return spec.base_vol + 0.08 * np.exp(-t * 365.0 / 10.0)


def smile(spec: AssetSpec, k: np.ndarray, f: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Implied vol of strike ``k`` for forward ``f`` and ``years`` to expiry."""
    t = np.maximum(np.asarray(years, dtype=np.float64), 1.0 / 365.0)
    x = np.log(np.asarray(k) / np.asarray(f)) / np.sqrt(t)
    atm = atm_vol(spec, t)
    return atm * np.clip(1.0 - 0.10 * x + 0.06 * x * x, 0.6, 3.0)


def spot_path(specs: list[AssetSpec], seed: int, start_ns: int, days: int) -> np.ndarray:
    """Minute closes, shape (assets, days·1440 + 1); column j is the price at start + j minutes."""
    n = days * 1440
    out = np.empty((len(specs), n + 1))
    out[:, 0] = [s.start_price for s in specs]
    day0 = start_ns // DAY_NS
    rho = 0.7
    for d in range(days):
        common = np.random.default_rng([seed, 1, day0 + d]).standard_normal(1440)
        for a, spec in enumerate(specs):
            rng = np.random.default_rng([seed, 2, list(ASSETS).index(spec.asset), day0 + d])
            sigma = spec.base_vol * 0.9 / math.sqrt(_MINUTES_PER_YEAR)
            z = rho * common + math.sqrt(1 - rho * rho) * rng.standard_normal(1440)
            ret = sigma * z - 0.5 * sigma * sigma
            jumps = rng.random(1440) < 1.0 / (3 * 1440)
            ret += np.where(jumps, rng.normal(0.0, 0.03, 1440), 0.0)
            lo = d * 1440
            out[a, lo + 1 : lo + 1441] = out[a, lo] * np.exp(np.cumsum(ret))
    return out
