"""The simulation engine: one hour of one asset at a time, from its own seed.

Each (asset, hour) draws from a generator seeded by (seed, asset, hour since
the epoch), so the market does not depend on how it is chunked and a shorter
simulation is a prefix of a longer one. Open interest is kept consistent with
the flows: per option, OI = max(OI₀ + 0.35·(volume so far), |dealer
inventory|), rounded to the trade size step, so it changes only when the
option trades, by at most the traded amount, and always covers what dealers
hold. Options listed before the start carry OI₀ > 0 and a true dealer
inventory I₀ (|I₀| <= OI₀, short calls and long puts on balance) that the
trades alone cannot see: the left-censoring a real data window has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..gamma import black76_gamma
from .calendar import DAY_NS, HOUR_NS
from .model import ASSETS, CARRY, MINUTE_NS, AssetSpec, smile
from .universe import TAKERS, Universe, taker_weights

__all__ = ["AssetState", "hour_trades", "chain_snapshot", "warm_start"]

_SHARES = np.array([t.share for t in TAKERS])
_P_BUY = np.array([t.p_buy for t in TAKERS])
#: Intraday activity by UTC hour (mean 1): busier at the 08:00 expiry and the US open.
_SEASON = np.array([0.7] * 7 + [1.2, 1.8, 1.2] + [0.9] * 3 + [1.4, 1.6, 1.6, 1.3] + [0.9] * 3 + [0.7] * 4)
_SEASON = _SEASON / _SEASON.mean()
_OI_PER_VOLUME = 0.35
_BLOCK_P = 0.004


def _code(spec: AssetSpec) -> int:
    return list(ASSETS).index(spec.asset)


class AssetState:
    """Per-option running totals of one asset: volume, dealer inventory, starting OI."""

    def __init__(self, u: Universe) -> None:
        n = len(u.names)
        self.volume = np.zeros(n)
        self.inventory = np.zeros(n)
        self.oi0 = np.zeros(n)

    def open_interest(self, idx: np.ndarray, step: float) -> np.ndarray:
        grown = np.round((self.oi0[idx] + _OI_PER_VOLUME * self.volume[idx]) / step) * step
        return np.maximum(np.round(grown, 9), np.round(np.abs(self.inventory[idx]), 9))


def warm_start(u: Universe, state: AssetState, seed: int, start_ns: int, spot: float, trades_per_day: float) -> None:
    """OI₀ and the true dealer I₀ of options listed before the start (the unseen history)."""
    live = np.flatnonzero((u.listed < start_ns) & (u.expiry > start_ns))
    if len(live) == 0:
        return
    spec = u.spec
    share = _SHARES @ taker_weights(u, live, spot, start_ns)
    age_days = (start_ns - u.listed[live]) / DAY_NS
    mean_size = spec.amount_median * np.exp(0.5) * (1 + _BLOCK_P * 87.5)
    step = spec.amount_step
    oi0 = np.round(_OI_PER_VOLUME * trades_per_day * mean_size * age_days * share / step) * step
    rng = np.random.default_rng([seed, 4, _code(spec)])
    tilt = np.where(u.is_call[live], rng.uniform(-0.7, 0.1, len(live)), rng.uniform(-0.1, 0.7, len(live)))
    state.oi0[live] = oi0
    state.inventory[live] = np.round(oi0 * tilt / step) * step


def hour_trades(
    u: Universe, state: AssetState, path: np.ndarray, seed: int, start_ns: int, hour: int, trades_per_day: float
) -> dict[str, Any]:
    """The taker trades of one asset in [start + hour, start + hour + 1h), and the state after them."""
    spec = u.spec
    h_ns = start_ns + hour * HOUR_NS
    h_abs = h_ns // HOUR_NS
    rng = np.random.default_rng([seed, 3, _code(spec), h_abs])
    live = np.flatnonzero((u.listed <= h_ns) & (u.expiry > h_ns))
    n = int(rng.poisson(trades_per_day / 24.0 * _SEASON[h_abs % 24])) if len(live) else 0
    if n == 0:
        return {"n": 0}
    w = taker_weights(u, live, float(path[hour * 60]), h_ns)
    kinds = rng.choice(len(TAKERS), n, p=_SHARES)
    cdf = np.cumsum(w, axis=1)
    cdf[:, -1] = 1.0
    pick = np.empty(n, dtype=np.int64)
    for j in range(len(TAKERS)):
        sel = np.flatnonzero(kinds == j)
        pick[sel] = np.minimum(np.searchsorted(cdf[j], rng.random(len(sel)), side="right"), len(live) - 1)
    inst = live[pick]
    offsets = np.sort(rng.integers(1, HOUR_NS, n))
    ts = h_ns + offsets
    index = path[hour * 60 + offsets // MINUTE_NS]
    years = (u.expiry[inst] - ts) / (365 * DAY_NS)
    iv = smile(spec, u.strike[inst], index * np.exp(CARRY * years), years) + rng.normal(0.0, 0.005, n)
    buy = rng.random(n) < _P_BUY[kinds]
    size = spec.amount_median * np.exp(rng.normal(0.0, 1.0, n))
    block = rng.random(n) < _BLOCK_P
    size = np.where(block, size * rng.uniform(25.0, 150.0, n), size)
    step = spec.amount_step
    amount = np.maximum(np.round(size / step) * step, step)

    side = np.where(buy, 1.0, -1.0)
    state.volume += np.bincount(inst, weights=amount, minlength=len(state.volume))
    state.inventory -= np.bincount(inst, weights=side * amount, minlength=len(state.volume))
    return {
        "n": n,
        "timestamp": ts,
        "inst": inst,
        "buy": buy,
        "amount": amount,
        "index_price": index,
        "iv": np.maximum(iv, 0.05),
        "trade_id": (h_abs * 16 + _code(spec)) * 1_000_000 + np.arange(n, dtype=np.int64),
        "block_trade": block,
    }


def chain_snapshot(u: Universe, state: AssetState, path: np.ndarray, start_ns: int, minute: int) -> dict[str, Any]:
    """Every live option of one asset at ``start + minute``: mark iv, forward, open interest, gamma."""
    t = start_ns + minute * MINUTE_NS
    live = np.flatnonzero((u.listed <= t) & (u.expiry > t))
    years = (u.expiry[live] - t) / (365 * DAY_NS)
    fwd = float(path[minute]) * np.exp(CARRY * years)
    k = u.strike[live]
    iv = smile(u.spec, k, fwd, years)
    return {
        "timestamp": np.full(len(live), t, dtype=np.int64),
        "inst": live,
        "mark_iv": iv,
        "underlying_price": fwd,
        "open_interest": state.open_interest(live, u.spec.amount_step),
        "gamma": black76_gamma(fwd, k, years, iv),
    }
