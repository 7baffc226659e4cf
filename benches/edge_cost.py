"""Engine time in memory on N synthetic trades (best of R), to compare two builds side by side.

Usage: ``python benches/edge_cost.py N R [raise|quarantine]``; put another build
first on PYTHONPATH to compare (the issue-11 edge checks were measured this way
against 3216f2b, see benches/README.md).
"""

import sys
import time

import numpy as np
import pyarrow as pa

import flowgex as fg

n = int(sys.argv[1])
reps = int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "raise"
rng = np.random.default_rng(7)
strikes = np.arange(60_000, 140_000, 1000)
exp = ["27DEC24", "31JAN25", "28MAR25", "27JUN25"]
names = np.array([f"BTC-{e}-{k}-{c}" for e in exp for k in strikes for c in "CP"])
t0 = np.datetime64("2024-12-01T00:00:00", "ns").astype(np.int64)
ts = np.sort(t0 + rng.integers(0, 20 * 86400 * 10**9, n))
codes = rng.integers(0, len(names), n).astype(np.int32)
tab = pa.table(
    {
        "timestamp": pa.array(ts, pa.timestamp("ns", tz="UTC")),
        "instrument": pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names)),
        "side": pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, 2, n).astype(np.int32)), pa.array(["buy", "sell"])
        ),
        "amount": rng.uniform(0.1, 10, n),
        "index_price": rng.uniform(90_000, 100_000, n),
        "iv": rng.uniform(0.3, 0.9, n),
    }
)
best = 1e9
for _ in range(reps):
    s = time.perf_counter()
    res = fg.flow_gex(tab, keep_inventory="last", keep_aggregates="last", errors=mode)
    best = min(best, time.perf_counter() - s)
print(f"{fg.__file__.split('/python/')[0]} n={n} {mode}: best {best:.3f} s, total {float(res.total().gex.sum()):.6e}")
