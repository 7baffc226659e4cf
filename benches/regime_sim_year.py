"""The regime study end to end on the simulated market: does near-spot GEX
predict forward volatility there? (It should not: the simulator's spot path
does not depend on dealer positioning — there is no dealer feedback — so this
run shows the mechanics and what "no effect" looks like, nothing more.)

``python benches/regime_sim_year.py [--days 365] [--n-boot 2000] [--out DIR]``

Simulates BTC (``fg.simulate_chunks``, 5,000 trades a day, seed 7, the
perfect-observer initial inventory), replays it through ``fg.Engine`` chunk by
chunk, then runs ``res.regime_study("BTC", signal=...)`` on the 10-minute grid
(the result's own spot as price) with and without ``control="trailing_rv"``,
for near-spot and total GEX. Prints the tables as Markdown (the README's
"Does it work?" table) with the time each phase took, and writes the chart.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

import flowgex as fg


def markdown(frame: pd.DataFrame) -> str:
    """A plain Markdown table, numbers to 3 decimals, <NA> as "—"."""
    cols = list(frame.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if v is pd.NA or v is None:
                cells.append("\u2014")
            elif isinstance(v, float):
                cells.append(f"{v:.3f}")
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--trades-per-day", type=int, default=5_000)
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--out", type=Path, default=Path("regime-sim"))
    a = p.parse_args()
    t0 = time.perf_counter()
    chunks = fg.simulate_chunks(days=a.days, assets=("BTC",), trades_per_day=a.trades_per_day, chunk_hours=24 * 30)
    eng = None
    n_trades = 0
    t_sim = 0.0
    t_eng = 0.0
    while True:
        s0 = time.perf_counter()
        m = next(chunks, None)
        t_sim += time.perf_counter() - s0
        if m is None:
            break
        s0 = time.perf_counter()
        if eng is None:
            eng = fg.Engine(initial=m.initial, keep_inventory="last")
        eng.update(m.trades, m.chain, m.spot)
        t_eng += time.perf_counter() - s0
        n_trades += m.trades.num_rows
    s0 = time.perf_counter()
    res = eng.finish()
    t_eng += time.perf_counter() - s0
    print(f"simulated {a.days} days of BTC: {n_trades:,} trades, {len(res.times):,} grid times")
    print(f"simulate {t_sim:.1f} s, replay {t_eng:.1f} s")
    a.out.mkdir(parents=True, exist_ok=True)
    for signal in ("near_spot_gex", "total_gex"):
        s0 = time.perf_counter()
        st = res.regime_study("BTC", signal=signal, n_boot=a.n_boot, control="trailing_rv")
        print(f"\n## {signal} (study {time.perf_counter() - s0:.1f} s)\n")
        print(markdown(st.table))
        print()
        print(markdown(st.contrasts))
        print()
        print(st.summary())
        st.plot(path=a.out / f"btc_regime_{signal}.png")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s; charts in {a.out.resolve()}")


if __name__ == "__main__":
    main()
