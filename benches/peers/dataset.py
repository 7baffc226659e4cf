"""A deterministic, memory-bounded generator of Deribit-like option trades.

Why not ``flowgex.simulate``: it had not landed on main when the harness was
written, and the peers need a dataset with a controlled shape (trades/day,
live instruments, every trade carrying ``index_price`` and ``iv``) written as a
hive-partitioned Parquet dataset, ``asset=BTC/date=2024-01-01/part-0.parquet``.

Shape: ~137k trades/day over four assets (BTC 45%, ETH 35%, SOL 12%, XRP 8%),
so 1M trades is one week, 10M is 73 days and 50M is one year; the dense grid
grows with the trades. Each asset follows its own spot random walk (one price
per second); at every moment the venue lists dailies (the next four 08:00
expiries), weeklies (three Fridays), monthlies (two last Fridays of a month)
and quarterlies (two), and takers trade them with near-dated, near-the-money
strikes favoured. That leaves a few hundred live instruments per asset.

Choices that keep every peer on exactly the same numbers:

- timestamps are unique within an asset, so "the latest index_price / iv
  strictly before t" has one answer whatever the tie-break;
- amounts are whole lots of a power-of-two size (1/8 BTC, 1 ETH, SOL, XRP
  contract), so every sum of flows is exact in float64 and inventories agree
  bit for bit whatever the summation order (an inventory that returns to zero
  is 0.0 in every peer, not 1e-17 in one of them);
- no trade is at or after its option's expiry (the engine would reject it).

Generation is one (asset, day) chunk at a time: memory stays at one chunk.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Asset", "ASSETS", "TRADES_PER_DAY", "generate", "dataset_path", "parse_size", "DEFAULT_ROOT"]

NS = 1_000_000_000
DAY_NS = 86_400 * NS
YEAR_S = 365 * 86_400
EXPIRY_HOUR_NS = 8 * 3600 * NS
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
#: About 50M trades a year.
TRADES_PER_DAY = 137_000
START = dt.date(2024, 1, 1)
#: Where generated datasets are cached (outside the repository).
DEFAULT_ROOT = Path(os.environ.get("FLOWGEX_BENCH_DATA", Path.home() / ".cache" / "flowgex" / "bench-data"))


@dataclass(frozen=True)
class Asset:
    """One underlying: its Deribit name prefix, spot, vol and strike ladders."""

    name: str
    under: str  # the name prefix: BTC, or SOL_USDC for linear options
    share: float  # fraction of all trades
    spot: float  # start price
    vol: float  # spot vol and base implied vol
    decimals: int  # index price decimals
    tick: float  # strike ladder unit; strikes are whole ticks
    steps: tuple[int, int, int]  # strike spacing in ticks: < 2 days, < 35 days, longer
    lot: float  # amount granularity in contracts (a power of two)


ASSETS: tuple[Asset, ...] = (
    Asset("BTC", "BTC", 0.45, 42_000.0, 0.55, 2, 1.0, (500, 1000, 5000), 0.125),
    Asset("ETH", "ETH", 0.35, 2_300.0, 0.65, 2, 1.0, (25, 50, 100), 1.0),
    Asset("SOL", "SOL_USDC", 0.12, 100.0, 0.80, 3, 0.5, (4, 10, 20), 1.0),
    Asset("XRP", "XRP_USDC", 0.08, 0.6, 0.85, 4, 0.01, (2, 5, 10), 1.0),
)


def parse_size(text: str) -> int:
    """``"1M"`` -> 1_000_000, ``"20k"`` -> 20_000, ``"1500"`` -> 1500."""
    t = text.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def dataset_path(n_trades: int, *, seed: int = 1, root: Path | None = None) -> Path:
    return (root or DEFAULT_ROOT) / f"trades-{n_trades}-seed{seed}"


def _expiry_ns(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * DAY_NS + EXPIRY_HOUR_NS


def _last_friday(year: int, month: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    d = nxt - dt.timedelta(days=1)
    return d - dt.timedelta(days=(d.weekday() - 4) % 7)


def listed_expiries(day: dt.date) -> list[dt.date]:
    """Expiry dates listed during ``day``: 4 dailies, 3 weeklies, 2 monthlies, 2 quarterlies."""
    out = {day + dt.timedelta(days=k) for k in range(4)}
    friday = day + dt.timedelta(days=(4 - day.weekday()) % 7)
    out |= {friday + dt.timedelta(weeks=k) for k in range(3)}
    months: list[dt.date] = []
    quarters: list[dt.date] = []
    y, m = day.year, day.month
    while len(months) < 2 or len(quarters) < 2:
        lf = _last_friday(y, m)
        if lf >= day:
            if len(months) < 2:
                months.append(lf)
            if m % 3 == 0 and len(quarters) < 2:
                quarters.append(lf)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return sorted(out | set(months) | set(quarters))


def _strike_text(ticks: int, tick: float) -> str:
    """A strike of ``ticks`` ticks in Deribit form: 100000, 152d5, 0d61."""
    if tick >= 1:
        return str(ticks * int(tick))
    places = -math.floor(math.log10(tick) + 1e-9)
    whole, frac = divmod(ticks * round(tick * 10**places), 10**places)
    text = f"{whole}.{frac:0{places}d}".rstrip("0").rstrip(".")
    return text.replace(".", "d")


def _name(asset: Asset, expiry: dt.date, strike: str, kind: str) -> str:
    return f"{asset.under}-{expiry.day}{MONTHS[expiry.month - 1]}{expiry.year % 100:02d}-{strike}-{kind}"


@dataclass
class _State:
    """Per-asset state carried from one day to the next (the walks)."""

    log_spot: float
    vol_z: float
    next_id: int


def _day_chunk(asset: Asset, a: int, day_index: int, n: int, state: _State, seed: int) -> pa.Table:
    """The ``n`` trades of ``asset`` on day ``day_index``, sorted by time."""
    rng = np.random.default_rng([seed, a, day_index])
    day = START + dt.timedelta(days=day_index)
    day_ns = (day - dt.date(1970, 1, 1)).days * DAY_NS
    # Spot: one GBM step per second, continuing yesterday's close.
    steps = rng.normal(0.0, asset.vol / math.sqrt(YEAR_S), 86_400)
    path = state.log_spot + np.cumsum(steps)
    state.log_spot = float(path[-1])
    spot_path = np.round(np.exp(path), asset.decimals)
    state.vol_z = 0.9 * state.vol_z + math.sqrt(1 - 0.81) * float(rng.normal())
    vol_level = asset.vol * math.exp(0.15 * state.vol_z)
    # Unique, sorted timestamps within the day.
    raw = np.sort(rng.integers(0, DAY_NS, n))
    ts = np.maximum.accumulate(raw - np.arange(n)) + np.arange(n)
    ts = np.minimum(ts, DAY_NS - n + np.arange(n))  # keep inside the day, still unique
    ts = day_ns + ts
    spot = spot_path[(ts - day_ns) // NS]
    # Expiry: any listed expiry still in the future, near-dated ones favoured.
    expiries = listed_expiries(day)
    exp_ns = np.array([_expiry_ns(e) for e in expiries], dtype=np.int64)
    tenor_days = (exp_ns - day_ns) / DAY_NS
    weights = 1.0 / (tenor_days + 0.5) ** 0.8
    pick = np.empty(n, dtype=np.int64)
    live_today = exp_ns[0] > ts  # today's daily only before 08:00
    for mask, first in ((live_today, 0), (~live_today, 1 if expiries[0] == day else 0)):
        w = weights[first:] / weights[first:].sum()
        pick[mask] = first + rng.choice(len(w), size=int(mask.sum()), p=w)
    t_years = (exp_ns[pick] - ts) / (YEAR_S * NS)
    # Strike: near the money, spread by the expected move to expiry.
    spread = np.clip(vol_level * np.sqrt(t_years), 0.01, 0.35)
    x = rng.normal(0.0, 1.0, n) * spread
    step_class = np.where(t_years < 2 / 365, 0, np.where(t_years < 35 / 365, 1, 2))
    step_ticks = np.array(asset.steps)[step_class]
    ticks = np.maximum(np.round(spot * np.exp(x) / (asset.tick * step_ticks)), 1).astype(np.int64) * step_ticks
    is_call = rng.random(n) < 0.55
    # Takers lean to buying out-of-the-money options.
    moneyness = np.log(ticks * asset.tick / spot)
    p_buy = 0.5 + 0.12 * np.tanh(8 * np.where(is_call, moneyness, -moneyness))
    side = np.where(rng.random(n) < p_buy, "buy", "sell")
    lots = 1 + np.minimum(np.floor(rng.lognormal(0.7, 1.1, n)), 2_000)
    amount = lots * asset.lot
    iv = np.round(vol_level * (1 + 1.5 * moneyness**2) * np.exp(rng.normal(0.0, 0.03, n)), 4)
    # Names: build each distinct (expiry, ticks, kind) once.
    key = (pick * 10_000_000 + ticks) * 2 + is_call
    uniq, inverse = np.unique(key, return_inverse=True)
    names = []
    for k in uniq.tolist():
        call, rest = k % 2, k // 2
        names.append(
            _name(
                asset, expiries[rest // 10_000_000], _strike_text(rest % 10_000_000, asset.tick), "C" if call else "P"
            )
        )
    instrument = pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32)), pa.array(names, pa.string()))
    ids = a * 10**11 + state.next_id + np.arange(n, dtype=np.int64)
    state.next_id += n
    return pa.table(
        {
            "timestamp": pa.array(ts, pa.timestamp("ns", tz="UTC")),
            "instrument": instrument.cast(pa.string()),
            "side": pa.array(side, pa.string()),
            "amount": pa.array(amount, pa.float64()),
            "index_price": pa.array(spot, pa.float64()),
            "iv": pa.array(iv, pa.float64()),
            "trade_id": pa.array(ids, pa.int64()),
        }
    )


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _asset_counts(n: int) -> list[int]:
    """``n`` split across assets by share, largest remainder (sums to ``n`` exactly)."""
    raw = [n * a.share for a in ASSETS]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(ASSETS)), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    return counts


def chunks(n_trades: int, *, seed: int = 1, days: int | None = None) -> Iterator[tuple[Asset, dt.date, pa.Table]]:
    """Yields (asset, date, trades) chunks in date order; ``n_trades`` in all."""
    days = days or max(1, round(n_trades / TRADES_PER_DAY))
    states = [_State(math.log(a.spot), 0.0, 0) for a in ASSETS]
    for d, per_day in enumerate(_split(n_trades, days)):
        for a, (asset, n) in enumerate(zip(ASSETS, _asset_counts(per_day))):
            if n:
                yield asset, START + dt.timedelta(days=d), _day_chunk(asset, a, d, n, states[a], seed)


def generate(
    n_trades: int, *, seed: int = 1, days: int | None = None, root: Path | None = None, out: Path | None = None
) -> Path:
    """Writes (once) and returns the hive-partitioned dataset of ``n_trades`` trades.

    The dataset is cached: an existing complete directory (with its
    ``_manifest.json``) is reused. ``out`` overrides the cached location.
    """
    path = out or dataset_path(n_trades, seed=seed, root=root)
    if (path / "_manifest.json").is_file():
        return path
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    first: dict[str, int] = {}
    n_days = 0
    for asset, day, table in chunks(n_trades, seed=seed, days=days):
        part = tmp / f"asset={asset.name}" / f"date={day.isoformat()}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, part / "part-0.parquet")
        codes = table.column("instrument").combine_chunks().dictionary_encode()
        stamps = np.asarray(table.column("timestamp").cast(pa.int64()))
        _, at = np.unique(np.asarray(codes.indices), return_index=True)  # rows are in time order
        for name, row in zip(codes.dictionary.to_pylist(), at.tolist()):
            first.setdefault(name, int(stamps[row]))
        n_days = max(n_days, (day - START).days + 1)
    (tmp / "_manifest.json").write_text(json.dumps(_shape(n_trades, seed, n_days, first), indent=1))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path


def _shape(n_trades: int, seed: int, days: int, first: dict[str, int]) -> dict[str, object]:
    """What the dataset looks like: instruments, grid steps, dense (instrument, step) rows."""
    from flowgex.reference import parse_name

    res = 600 * NS
    start_ns = (START - dt.date(1970, 1, 1)).days * DAY_NS
    end_label = (start_ns + days * DAY_NS - 1) // res * res + res
    dense = {a.name: 0 for a in ASSETS}
    for name, ts in first.items():
        parsed = parse_name(name)
        assert parsed is not None, name
        label = (ts // res + 1) * res
        last = min(parsed[2] - 1, end_label)
        dense[parsed[0]] += max(0, (last - label) // res + 1)
    steps = (end_label - ((start_ns // res + 1) * res)) // res + 1
    return {
        "trades": n_trades,
        "seed": seed,
        "days": days,
        "trades_per_day": n_trades / days,
        "instruments": len(first),
        "grid_steps_approx": steps,
        "dense_rows_approx": sum(dense.values()),
        "mean_live_per_asset": {a: round(v / steps, 1) for a, v in dense.items()},
    }


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("size", help="number of trades: 1M, 10M, 50M, 20k ...")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--root", type=Path, default=None)
    args = p.parse_args()
    where = generate(parse_size(args.size), seed=args.seed, root=args.root)
    print(where)
    print((where / "_manifest.json").read_text())
