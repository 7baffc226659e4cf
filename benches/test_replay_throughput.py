"""Replay throughput end to end (Parquet dataset -> merge -> engine -> Parquet
output, checkpoint after every chunk), on the simulated market of
``replay_stream.py``. Run: ``pytest benches/test_replay_throughput.py --benchmark-enable``.
The 50-million-trade memory run is ``python benches/replay_stream.py``."""

from __future__ import annotations

import pytest

import flowgex as fg
from replay_stream import generate

N = 400_000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay") / "trades"
    assert generate(root, N, days=12, seed=5) == N
    return root


@pytest.mark.benchmark(group=f"replay {N} trades, 12 days, 2 assets")
@pytest.mark.parametrize("chunk_rows", [100_000, 1_000_000])
def test_replay(benchmark, dataset, tmp_path, chunk_rows):
    def run():
        return fg.replay(dataset, out=tmp_path / "out", chunk_rows=chunk_rows, overwrite=True, progress=False)

    s = benchmark.pedantic(run, rounds=3, iterations=1)
    assert s.rows["trades"] == N and s.diagnostics.trades_used == N
