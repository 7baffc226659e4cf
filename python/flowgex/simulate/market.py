"""``fg.simulate`` and ``fg.simulate_chunks``: a deterministic Deribit-like market.

``simulate`` returns the whole market in memory (thousands to a few million
trades); ``simulate_chunks`` yields it as time-ordered pieces, each holding a
few hours of trades, chain snapshots and spot, so 100 million trades can be
generated and written (:mod:`flowgex.simulate.writers`) in bounded memory.
Both produce identical rows. Amounts are contracts (see ``flowgex.multipliers``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import OptionError
from ..options import to_ns
from ..schema import TIMESTAMP
from .calendar import DAY_NS, HOUR_NS
from .generator import AssetState, chain_snapshot, hour_trades, warm_start
from .model import MINUTE_NS, asset_spec, spot_path
from .universe import build_universe

__all__ = ["SimulatedMarket", "simulate", "simulate_chunks", "default_chunk_hours", "DEFAULT_START"]

#: A fixed start (no clock in a deterministic market): Monday 2024-11-25 00:00 UTC.
DEFAULT_START = "2024-11-25"
#: Target trades per chunk when ``chunk_hours`` is not given.
_CHUNK_TRADES = 1_000_000


@dataclass(frozen=True)
class SimulatedMarket:
    """Canonical tables of a simulated market (or of one time-ordered piece of it).

    ``trades`` and ``chain`` follow DESIGN section 2 (instrument names are
    dictionary-encoded); ``spot`` holds minute closes per asset; ``initial``
    is the true dealer inventory of the options listed before ``start`` — what
    a perfect observer would pass as ``flow_gex(..., initial=...)``.
    """

    trades: pa.Table
    chain: pa.Table
    spot: pa.Table
    initial: pa.Table
    start: pd.Timestamp
    end: pd.Timestamp
    assets: tuple[str, ...]
    seed: int

    def to_parquet(self, path: str | Path) -> Path:
        """Writes a hive-partitioned Parquet dataset (``<table>/asset=…/date=…``); returns ``path``."""
        from .writers import write_parquet

        return write_parquet([self], path)

    def to_tardis_csv(self, path: str | Path) -> Path:
        """Writes Tardis.dev-format gzip CSV files per day; returns ``path``."""
        from .writers import write_tardis_csv

        return write_tardis_csv([self], path)


def _check(days: Any, assets: Any, seed: Any, trades_per_day: Any, chain_every: Any) -> tuple[str, ...]:
    for name, v, lo in (("days", days, 1), ("seed", seed, 0), ("chain_every", chain_every, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise OptionError(f"invalid option {name}: expected an int >= {lo}, found {v!r}")
    if isinstance(trades_per_day, bool) or not (
        isinstance(trades_per_day, (int, float)) and math.isfinite(trades_per_day) and trades_per_day > 0
    ):
        raise OptionError(f"invalid option trades_per_day: expected a number > 0, found {trades_per_day!r}")
    names = (assets,) if isinstance(assets, str) else tuple(assets)
    if not names:
        raise OptionError("invalid option assets: expected at least one asset")
    specs = tuple(asset_spec(a).asset for a in names)
    if len(set(specs)) != len(specs):
        raise OptionError(f"invalid option assets: repeated asset in {names!r}")
    return specs


def _dict_column(ids: np.ndarray, names: np.ndarray) -> pa.DictionaryArray:
    """Instrument names as a compact dictionary (only the names used here)."""
    uniq, codes = np.unique(ids, return_inverse=True)
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names[uniq], pa.string()))


def _ts(ns: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(ns, dtype=np.int64)).cast(TIMESTAMP)


def default_chunk_hours(trades_per_day: float, n_assets: int) -> int:
    """Hours per chunk so that a chunk holds about a million trades (1 to 24)."""
    per_hour = trades_per_day * n_assets / 24.0
    return int(min(24, max(1, _CHUNK_TRADES // max(per_hour, 1.0))))


def simulate_chunks(
    *,
    days: int = 7,
    assets: Sequence[str] = ("BTC", "ETH"),
    seed: int = 7,
    trades_per_day: float = 5_000,
    start: Any = DEFAULT_START,
    chain_every: int = 1,
    chunk_hours: int | None = None,
) -> Iterator[SimulatedMarket]:
    """The market of :func:`simulate` as time-ordered pieces of ``chunk_hours`` hours each.

    By default a chunk holds about a million trades. Every chunk carries the
    trades, chain snapshots (every ``chain_every`` hours, plus one at the end)
    and minute spot of its hours; ``initial`` is in the first chunk only.
    """
    names = _check(days, assets, seed, trades_per_day, chain_every)
    start_ns = (to_ns(start, name="start") // HOUR_NS) * HOUR_NS
    end_ns = start_ns + days * DAY_NS
    hours = days * 24
    if chunk_hours is None:
        chunk_hours = default_chunk_hours(trades_per_day, len(names))
    elif isinstance(chunk_hours, bool) or not isinstance(chunk_hours, (int, np.integer)) or chunk_hours < 1:
        raise OptionError(f"invalid option chunk_hours: expected an int >= 1, found {chunk_hours!r}")
    specs = [asset_spec(a) for a in names]
    paths = spot_path(specs, int(seed), start_ns, days)
    universes = [build_universe(s, paths[i], start_ns, end_ns) for i, s in enumerate(specs)]
    offsets = np.cumsum([0] + [len(u.names) for u in universes])
    all_names = np.array([n for u in universes for n in u.names], dtype=object)
    states = [AssetState(u) for u in universes]
    for i, u in enumerate(universes):
        warm_start(u, states[i], int(seed), start_ns, float(paths[i, 0]), float(trades_per_day))
    initial = _initial(universes, states, start_ns, all_names, offsets)
    meta = dict(start=pd.Timestamp(start_ns, tz="UTC"), end=pd.Timestamp(end_ns, tz="UTC"), assets=names, seed=seed)

    chunk_hours = int(chunk_hours)
    for h0 in range(0, hours, chunk_hours):
        trades: list[dict[str, Any]] = []
        chain: list[dict[str, Any]] = []
        spot: list[tuple[np.ndarray, str, np.ndarray]] = []
        h1 = min(h0 + chunk_hours, hours)
        for h in range(h0, h1):
            for i, u in enumerate(universes):
                if h % chain_every == 0:
                    chain.append(_shift(chain_snapshot(u, states[i], paths[i], start_ns, h * 60), offsets[i]))
                part = hour_trades(u, states[i], paths[i], int(seed), start_ns, h, float(trades_per_day))
                if part["n"]:
                    trades.append(_shift(part, offsets[i]))
                minutes = np.arange(h * 60, h * 60 + 60)
                spot.append((start_ns + minutes * MINUTE_NS, u.spec.asset, paths[i, minutes]))
        if h1 == hours:
            for i, u in enumerate(universes):
                chain.append(_shift(chain_snapshot(u, states[i], paths[i], start_ns, hours * 60), offsets[i]))
        yield SimulatedMarket(
            trades=_trades_table(trades, all_names),
            chain=_chain_table(chain, all_names),
            spot=_spot_table(spot),
            initial=initial if h0 == 0 else initial.slice(0, 0),
            **meta,
        )


def _shift(part: dict[str, Any], offset: int) -> dict[str, Any]:
    return {**part, "inst": part["inst"] + offset}


def _cat(parts: list[dict[str, Any]], key: str, dtype: Any) -> np.ndarray:
    return np.concatenate([p[key] for p in parts]) if parts else np.empty(0, dtype=dtype)


def _trades_table(parts: list[dict[str, Any]], names: np.ndarray) -> pa.Table:
    ts = _cat(parts, "timestamp", np.int64)
    order = np.argsort(ts, kind="stable")
    col = {k: _cat(parts, k, float)[order] for k in ("amount", "index_price", "iv")}
    buy = _cat(parts, "buy", bool)[order]
    return pa.table(
        {
            "timestamp": _ts(ts[order]),
            "instrument": _dict_column(_cat(parts, "inst", np.int64)[order], names),
            "side": pa.DictionaryArray.from_arrays(
                pa.array(np.where(buy, 0, 1).astype(np.int8)), pa.array(["buy", "sell"])
            ),
            "amount": col["amount"],
            "index_price": col["index_price"],
            "iv": col["iv"],
            "trade_id": _cat(parts, "trade_id", np.int64)[order],
            "block_trade": _cat(parts, "block_trade", bool)[order],
        }
    )


def _chain_table(parts: list[dict[str, Any]], names: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "timestamp": _ts(_cat(parts, "timestamp", np.int64)),
            "instrument": _dict_column(_cat(parts, "inst", np.int64), names),
            **{k: _cat(parts, k, float) for k in ("mark_iv", "underlying_price", "open_interest", "gamma")},
        }
    )


def _spot_table(parts: list[tuple[np.ndarray, str, np.ndarray]]) -> pa.Table:
    ts = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
    asset = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts]) if parts else np.empty(0, object)
    price = np.concatenate([p[2] for p in parts]) if parts else np.empty(0)
    order = np.argsort(ts, kind="stable")
    return pa.table({"timestamp": _ts(ts[order]), "asset": pa.array(asset[order], pa.string()), "price": price[order]})


def _initial(
    universes: list[Any], states: list[AssetState], start_ns: int, names: np.ndarray, offsets: Any
) -> pa.Table:
    ids, inv = [], []
    for i, (u, st) in enumerate(zip(universes, states)):
        warm = np.flatnonzero((u.listed < start_ns) & (u.expiry > start_ns) & (st.inventory != 0))
        ids.append(warm + offsets[i])
        inv.append(st.inventory[warm].copy())
    all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
    return pa.table({"instrument": pa.array(names[all_ids], pa.string()), "inventory": np.concatenate(inv)})


def simulate(
    *,
    days: int = 7,
    assets: Sequence[str] = ("BTC", "ETH"),
    seed: int = 7,
    trades_per_day: float = 5_000,
    start: Any = DEFAULT_START,
    chain_every: int = 1,
) -> SimulatedMarket:
    """A deterministic Deribit-like market over ``days`` days from ``start`` (00:00 UTC).

    ``trades_per_day`` is the expected number of taker trades per asset per
    day. Same arguments, same market, on every machine. See the
    :mod:`flowgex.simulate` package docstring for what is modelled.
    """
    return next(
        simulate_chunks(
            days=days,
            assets=assets,
            seed=seed,
            trades_per_day=trades_per_day,
            start=start,
            chain_every=chain_every,
            chunk_hours=24 * days,
        )
    )
