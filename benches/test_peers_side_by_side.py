"""Peers side by side under pytest-benchmark: flowgex (threads 1 and 2), duckdb,
polars and pandas on the same hive-partitioned Parquet trades, end to end and
in memory, plus the gamma kernel against numpy and a C loop.

Run: ``pytest benches/test_peers_side_by_side.py --benchmark-enable`` (part of
``make bench``). The size defaults to 1M trades; ``FLOWGEX_PEERS_SIZE=10M``
picks another. Every peer's answer is checked equal to flowgex's before it is
timed. Peak RSS and the 10M/50M runs are the job of
``python -m benches.peers.run`` (each peer in a fresh process); the numbers
are in ``benches/README.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from benches.peers import child, flowgex_peer, kernel
from benches.peers.check import assert_agree
from benches.peers.dataset import generate, parse_size
from benches.peers.run import ORDER

import flowgex as fg

SIZE = parse_size(os.environ.get("FLOWGEX_PEERS_SIZE", "1M"))
#: (peer, mode) rows as the runner measures them: streaming is a Parquet-only row.
ROWS = [(p, m) for m in ("parquet", "memory") for p in ORDER if not (p == "flowgex-stream" and m != "parquet")]
KERNEL_N = 10_000_000


@pytest.fixture(scope="module")
def dataset() -> str:
    return str(generate(SIZE))


@pytest.fixture(scope="module")
def answer(dataset: str):
    return flowgex_peer.output(flowgex_peer.run(dataset, threads=2))


@pytest.fixture
def cores(request: pytest.FixtureRequest) -> Iterator[None]:
    """The flowgex-1 row holds Arrow to one thread too; restored afterwards."""
    cpu, io = pa.cpu_count(), pa.io_thread_count()
    if request.node.callspec.params["peer"] == "flowgex-1":
        child.one_core()
    yield
    pa.set_cpu_count(cpu)
    pa.set_io_thread_count(io)


@pytest.mark.parametrize(("peer", "mode"), ROWS)
def test_peer(benchmark, dataset, answer, peer, mode, cores):
    load, run, to_output = child.job(peer, dataset)
    source = load(dataset) if mode == "memory" else dataset
    assert_agree(answer, to_output(run(source)), peer)  # checked before any time is taken
    benchmark.group = f"peers: {SIZE:,} trades, {'end to end from Parquet' if mode == 'parquet' else 'in memory'}"
    benchmark.extra_info["trades"] = SIZE
    benchmark.pedantic(run, args=(source,), rounds=3, iterations=1)


@pytest.fixture(scope="module")
def options():
    s, k, t, sigma = kernel.inputs(KERNEL_N)
    want = np.empty(KERNEL_N)
    kernel.numpy_gamma(s, k, t, sigma, want, np.empty(KERNEL_N))
    return s, k, t, sigma, want


@pytest.fixture(scope="module")
def c_loop(tmp_path_factory):
    fn = kernel.build_c(Path(tmp_path_factory.mktemp("gamma-c")))
    if fn is None:
        pytest.skip("gcc not found")
    return fn


GROUP = f"gamma kernel, {KERNEL_N:,} options"


@pytest.mark.benchmark(group=GROUP)
def test_gamma_numpy(benchmark, options):
    s, k, t, sigma, _ = options
    out, tmp = np.empty(KERNEL_N), np.empty(KERNEL_N)
    benchmark.pedantic(kernel.numpy_gamma, args=(s, k, t, sigma, out, tmp), rounds=5, iterations=1)


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("threads", [1, 2])
def test_gamma_flowgex(benchmark, options, threads):
    s, k, t, sigma, want = options
    got = benchmark.pedantic(fg.black76_gamma, args=(s, k, t, sigma), kwargs={"threads": threads}, rounds=5)
    np.testing.assert_allclose(got, want, rtol=kernel.REL, atol=0)


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("threads", [1, 2])
def test_gamma_c(benchmark, options, c_loop, threads):
    s, k, t, sigma, want = options
    out = np.empty(KERNEL_N)
    benchmark.pedantic(c_loop, args=(s, k, t, sigma, out, KERNEL_N, threads), rounds=5, iterations=1)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=0)  # -ffast-math: reported, not a flowgex target
