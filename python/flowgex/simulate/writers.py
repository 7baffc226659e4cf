"""Streaming writers for simulated markets: Parquet datasets and Tardis.dev CSV.

Both take any iterable of :class:`SimulatedMarket` pieces (one market, or
``simulate_chunks(...)``) and write each piece as it comes, so memory holds
one chunk at a time.

- **Parquet**: ``<out>/trades``, ``<out>/chain`` and ``<out>/spot`` are
  hive-partitioned datasets (``asset=BTC/date=2024-11-25/part-….parquet``) in
  the canonical schema; ``<out>/initial.parquet`` holds the true starting
  dealer inventory.
- **Tardis CSV**: one gzip file per UTC day and data type, named as Tardis
  names its downloads (``deribit_trades_2024-11-25_OPTIONS.csv.gz``,
  ``deribit_options_chain_…``), with Tardis' columns. As on Deribit,
  ``amount`` and ``open_interest`` are in base-coin units (contracts ×
  multiplier), prices are in coin for BTC/ETH options and in USDC for the
  USDC-settled ones, IVs are percents and times are µs since the epoch.
"""

from __future__ import annotations

import gzip
import io
import math
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from ..gamma import black76_gamma
from .calendar import DAY_NS
from .model import ASSETS, CARRY

if TYPE_CHECKING:  # annotations only: market.py calls these writers
    from .market import SimulatedMarket

__all__ = ["write_parquet", "write_tardis_csv"]


def _names(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col


def _asset(names: pa.ChunkedArray) -> pa.ChunkedArray:
    """BTC from ``BTC-27DEC24-100000-C``, SOL from ``SOL_USDC-…``."""
    head = pc.utf8_upper(pc.list_element(pc.split_pattern(names, "-"), 0))
    return pc.list_element(pc.split_pattern(head, "_"), 0)


def _dates(ts: pa.ChunkedArray) -> np.ndarray:
    days = ts.cast(pa.int64()).to_numpy() // DAY_NS
    return days.astype("datetime64[D]").astype(str)


def write_parquet(chunks: Iterable[SimulatedMarket], out: str | Path) -> Path:
    """Writes each piece into ``out`` as hive-partitioned canonical Parquet; returns ``out``."""
    out = Path(out)
    for name in ("trades", "chain", "spot"):
        if (out / name).exists():
            shutil.rmtree(out / name)
    out.mkdir(parents=True, exist_ok=True)
    part = pads.partitioning(pa.schema([("asset", pa.string()), ("date", pa.string())]), flavor="hive")
    for i, m in enumerate(chunks):
        if i == 0:
            pq.write_table(m.initial, out / "initial.parquet")
        for name, table in (("trades", m.trades), ("chain", m.chain), ("spot", m.spot)):
            if table.num_rows == 0:
                continue
            if name != "spot":
                table = table.set_column(1, "instrument", _names(table.column("instrument")))
                table = table.append_column("asset", _asset(table.column("instrument")))
            table = table.append_column("date", pa.array(_dates(table.column("timestamp"))))
            pads.write_dataset(
                table,
                out / name,
                format="parquet",
                partitioning=part,
                basename_template=f"part-{i:06d}-{{i}}.parquet",
                existing_data_behavior="overwrite_or_ignore",
            )
    return out


def _ncdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7): prices for files only."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def _b76(f: np.ndarray, k: np.ndarray, t: np.ndarray, v: np.ndarray, call: np.ndarray) -> tuple[np.ndarray, ...]:
    """Black-76 (r = 0) price in USD and delta."""
    sd = v * np.sqrt(np.maximum(t, 1e-12))
    d1 = (np.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    price = np.where(call, f * _ncdf(d1) - k * _ncdf(d2), k * _ncdf(-d2) - f * _ncdf(-d1))
    delta = np.where(call, _ncdf(d1), _ncdf(d1) - 1.0)
    return np.maximum(price, 0.0), delta


def _parts(names: pa.ChunkedArray) -> tuple[np.ndarray, ...]:
    """(prefix, expiry ns, strike, is_call, multiplier, inverse) per row, parsing each unique name once."""
    from ..instruments import parse_instrument

    uniq, codes = np.unique(np.asarray(names.to_pylist(), dtype=object), return_inverse=True)
    info = [parse_instrument(str(n)) for n in uniq]
    expiry = np.array([int(np.datetime64(i.expiry.replace(tzinfo=None), "ns").astype(np.int64)) for i in info])
    strike = np.array([i.strike for i in info])
    call = np.array([i.kind == "C" for i in info])
    mult = np.array([ASSETS[i.asset].multiplier for i in info])
    inverse = np.array([i.quote is None for i in info])
    prefix = np.array([str(n).split("-")[0] + "-" + str(n).split("-")[1] for n in uniq], dtype=object)
    return prefix[codes], expiry[codes], strike[codes], call[codes], mult[codes], inverse[codes]


class _DailyGzip:
    """Appends CSV rows to one gzip file per day; the header goes in once per file."""

    def __init__(self, out: Path, kind: str) -> None:
        self.out, self.kind = out, kind
        self.started: set[str] = set()

    def write(self, table: pa.Table, dates: np.ndarray) -> None:
        for day in np.unique(dates):
            rows = table.filter(pa.array(dates == day))
            path = self.out / f"deribit_{self.kind}_{day}_OPTIONS.csv.gz"
            first = day not in self.started
            buf = io.BytesIO()
            if first:  # Tardis headers are bare names; pyarrow would quote them
                buf.write((",".join(rows.column_names) + "\n").encode())
            pacsv.write_csv(rows, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
            with gzip.open(path, "wb" if first else "ab", compresslevel=3) as f:
                f.write(buf.getvalue())
            self.started.add(day)


def _us(ns: np.ndarray) -> np.ndarray:
    return np.asarray(ns, dtype=np.int64) // 1000


def write_tardis_csv(chunks: Iterable[SimulatedMarket], out: str | Path) -> Path:
    """Writes each piece as Tardis.dev ``trades`` and ``options_chain`` gzip CSV per day; returns ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trades_out, chain_out = _DailyGzip(out, "trades"), _DailyGzip(out, "options_chain")
    for m in chunks:
        t = m.trades
        if t.num_rows:
            names = _names(t.column("instrument"))
            _, expiry, strike, call, mult, inverse = _parts(names)
            ts = t.column("timestamp").cast(pa.int64()).to_numpy()
            index = t.column("index_price").to_numpy()
            years = (expiry - ts) / (365 * DAY_NS)
            usd, _ = _b76(index * np.exp(CARRY * years), strike, years, t.column("iv").to_numpy(), call)
            price = np.round(np.where(inverse, usd / index, usd), 4)
            trades_out.write(
                pa.table(
                    {
                        "exchange": pa.array(["deribit"] * t.num_rows),
                        "symbol": names,
                        "timestamp": _us(ts),
                        "local_timestamp": _us(ts) + 5_000,
                        "id": t.column("trade_id").cast(pa.string()),
                        "side": t.column("side").cast(pa.string()),
                        "price": price,
                        "amount": np.round(t.column("amount").to_numpy() * mult, 9),
                    }
                ),
                _dates(t.column("timestamp")),
            )
        c = m.chain
        if c.num_rows:
            names = _names(c.column("instrument"))
            prefix, expiry, strike, call, mult, inverse = _parts(names)
            ts = c.column("timestamp").cast(pa.int64()).to_numpy()
            fwd = c.column("underlying_price").to_numpy()
            iv = c.column("mark_iv").to_numpy()
            years = (expiry - ts) / (365 * DAY_NS)
            usd, delta = _b76(fwd, strike, years, iv, call)
            spot = fwd * np.exp(-CARRY * years)
            empty = pa.nulls(c.num_rows, pa.float64())
            chain_out.write(
                pa.table(
                    {
                        "exchange": pa.array(["deribit"] * c.num_rows),
                        "symbol": names,
                        "timestamp": _us(ts),
                        "local_timestamp": _us(ts) + 5_000,
                        "type": np.where(call, "call", "put"),
                        "strike_price": strike,
                        "expiration": _us(expiry),
                        "open_interest": np.round(c.column("open_interest").to_numpy() * mult, 9),
                        "last_price": empty,
                        "bid_price": empty,
                        "bid_amount": empty,
                        "bid_iv": empty,
                        "ask_price": empty,
                        "ask_amount": empty,
                        "ask_iv": empty,
                        "mark_price": np.round(np.where(inverse, usd / spot, usd), 4),
                        "mark_iv": np.round(iv * 100.0, 4),
                        "underlying_index": pa.array(["SYN." + p for p in prefix]),
                        "underlying_price": np.round(fwd, 4),
                        "delta": np.round(delta, 5),
                        "gamma": black76_gamma(fwd, strike, years, iv),
                        "vega": empty,
                        "theta": empty,
                        "rho": empty,
                    }
                ),
                _dates(c.column("timestamp")),
            )
    return out
