"""One timed run of one peer, in a fresh process (``python -m benches.peers.child``).

Why a child process: each run starts cold (no cache of a previous peer, no
shared allocator state) and its peak RSS is its own (the parent reads it with
``wait4``). The child times only the job (from the first byte read, or from
the loaded in-memory table, to the finished answer), then converts the answer
to the common shape outside the timed region and writes it as Parquet for the
parent to check against flowgex before the time is published.

Modes: ``parquet`` (end to end from the dataset), ``memory`` (the trades
already loaded in the peer's own form: a pyarrow Table for flowgex, a pandas
DataFrame with categoricals, a polars DataFrame with categoricals, a native
duckdb table), ``slice`` (flowgex's pure-Python reference and the Rust engine
on the first trades of the dataset in time order).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import PeerOutput

__all__ = ["PEERS", "MODES", "job", "main"]

#: ``-runs``: the dense grid without an asof join (each flow row repeated over the grid times it holds).
PEERS = (
    "flowgex-1",
    "flowgex-2",
    "flowgex-stream",
    "pandas",
    "pandas-runs",
    "polars",
    "polars-runs",
    "duckdb",
    "duckdb-runs",
    "reference",
)
MODES = ("parquet", "memory", "slice")


def _flowgex(threads: int) -> tuple[Callable[[str], Any], Callable[[Any], Any], Callable[[Any], PeerOutput]]:
    from . import flowgex_peer

    return flowgex_peer.read, lambda src: flowgex_peer.run(src, threads=threads), flowgex_peer.output


def one_core() -> None:
    """The flowgex-1 row is a one-core row: the Parquet reader and Arrow kernels get one thread too."""
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def job(peer: str, data: str) -> tuple[Callable[[str], Any], Callable[[Any], Any], Callable[[Any], PeerOutput]]:
    """(load for the in-memory mode, run from a path or a loaded object, to the common shape)."""
    if peer == "flowgex-stream":
        from . import flowgex_peer

        return flowgex_peer.read, lambda src: flowgex_peer.run_streaming(src, threads=2), flowgex_peer.output
    if peer.startswith("flowgex-"):
        return _flowgex(int(peer.split("-")[1]))
    name, _, variant = peer.partition("-")
    dense_by = variant or "asof"
    if name == "pandas":
        from . import pandas_peer

        return pandas_peer.read, lambda src: pandas_peer.run(src, dense_by), lambda out: out
    if name == "polars":
        from . import polars_peer

        return polars_peer.load, lambda src: polars_peer.run(src, dense_by), polars_peer.output
    if name == "duckdb":
        from . import duckdb_peer

        con = duckdb_peer.connect()

        def run(src: Any) -> Any:
            return duckdb_peer.run(src, None if src == data else con, dense_by)

        return lambda path: duckdb_peer.load(path, con), run, duckdb_peer.output
    raise SystemExit(f"unknown peer {peer!r}; expected one of {PEERS}")


def _write(out: PeerOutput, where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    out.total.to_parquet(where / "total.parquet")
    out.by_strike.to_parquet(where / "by_strike.parquet")


def _with_scale(out: PeerOutput, table: Any) -> PeerOutput:
    """Adds Σ|GEX| per row (from every inventory row) so that sums are judged against their terms."""
    import flowgex as fg

    inv = fg.flow_gex(table, threads=2).inventory()
    inv["gex_abs"] = inv["gex"].abs()
    inv["time"] = inv["time"].to_numpy(dtype="datetime64[ns]").view("int64")
    total = inv.groupby(["asset", "time"])["gex_abs"].sum().reset_index()
    strikes = inv[inv["time"] == out.last].groupby(["asset", "strike"])["gex_abs"].sum().reset_index()
    return PeerOutput(
        total=out.total.merge(total, on=["asset", "time"], how="left"),
        by_strike=out.by_strike.merge(strikes, on=["asset", "strike"], how="left"),
        last=out.last,
    )


def _slice(data: str, n: int, where: Path) -> dict[str, Any]:
    """The reference and the Rust engine on the first ``n`` trades in time order."""
    import pyarrow.compute as pc

    from . import flowgex_peer

    table = flowgex_peer.read(data)
    table = table.take(pc.sort_indices(table, [("timestamp", "ascending")])[:n])
    t0 = time.perf_counter()
    ref = flowgex_peer.run(table, engine="reference")
    t_ref = time.perf_counter() - t0
    rust = []
    for _ in range(3):
        t0 = time.perf_counter()
        fast = flowgex_peer.run(table, threads=2)
        rust.append(time.perf_counter() - t0)
    _write(flowgex_peer.output(ref), where / "reference")
    _write(_with_scale(flowgex_peer.output(fast), table), where / "rust")
    return {"trades": table.num_rows, "seconds": t_ref, "rust_seconds": min(rust)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", required=True, choices=PEERS)
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--data", required=True, help="the hive-partitioned Parquet dataset")
    p.add_argument("--out", required=True, type=Path, help="where the answer and timings go")
    p.add_argument("--slice", type=int, default=20_000, help="trades in the reference slice")
    a = p.parse_args(argv)
    try:  # if memory runs out anyway, let the kernel pick this process, not a neighbour
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass
    if a.mode == "slice":
        info = _slice(a.data, a.slice, a.out)
    else:
        if a.peer == "flowgex-1":
            one_core()
        load, run, to_output = job(a.peer, a.data)
        source: Any = a.data
        t_load = 0.0
        if a.mode == "memory":
            t0 = time.perf_counter()
            source = load(a.data)
            t_load = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), _cpu()
        native = run(source)
        seconds, cpu = time.perf_counter() - t0, _cpu() - c0
        out = to_output(native)
        _write(out, a.out)
        info = {"seconds": seconds, "cpu_seconds": cpu, "load_seconds": t_load, "last": out.last}
    info["pid"] = os.getpid()
    (a.out / "timing.json").write_text(json.dumps(info))


if __name__ == "__main__":
    main()
