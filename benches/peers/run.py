"""The side-by-side run: every peer, every size, checked, timed, tabulated.

``python -m benches.peers.run --sizes 1M,10M,50M``

For each size the dataset is generated once (cached outside the repository,
``$FLOWGEX_BENCH_DATA``), then each (peer, mode) runs ``--repeat`` times, each
time in a fresh child process (:mod:`benches.peers.child`). The first answer
of every peer is checked against flowgex's (threads=2, same mode) before its
time counts; a peer that disagrees is reported as such, without a time. A
watchdog polls each child's RSS and kills it above ``--mem-limit-gb`` (the
machine is shared: a peer that would need more is recorded as out of memory,
with the limit). Results go to a JSON file and are printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .check import disagreements
from .common import MEM_LIMIT_ENV, PeerOutput
from .dataset import DEFAULT_ROOT, generate, parse_size

__all__ = ["Row", "run_child", "main"]

ROOT = Path(__file__).resolve().parents[2]
ORDER = (
    "flowgex-2",
    "flowgex-1",
    "flowgex-stream",
    "duckdb",
    "duckdb-runs",
    "polars",
    "polars-runs",
    "pandas",
    "pandas-runs",
)


@dataclass
class Row:
    """One (size, mode, peer): the best of its runs, or why it has no time."""

    size: int
    mode: str
    peer: str
    status: str = "ok"
    seconds: float | None = None
    runs: list[float] = field(default_factory=list)
    peak_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_child(args: list[str], limit_kb: int, timeout: float) -> tuple[int, int, str]:
    """Runs one child; returns (exit status, peak RSS in kB, why it was killed or "")."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        MEM_LIMIT_ENV: f"{limit_kb / 2**20:.2f}",
    }
    proc = subprocess.Popen([sys.executable, "-m", "benches.peers.child", *args], cwd=ROOT, env=env)
    killed: list[str] = []
    done = threading.Event()
    start = time.monotonic()

    def watch() -> None:
        while not done.wait(0.02):
            if _rss_kb(proc.pid) > limit_kb:
                killed.append(f"out of memory: RSS above the {limit_kb / 2**20:.0f} GB limit")
            elif time.monotonic() - start > timeout:
                killed.append(f"timeout after {timeout:.0f} s")
            if killed:
                os.kill(proc.pid, signal.SIGKILL)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    watcher.join()
    return proc.returncode, usage.ru_maxrss, killed[0] if killed else ""


def _answer(where: Path, last: int) -> PeerOutput:
    return PeerOutput(
        total=pd.read_parquet(where / "total.parquet"),
        by_strike=pd.read_parquet(where / "by_strike.parquet"),
        last=last,
    )


def measure(
    size: int, data: Path, mode: str, peer: str, repeat: int, ref: PeerOutput | None, limit_kb: int, timeout: float
) -> tuple[Row, PeerOutput | None]:
    """Best of ``repeat`` fresh-process runs, after checking the first answer against ``ref``."""
    row = Row(size=size, mode=mode, peer=peer)
    answer = None
    rss = []
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="flowgex-peer-") as tmp:
            out = Path(tmp)
            code, peak, why = run_child(
                ["--peer", peer, "--mode", mode, "--data", str(data), "--out", str(out)], limit_kb, timeout
            )
            rss.append(peak / 1024)
            if why or code != 0:
                row.status = why or f"failed (exit {code})"
                break
            timing = json.loads((out / "timing.json").read_text())
            if i == 0:
                answer = _answer(out, int(timing["last"]))
                problems = disagreements(ref, answer) if ref is not None else []
                if problems:
                    row.status = "DISAGREES: " + "; ".join(problems)[:500]
                    break
            row.runs.append(timing["seconds"])
            row.extra.setdefault("cpu_seconds", []).append(timing["cpu_seconds"])
            row.extra["load_seconds"] = timing.get("load_seconds", 0.0)
        print(f"  {size:>11,} {mode:8} {peer:10} run {i + 1}: {row.runs[-1] if row.runs else '-'} s", flush=True)
    row.peak_rss_mb = max(rss) if rss else None
    if row.status == "ok":
        row.seconds = min(row.runs)
    return row, answer


def reference_slice(data: Path, n: int, limit_kb: int, timeout: float) -> Row:
    """flowgex's pure-Python reference vs the Rust engine on the first ``n`` trades."""
    row = Row(size=n, mode="slice", peer="reference")
    with tempfile.TemporaryDirectory(prefix="flowgex-ref-") as tmp:
        out = Path(tmp)
        code, peak, why = run_child(
            ["--peer", "reference", "--mode", "slice", "--data", str(data), "--out", str(out), "--slice", str(n)],
            limit_kb,
            timeout,
        )
        row.peak_rss_mb = peak / 1024
        if why or code != 0:
            row.status = why or f"failed (exit {code})"
            return row
        timing = json.loads((out / "timing.json").read_text())
        fast = _answer(out / "rust", 0)  # carries Σ|GEX| from its inventory rows: the scale
        ref = _answer(out / "reference", 0)
        problems = disagreements(ref, fast)
        if problems:
            row.status = "DISAGREES: " + "; ".join(problems)[:500]
            return row
        row.seconds = timing["seconds"]
        row.runs = [timing["seconds"]]
        row.extra = {"trades": timing["trades"], "rust_seconds": timing["rust_seconds"]}
    return row


def machine() -> dict[str, Any]:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln),
        platform.processor(),
    )
    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    versions = {p: metadata.version(p) for p in ("flowgex", "numpy", "pyarrow", "pandas", "polars", "duckdb")}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem.split()[1]) / 2**20, 1),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit.stdout.strip(),
        "load_average": os.getloadavg(),
    }


def _fmt_rate(size: int, seconds: float | None) -> str:
    return f"{size / seconds / 1e6:.2f} M" if seconds else "–"


def markdown(rows: list[Row]) -> str:
    """One table per (size, mode): time, trades/s, peak RSS, ratio to flowgex threads=2."""
    out = []
    for (size, mode), group in pd.Series(rows).groupby([[r.size for r in rows], [r.mode for r in rows]], sort=False):
        if mode == "slice":
            continue
        base = next((r.seconds for r in group if r.peer == "flowgex-2" and r.seconds), None)
        label = "end to end from Parquet" if mode == "parquet" else "in memory (data already loaded)"
        out.append(f"\n**{size:,} trades, {label}**\n")
        out.append(
            "| peer | wall (best) | trades/s | CPU (that run) | peak RSS | × flowgex (2 threads) | all runs (s) |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for r in group:
            if r.seconds is None:
                out.append(f"| {r.peer} | {r.status} | – | – | {r.peak_rss_mb or 0:,.0f} MB | – | – |")
                continue
            ratio = f"{r.seconds / base:.1f}×" if base else "–"
            runs = ", ".join(f"{s:.2f}" for s in r.runs)
            cpu = r.extra["cpu_seconds"][r.runs.index(r.seconds)]
            out.append(
                f"| {r.peer} | {r.seconds:.2f} s | {_fmt_rate(r.size, r.seconds)} | {cpu:.2f} s "
                f"| {r.peak_rss_mb:,.0f} MB | {ratio} | {runs} |"
            )
    for r in rows:
        if r.mode == "slice":
            if r.seconds is None:
                out.append(f"\nreference on {r.size:,} trades: {r.status}")
                continue
            n, rust = r.extra["trades"], r.extra["rust_seconds"]
            out.append(
                f"\n**pure-Python reference on the first {n:,} trades**: {r.seconds:.2f} s = "
                f"{r.seconds / n * 1e6:.1f} µs/trade; Rust (2 threads) on the same slice {rust:.3f} s = "
                f"{rust / n * 1e6:.2f} µs/trade ({r.seconds / rust:.0f}×)"
            )
            for big in rows:
                if big.peer == "flowgex-2" and big.seconds and big.mode != "slice":
                    per = big.seconds / big.size
                    out.append(
                        f"- vs Rust at {big.size:,} trades ({big.mode}): {per * 1e6:.3f} µs/trade, "
                        f"{r.seconds / n / per:,.0f}× per trade"
                    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1M", help="comma-separated trade counts: 1M,10M,50M")
    p.add_argument("--peers", default=",".join(ORDER), help="flowgex-2 runs first: it is the answer checked against")
    p.add_argument("--modes", default="parquet,memory")
    p.add_argument("--repeat", default="3", help="runs per peer, or one per size: 3,2,1")
    p.add_argument("--slice", type=int, default=20_000, help="reference slice (0: skip)")
    p.add_argument("--kernel", action="store_true", help="also run the gamma kernel comparison")
    p.add_argument("--mem-limit-gb", type=float, default=None, help="kill a child above this RSS")
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="dataset cache")
    p.add_argument("--json", type=Path, default=None, help="results file (default: under --root)")
    p.add_argument("--report", type=Path, nargs="+", default=None, help="print the tables of results files; no run")
    a = p.parse_args(argv)
    if a.report:
        for path in a.report:
            saved = json.loads(path.read_text())
            print(json.dumps(saved["machine"]))
            print(markdown([Row(**r) for r in saved["rows"]]))
            if "kernel" in saved:
                from .kernel import markdown as kernel_markdown

                print(kernel_markdown(saved["kernel"]))
        return

    sizes = [parse_size(s) for s in a.sizes.split(",")]
    repeats = [int(x) for x in a.repeat.split(",")]
    repeats += [repeats[-1]] * (len(sizes) - len(repeats))
    peers = [x for x in ORDER if x in a.peers.split(",")] + [x for x in a.peers.split(",") if x not in ORDER]
    avail = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if "MemAvailable" in ln)
    limit_kb = int(a.mem_limit_gb * 2**20) if a.mem_limit_gb else min(12 * 2**20, int(avail * 0.6))
    info = machine()
    print(json.dumps(info), flush=True)
    rows: list[Row] = []
    where = a.json or a.root / "results" / f"peers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    where.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"machine": info, "rows": [], "mem_limit_gb": limit_kb / 2**20}

    def save() -> None:  # after every row: a long run that dies keeps what it measured
        result["rows"] = [asdict(r) for r in rows]
        info["load_average_end"] = os.getloadavg()
        where.write_text(json.dumps(result, indent=1))

    for size, repeat in zip(sizes, repeats):
        data = generate(size, root=a.root)
        for mode in a.modes.split(","):
            ref = None
            for peer in peers:
                if peer == "flowgex-stream" and mode != "parquet":
                    continue  # streaming is about reading the dataset piece by piece
                row, answer = measure(size, data, mode, peer, repeat, ref, limit_kb, a.timeout)
                if peer == "flowgex-2":
                    ref = answer
                rows.append(row)
                save()
    if a.slice:
        rows.append(reference_slice(generate(sizes[0], root=a.root), a.slice, limit_kb, a.timeout))
        save()
    if a.kernel:
        from .kernel import compare

        result["kernel"] = compare()
        save()
    print(markdown(rows))
    if a.kernel:
        from .kernel import markdown as kernel_markdown

        print(kernel_markdown(result["kernel"]))
    print(f"\nresults: {where}")


if __name__ == "__main__":
    main()
