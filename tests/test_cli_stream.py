"""``flowgex run --stream`` on a multi-file Parquet dataset: fg.replay underneath (progress bar,
checkpoint), the same outputs as the in-memory run, and ``--resume`` after an interruption."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import flowgex as fg
from compare import assert_identical
from flowgex.cli import main
from flowgex.cli._pipeline import compute_flow, stream_flow
from flowgex.cli.inputs import load_inputs

OUTPUTS = ("by_strike.parquet", "total.parquet", "levels.csv")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("market")
    fg.simulate(days=3, assets=("BTC", "ETH"), seed=5, trades_per_day=700).to_parquet(root)
    files = sorted((root / "trades").rglob("*.parquet"))
    assert len(files) >= 6  # a dataset of many files (asset x date partitions)
    return root


def _run(runner: CliRunner, *args: str, code: int = 0):
    result = runner.invoke(main, ["run", *args])
    assert result.exit_code == code, result.output
    return result


def _same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
        pd.testing.assert_frame_equal(read(a / name), read(b / name), check_exact=True, obj=name)


def test_streamed_result_equals_the_in_memory_one(data, tmp_path):
    inputs = load_inputs([data])
    greeks = ("gamma", "delta", "vanna")
    one = compute_flow(inputs, greeks=greeks)
    assert_identical(stream_flow(inputs, tmp_path / "r", chunk_rows=300, greeks=greeks), one)
    # ... and the in-memory run itself is the library's one-shot call on the same tables.
    chain, spot = fg.read_parquet(data / "chain", kind="chain"), fg.read_parquet(data / "spot", kind="spot")
    assert_identical(one, fg.flow_gex(pq.read_table(data / "trades"), chain, spot, greeks=greeks))


def test_stream_shows_progress_and_writes_what_the_plain_run_writes(data, tmp_path):
    runner = CliRunner()
    _run(runner, str(data), "--out", str(tmp_path / "plain"))
    result = _run(runner, str(data), "--out", str(tmp_path / "streamed"), "--stream", "--chunk-rows", "400")
    assert "replay" in result.stderr and "trades" in result.stderr  # fg.replay's progress bar
    _same_outputs(tmp_path / "plain", tmp_path / "streamed")
    assert (tmp_path / "streamed" / "replay" / "by_strike").is_dir()
    assert (tmp_path / "streamed" / "replay" / "_replay" / "checkpoint").is_file()


def test_resume_after_an_interruption_gives_the_outputs_of_one_run(data, tmp_path, monkeypatch):
    runner = CliRunner()
    whole = tmp_path / "whole"
    _run(runner, str(data), "--out", str(whole), "--stream", "--chunk-rows", "400")
    calls = {"n": 0}
    drain = fg.Engine.drain

    def interrupted(self: fg.Engine) -> fg.GexResult:
        calls["n"] += 1
        if calls["n"] == 3:  # the third chunk's results never reach the disk
            raise RuntimeError("power cut")
        return drain(self)

    cut = tmp_path / "cut"
    with monkeypatch.context() as m:
        m.setattr(fg.Engine, "drain", interrupted)
        result = _run(runner, str(data), "--out", str(cut), "--stream", "--chunk-rows", "400", code=1)
    assert "power cut" in result.output and not (cut / "levels.csv").exists()
    result = _run(runner, str(data), "--out", str(cut), "--stream", "--chunk-rows", "400", "--resume")
    assert "Resumed the replay" in result.output
    _same_outputs(whole, cut)
    for table in ("by_strike", "total", "inventory"):
        pd.testing.assert_frame_equal(fg.read_replay(cut / "replay", table), fg.read_replay(whole / "replay", table))


def test_resume_needs_files_the_replay_can_reread(tmp_path):
    m = fg.simulate(days=1, assets=("BTC",), seed=1, trades_per_day=300)
    trades = m.trades.to_pandas().astype({"instrument": str, "side": str})
    trades.to_csv(tmp_path / "trades.csv", index=False)  # canonical CSV: read by the CLI, not by fg.replay
    result = CliRunner().invoke(main, ["run", str(tmp_path / "trades.csv"), "--resume", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--resume needs input files" in result.stderr


def test_a_large_parquet_dataset_streams_unless_told_not_to(data, tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules["flowgex.cli.run"], "STREAM_ROWS", 1_000)  # the dataset holds ~4,200 trades
    runner = CliRunner()
    result = _run(runner, str(data), "--out", str(tmp_path / "auto"))
    assert "replaying them chunk by chunk" in result.output and (tmp_path / "auto" / "replay" / "total").is_dir()
    result = _run(runner, str(data), "--out", str(tmp_path / "memory"), "--no-stream")
    assert "chunk by chunk" not in result.output and not (tmp_path / "memory" / "replay").exists()
    _same_outputs(tmp_path / "auto", tmp_path / "memory")


def test_tardis_files_stream_through_the_library_reader_with_the_same_outputs(tmp_path):
    m = fg.simulate(days=2, assets=("BTC", "ETH"), seed=4, trades_per_day=500)
    m.to_tardis_csv(tmp_path / "t")
    m.to_parquet(tmp_path / "p")
    files = sorted(str(p) for p in (tmp_path / "t").glob("deribit_trades_*"))
    chains = [x for p in sorted((tmp_path / "t").glob("*options_chain*")) for x in ("--chain", str(p))]
    common = [*files, *chains, "--spot", str(tmp_path / "p" / "spot"), "--anchor"]
    runner = CliRunner()
    _run(runner, *common, "--out", str(tmp_path / "plain"))
    _run(runner, *common, "--out", str(tmp_path / "streamed"), "--stream", "--chunk-rows", "300")
    _same_outputs(tmp_path / "plain", tmp_path / "streamed")
