"""Streaming replay benchmark: peak memory and throughput of ``fg.replay`` on a
simulated market far larger than one chunk.

    python benches/replay_stream.py --trades 50_000_000

1. Writes a hive-partitioned Parquet dataset (``asset=BTC/date=…``, one file per
   asset and day, so two files overlap in time every day and the replay must
   merge them) with a chunked numpy generator: one (asset, day) is in memory at
   a time, never the whole history.
2. Replays it in a child process (``fg.replay``, checkpoint after every chunk,
   results to Parquet) and reports the child's peak RSS (``ru_maxrss``) and
   trades/s from the start of the replay to its last write (imports excluded).
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
ASSETS = {"BTC": (30_000.0, 1_000.0), "ETH": (2_000.0, 50.0)}  # starting spot, strike step
DAY_NS = 86_400 * 10**9


def expiries(day: dt.date) -> list[dt.date]:
    """The next four Fridays and the last Fridays of the next three months (Deribit-like)."""
    fridays = [day + dt.timedelta(days=(4 - day.weekday()) % 7 + 7 * k) for k in range(5)]
    fridays = [f for f in fridays if f > day][:4]
    for m in range(1, 4):
        y, mo = day.year + (day.month - 1 + m) // 12, (day.month - 1 + m) % 12 + 1
        last = dt.date(y, mo, calendar.monthrange(y, mo)[1])
        fridays.append(last - dt.timedelta(days=(last.weekday() - 4) % 7))
    return sorted(set(fridays))


def simulated_day(asset: str, day: dt.date, n: int, spot: float, first_id: int, rng) -> tuple[pa.Table, float]:
    """``n`` taker trades of one asset on one UTC day; returns the table and the closing spot."""
    _, step = ASSETS[asset]
    t0 = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()) * 10**9
    ts = t0 + np.sort(rng.integers(0, DAY_NS // 1000, n)) * 1000
    path = spot * np.exp(np.cumsum(rng.normal(0.0, 0.03 / np.sqrt(n), n)))
    exp = expiries(day)
    e = rng.choice(len(exp), n, p=(w := 1.0 / np.arange(1, len(exp) + 1)) / w.sum())
    strike = np.maximum(np.round(path * np.exp(rng.normal(0, 0.06, n)) / step), 1).astype(np.int64) * int(step)
    call = np.where(rng.random(n) < 0.8, strike >= path, strike < path)
    key = (e * 10**9 + strike) * 2 + call
    uniq, codes = np.unique(key, return_inverse=True)
    names = []
    for k in uniq:
        ex, k_strike, c = exp[int(k // 2 // 10**9)], int(k // 2 % 10**9), int(k % 2)
        names.append(f"{asset}-{ex.day}{MONTHS[ex.month - 1]}{ex:%y}-{k_strike}-{'C' if c else 'P'}")
    table = pa.table(
        {
            "timestamp": pa.array(ts, pa.timestamp("ns", tz="UTC")),
            "instrument": pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names)),
            "side": pa.DictionaryArray.from_arrays(
                pa.array((rng.random(n) < 0.5).astype(np.int32)), pa.array(["sell", "buy"])
            ),
            "amount": np.round(rng.lognormal(0.0, 1.0, n), 1) + 0.1,
            "index_price": path,
            "iv": 0.45 + 0.6 * np.abs(np.log(strike / path)) + rng.normal(0, 0.01, n),
            "trade_id": np.arange(first_id, first_id + n, dtype=np.int64),
        }
    )
    return table, float(path[-1])


def generate(root: Path, trades: int, days: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    sizes = np.full(days * len(ASSETS), trades // (days * len(ASSETS)))
    sizes[: trades % len(sizes)] += 1
    spots = {a: s for a, (s, _) in ASSETS.items()}
    start, written = dt.date(2023, 1, 2), 0
    for d in range(days):
        day = start + dt.timedelta(days=d)
        for i, asset in enumerate(ASSETS):
            n = int(sizes[d * len(ASSETS) + i])
            table, spots[asset] = simulated_day(asset, day, n, spots[asset], written, rng)
            target = root / f"asset={asset}" / f"date={day}" / "part-0.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, target)
            written += n
    return written


CHILD = """
import json, resource, sys, time
import flowgex as fg
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
s = fg.replay(sys.argv[1], out=sys.argv[2], chunk_rows=int(sys.argv[3]), progress=sys.argv[4] == "1")
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rss_after_import_kb": rss0, "chunks": s.chunks, "trades": s.rows["trades"],
                  "used": s.diagnostics.trades_used, "instruments": s.diagnostics.instruments}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trades", type=lambda s: int(s.replace("_", "")), default=50_000_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temp dir, removed)")
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="flowgex-replay-bench-"))
    try:
        t = time.perf_counter()
        n = generate(work / "trades", args.trades, args.days, args.seed)
        gen = time.perf_counter() - t
        size = sum(p.stat().st_size for p in (work / "trades").rglob("*.parquet"))
        print(f"generated {n:,} trades in {gen:.0f} s: {size / 2**20:,.0f} MiB of Parquet", flush=True)
        cmd = [sys.executable, "-c", CHILD, str(work / "trades"), str(work / "out"), str(args.chunk_rows)]
        out = subprocess.run([*cmd, "1" if args.progress else "0"], check=True, stdout=subprocess.PIPE, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(r))
        rate = r["trades"] / r["seconds"] / 1e6
        print(
            f"| {r['trades']:,} | {args.days} | {args.chunk_rows:,} | {r['chunks']} | {r['instruments']:,} | "
            f"{r['seconds']:.0f} s | {rate:.2f} M trades/s | {r['rss_kb'] / 2**20:.2f} GiB | "
            f"{r['rss_after_import_kb'] / 2**10:.0f} MiB |"
        )
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
