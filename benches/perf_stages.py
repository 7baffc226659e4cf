"""Where one in-memory ``flow_gex`` call spends its time, stage by stage (issue 17).

``python benches/perf_stages.py DATASET [repeats] [threads]`` reads the peers
harness's dataset once (as ``benches.peers.flowgex_peer.read`` does), then
times, ``repeats`` times in this one process: canonicalisation, encoding
(Arrow -> the arrays the core takes), the core's ``update`` (validate, sort,
dedupe, replay, gamma, aggregation), ``finish`` (the last step and the result
buffers handed to Python) and the two pandas frames the peers job builds.
The split inside ``update`` comes from ``perf`` (see benches/README.md,
"Performance push"). Medians are printed; the machine is shared, so compare
builds in alternating runs, not across sessions.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches.peers.flowgex_peer import read  # noqa: E402

import flowgex as fg  # noqa: E402
from flowgex import _encode  # noqa: E402
from flowgex.schema import canonical_trades  # noqa: E402


def once(table: object, threads: int) -> dict[str, float]:
    t: dict[str, float] = {}
    eng = fg.Engine(keep_inventory="last", keep_aggregates="last", threads=threads)
    a = time.perf_counter()
    canon = canonical_trades(table)
    b = time.perf_counter()
    enc = _encode.encode_trades(canon, chunks=True)
    c = time.perf_counter()
    eng._core.update(enc, None, None, strict=True)
    d = time.perf_counter()
    core = eng._core.finish()
    e = time.perf_counter()
    res = eng._wrap(core)
    res.total()
    res.by_strike(at="last")
    f = time.perf_counter()
    t.update(canonical=b - a, encode=c - b, update=d - c, finish=e - d, frames=f - e, total=f - a)
    return t


def main() -> None:
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    table = read(path)
    n = table.num_rows
    runs = [once(table, threads) for _ in range(repeats)]
    for k in runs[0]:
        vals = [r[k] for r in runs]
        med = statistics.median(vals)
        print(f"{k:10s} median {med:7.3f} s  {med / n * 1e9:6.1f} ns/trade  runs {', '.join(f'{v:.3f}' for v in vals)}")


if __name__ == "__main__":
    main()
