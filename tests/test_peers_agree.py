"""The benchmark peers (benches/peers) compute what flowgex computes.

The side-by-side benchmark only publishes a peer's time after its answer was
checked equal to flowgex's; these tests keep that true in CI, on a tiny
dataset (seconds): every peer, end to end from the Parquet files and in
memory; the checker itself catches a wrong answer; the generator keeps the
properties the exact comparison relies on; and the runner works end to end.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from benches.peers import child, flowgex_peer, run
from benches.peers.check import assert_agree, disagreements
from benches.peers.common import PeerOutput
from benches.peers.dataset import chunks, generate, parse_size

import flowgex as fg

N = 20_000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(generate(N, days=2, out=tmp_path_factory.mktemp("peers") / "trades"))


@pytest.fixture(scope="module")
def answer(dataset: str) -> PeerOutput:
    return flowgex_peer.output(flowgex_peer.run(dataset, threads=2))


@pytest.mark.parametrize("mode", ["parquet", "memory"])
@pytest.mark.parametrize(
    "peer", ["flowgex-1", "duckdb", "duckdb-runs", "polars", "polars-runs", "pandas", "pandas-runs"]
)
def test_peer_agrees_with_flowgex(dataset: str, answer: PeerOutput, peer: str, mode: str) -> None:
    load, run_peer, to_output = child.job(peer, dataset)
    source = load(dataset) if mode == "memory" else dataset
    assert_agree(answer, to_output(run_peer(source)), peer)


def test_streaming_peer_is_bit_identical_to_one_call(dataset: str) -> None:
    groups = flowgex_peer.date_groups(dataset)
    assert len(groups) == 2 and all(len(g) == 4 for g in groups)  # two dates x four assets, in date order
    streamed = flowgex_peer.run_streaming(dataset, threads=2)
    whole = flowgex_peer.run(dataset, threads=2)
    for a, b in zip(streamed, whole):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_answer_has_the_full_grid(dataset: str, answer: PeerOutput) -> None:
    manifest = json.loads((Path(dataset) / "_manifest.json").read_text())
    assert manifest["trades"] == N and manifest["days"] == 2
    assert answer.total["time"].nunique() == manifest["grid_steps_approx"]
    assert len(answer.by_strike) > 20 and np.abs(answer.total["gex"]).max() > 0


def test_checker_catches_a_wrong_answer(dataset: str, answer: PeerOutput) -> None:
    _, run_peer, to_output = child.job("pandas", dataset)
    good = to_output(run_peer(dataset))
    assert disagreements(answer, good) == []
    off = good.total.copy()
    i = int(np.argmax(np.abs(off["gex"].to_numpy())))
    off.loc[i, "gex"] *= 1 + 1e-7
    assert disagreements(answer, PeerOutput(off, good.by_strike, good.last))
    missing = good.by_strike.drop(index=int(np.argmax(np.abs(good.by_strike["gex"].to_numpy()))))
    assert disagreements(answer, PeerOutput(good.total, missing, good.last))
    assert disagreements(answer, PeerOutput(good.total, good.by_strike, good.last - 600 * 10**9))


def test_flowgex_reference_agrees_on_a_slice(dataset: str) -> None:
    table = flowgex_peer.read(dataset).slice(0, 1_500)
    ref = flowgex_peer.output(flowgex_peer.run(table, engine="reference"))
    fast = child._with_scale(flowgex_peer.output(flowgex_peer.run(table, threads=1)), table)
    assert disagreements(ref, fast) == []


def test_dataset_keeps_what_exact_agreement_needs(dataset: str) -> None:
    table = pq.read_table(dataset).to_pandas()
    assert table["trade_id"].is_unique
    assert table[["index_price", "iv", "amount"]].notna().all().all()
    assert (table["iv"] > 0).all() and (table["index_price"] > 0).all()
    # Whole power-of-two lots: every sum of flows is exact in float64.
    assert np.all((table["amount"] * 8) == np.round(table["amount"] * 8))
    # Unique timestamps within an asset: "latest before t" has one answer.
    assert not table.duplicated(["asset", "timestamp"]).any()
    expiry = table["instrument"].astype(str).map(lambda n: fg.parse_instrument(n).expiry)
    assert (table["timestamp"] < pd.to_datetime(expiry, utc=True)).all()
    assert set(table["asset"].astype(str)) == {"BTC", "ETH", "SOL", "XRP"}


def test_dataset_is_deterministic_and_sized() -> None:
    a = [t for _, _, t in chunks(3_000, seed=4, days=2)]
    b = [t for _, _, t in chunks(3_000, seed=4, days=2)]
    assert sum(t.num_rows for t in a) == 3_000
    assert all(x.equals(y) for x, y in zip(a, b))
    assert parse_size("1M") == 1_000_000 and parse_size("20k") == 20_000 and parse_size("1500") == 1_500


def test_runner_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    run.main(
        [
            "--sizes",
            "4000",
            "--peers",
            "flowgex-2,pandas",
            "--modes",
            "parquet",
            "--repeat",
            "1",
            "--slice",
            "500",
            "--root",
            str(tmp_path),
            "--json",
            str(out),
        ]
    )
    rows = {(r["peer"], r["mode"]): r for r in json.loads(out.read_text())["rows"]}
    assert rows[("pandas", "parquet")]["status"] == "ok" and rows[("pandas", "parquet")]["seconds"] > 0
    assert rows[("reference", "slice")]["status"] == "ok"
    assert rows[("flowgex-2", "parquet")]["peak_rss_mb"] > 0
    assert "| pandas |" in capsys.readouterr().out
