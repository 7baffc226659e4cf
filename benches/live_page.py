"""What refreshing ``out/report.html`` costs a live run at each final step, window full.

    python benches/live_page.py --options 2000 --hours 24 --window 1D

Builds the drained parts a live run's engine hands out (one per 10-minute step,
``--options`` BTC options, every one traded in the first minutes so all are
live at every step, a trade every few seconds after that), fills the page's
window (:class:`flowgex.live.page.PageWindow`) with ``--hours`` of them, then
times the steady state of one commit's page work: adding the new part (trim
included), merging the window into one result, and ``fg.write_html`` (the page
data: bars, levels series, a profile per step and expiry filter; plotly.js
inlined). Reported: median / max over ``--repeat`` refreshes, the page's size
and the window's memory (its parts' arrays).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flowgex as fg  # noqa: E402
from flowgex.live.page import PageWindow  # noqa: E402
from live_bench import _names  # noqa: E402

T0 = pd.Timestamp("2024-12-02", tz="UTC").value
STEP = 600 * 10**9


def trades(n_options: int, hours: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = _names(n_options)
    span = int(hours * 3_600 * 10**9)
    n = n_options + int(hours * 3_600 / 3)  # one trade every 3 s after the opening round
    ts = np.sort(np.concatenate([np.arange(n_options) * 10**8, rng.integers(n_options * 10**8, span, n - n_options)]))
    inst = np.concatenate([np.arange(n_options), rng.integers(0, n_options, n - n_options)])
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(T0 + ts, utc=True),
            "instrument": [names[k] for k in inst],
            "side": np.where(np.arange(n) % 3 == 0, "sell", "buy"),
            "amount": 0.1 * (1 + np.arange(n) % 5),
            "index_price": 95_000.0 * (1 + 0.02 * np.sin(ts / 3.6e12)),
            "iv": 0.5 + (inst % 20) / 100,
            "trade_id": np.arange(n),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--options", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--window", default="1D")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    t = trades(args.options, args.hours + args.repeat / 6 + 1 / 6)
    eng = fg.Engine()
    win = PageWindow(pd.Timedelta(args.window).value)
    cut = np.searchsorted(pd.DatetimeIndex(t["timestamp"]).asi8, T0 + STEP * np.arange(1, 10**6))
    lo, parts = 0, []
    for hi in cut:  # one drained part per step, as a live run commits
        if lo >= len(t):
            break
        eng.update(t.iloc[lo:hi])
        parts.append(eng.drain())
        lo = hi
    parts = [p for p in parts if len(p.times)]
    fill = int(args.hours * 6)
    for p in parts[:fill]:
        win.add(p)
    out = Path(tempfile.mkdtemp(prefix="live-page-"))
    times = {"add": [], "merge": [], "write": []}
    try:
        for p in parts[fill : fill + args.repeat]:
            a = time.perf_counter()
            win.add(p)
            b = time.perf_counter()
            res = win.result()
            c = time.perf_counter()
            fg.write_html(res, out / "report.html", title="bench")
            d = time.perf_counter()
            times["add"].append(b - a)
            times["merge"].append(c - b)
            times["write"].append(d - c)
        res = win.result()
        steps = len(res.times)
        nbytes = sum(v.nbytes for p in win.parts for tbl in p.data.tables().values() for v in tbl.columns().values())
        size = (out / "report.html").stat().st_size
        inv = len(res.data.inventory)
        print(f"options {args.options}, window {args.window}: {steps} steps, {inv:,} inventory rows, "
              f"{len(win.parts)} parts, {nbytes / 1e6:.1f} MB of arrays")  # fmt: skip
        total = np.add(np.add(times["add"], times["merge"]), times["write"])
        for k, v in [*times.items(), ("per step", total)]:
            print(f"{k:>8}: median {np.median(v) * 1e3:8.1f} ms, max {np.max(v) * 1e3:8.1f} ms")
        print(f"page: {size / 1e6:.2f} MB")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
