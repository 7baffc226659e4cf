"""The profile-sweep target end to end: one simulated year of BTC, 401 spot
points x every live option at every 10-minute step, through ``fg.levels_series``.

``python benches/sweep_year.py [--data DIR] [--threads 2]``

The year is the BTC partition of the peers harness's 50M-trade dataset
(``benches/peers/dataset.py``: 2024, about 22M BTC trades, dailies to
quarterlies, ~500 live options per step); it is generated on first use into
``$FLOWGEX_BENCH_DATA``. The replay (``flow_gex``) and the sweep are timed
separately; the sweep is what the target is about. Before the time is printed,
ten steps drawn at random are recomputed one at a time with ``fg.levels`` (the
single-time function the series must agree with) and compared.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import flowgex as fg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benches.peers.common import COLUMNS  # noqa: E402
from benches.peers.dataset import DEFAULT_ROOT, generate  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="a peers dataset (default: the 50M one)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--points", type=int, default=401)
    a = p.parse_args()
    data = a.data or generate(50_000_000, root=a.root)
    trades = pq.read_table(
        os.path.join(data, "asset=BTC"), columns=COLUMNS, read_dictionary=["instrument", "side"], partitioning=None
    )
    t0 = time.perf_counter()
    res = fg.flow_gex(trades, threads=a.threads)
    t_replay = time.perf_counter() - t0
    t0 = time.perf_counter()
    series = fg.levels_series(res, "BTC", points=a.points, threads=a.threads)
    t_sweep = time.perf_counter() - t0
    rows = len(res.data.inventory)  # (option, step) rows: what the sweep evaluates
    rng = np.random.default_rng(0)
    for i in rng.choice(len(series), size=10, replace=False):
        one = fg.levels(res, "BTC", at=series["time"].iloc[i], points=a.points)
        want, got = one.flip, series["flip"].iloc[i]
        got = None if got is None or got is pd.NA else float(got)
        same = (want is None) == (got is None) and (want is None or abs(want - got) <= 1e-9 * abs(want))
        if not same:
            raise SystemExit(f"levels_series disagrees with levels at {series['time'].iloc[i]}: {got} vs {want}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    evals = rows * a.points
    print(
        f"BTC trades {trades.num_rows:,}; steps {len(series):,}; (option, step) rows {rows:,}\n"
        f"replay (flow_gex): {t_replay:.1f} s\n"
        f"sweep (levels_series, {a.points} points, threads={a.threads}): {t_sweep:.1f} s = "
        f"{len(series) / t_sweep:,.0f} steps/s, {evals / t_sweep / 1e6:,.0f} M gamma evaluations/s\n"
        f"peak RSS {peak:.2f} GiB"
    )


if __name__ == "__main__":
    main()
