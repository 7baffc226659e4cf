"""The command line through click's CliRunner: outputs, files, exit codes, and
one-line errors (code 2 for user mistakes, 1 for bugs, tracebacks with --debug)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from tests.html_page import f64, read_blob

import flowgex as fg
from flowgex.cli import _pipeline, inputs, main

SMALL = ["--days", "2", "--trades-per-day", "600"]


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0):
    result = runner.invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["plot"], ["simulate"]])
def test_every_command_has_help(runner, command):
    out = run(runner, *command, "--help").output
    assert out.startswith("Usage: ") and "--help" in out


def test_demo_from_an_empty_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(runner, "demo", *SMALL)
    out = Path("flowgex-demo")
    expected = {f"{a}_{k}.png" for a in ("btc", "eth") for k in ("strikes", "heatmap", "profile")}
    expected |= {"report.md", "report.html"}
    assert {p.name for p in out.iterdir()} == expected
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "## Levels at" in report and "![btc strikes](btc_strikes.png)" in report and "| BTC |" in report
    text = result.output
    assert "asset" in text and "flip" in text and "regime" in text and str(out.resolve()) in text
    # The printed levels are fg.levels on the same simulated market.
    m = fg.simulate(days=2, assets=("BTC", "ETH"), seed=7, trades_per_day=600)
    lv = fg.levels(fg.flow_gex(m.trades, spot=m.spot), "BTC")
    btc = next(line for line in text.splitlines() if line.startswith("BTC "))
    assert f"{lv.spot:,.0f}" in btc and lv.regime in btc
    assert "BTC flow vs classic" in text
    # The page shows the same levels, links from report.md and compares with classic GEX.
    page = read_blob(out / "report.html")
    v = page["assets"]["BTC"]["variants"]["all"]
    assert f64(v["spot"])[-1] == lv.spot and f64(v["total"])[-1] == lv.total_gex
    assert v["classic"]["summary"].startswith("BTC flow vs classic")
    assert "[report.html](report.html)" in report and "report.html" in text


def test_demo_without_plotly_writes_the_rest_and_says_why(runner, tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise ImportError("write_html needs plotly: pip install 'flowgex[html]'")

    monkeypatch.setattr("flowgex.html.write_html", missing)
    result = run(runner, "demo", *SMALL, "--assets", "BTC", "--out", str(tmp_path / "x"))
    assert not (tmp_path / "x" / "report.html").exists() and (tmp_path / "x" / "report.md").is_file()
    assert "report.html skipped: write_html needs plotly" in result.output


def test_demo_out_option(runner, tmp_path):
    run(runner, "demo", *SMALL, "--assets", "ETH", "--out", str(tmp_path / "x"))
    assert (tmp_path / "x" / "eth_profile.png").is_file() and not (tmp_path / "x" / "btc_profile.png").exists()


def test_simulate_then_run_then_plot(runner, tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    result = run(runner, "simulate", "--out", str(data), *SMALL, "--assets", "BTC")
    assert "Wrote" in result.output and (data / "trades" / "asset=BTC").is_dir()
    result = run(runner, "run", str(data), "--out", str(out), "--exclude-next", "--series")
    for name in ("by_strike.parquet", "total.parquet", "levels.csv", "report.md", "btc_heatmap.png"):
        assert (out / name).is_file(), name
    m = fg.simulate(days=2, assets=("BTC",), seed=7, trades_per_day=600)
    res_all = fg.flow_gex(m.trades, m.chain, m.spot)
    res = res_all.filter(exclude_next=True)
    lv = fg.levels(res, "BTC")
    levels = pd.read_csv(out / "levels.csv")
    assert levels["spot"].iloc[0] == pytest.approx(lv.spot) and levels["regime"].iloc[0] == lv.regime
    assert levels["flip"].iloc[0] == pytest.approx(lv.flip)
    series = pd.read_parquet(out / "series_btc.parquet")
    assert len(series) == len(res.total(asset="BTC"))
    assert "next expiry excluded" in (out / "report.md").read_text()
    page = read_blob(out / "report.html")
    assert [f["key"] for f in page["filters"]] == ["all", "ex_next", "max_7d"]
    # The page offers the filters itself: its "all" view is the unfiltered result.
    assert f64(page["assets"]["BTC"]["variants"]["all"]["total"])[-1] == fg.levels(res_all, "BTC").total_gex
    assert f64(page["assets"]["BTC"]["variants"]["ex_next"]["total"])[-1] == lv.total_gex
    png = tmp_path / "p.png"
    result = run(runner, "plot", str(data), "--chart", "profile", "--asset", "btc", "--out", str(png))
    assert png.read_bytes()[:4] == b"\x89PNG" and "Wrote" in result.output


def test_run_on_canonical_csv(runner, tmp_path):
    m = fg.simulate(days=1, assets=("BTC",), seed=1, trades_per_day=400)
    trades = m.trades.to_pandas()
    trades["instrument"] = trades["instrument"].astype(str)
    trades["side"] = trades["side"].astype(str)
    trades.to_csv(tmp_path / "trades.csv", index=False)
    run(runner, "run", str(tmp_path / "trades.csv"), "--out", str(tmp_path / "o"))
    assert (tmp_path / "o" / "btc_strikes.png").is_file()
    assert "no chain given" in (tmp_path / "o" / "report.md").read_text()
    levels = pd.read_csv(tmp_path / "o" / "levels.csv")
    assert levels["spot"].iloc[0] == pytest.approx(fg.levels(fg.flow_gex(m.trades), "BTC").spot)


def test_input_formats_are_plug_ins(runner, tmp_path, monkeypatch):
    """Tardis files are detected by their header and read by whatever reader is registered."""
    m = fg.simulate(days=1, assets=("BTC",), seed=1, trades_per_day=400)
    m.to_tardis_csv(tmp_path / "t")
    files = [str(p) for p in sorted((tmp_path / "t").glob("deribit_trades_*"))]
    monkeypatch.delattr(fg, "read_tardis_trades", raising=False)
    result = runner.invoke(main, ["run", *files, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no read_tardis_trades()" in result.stderr
    seen: list[str] = []

    def fake_reader(paths):
        seen.extend(str(p) for p in paths)
        return m.trades

    monkeypatch.setitem(inputs.TRADE_READERS, "tardis", fake_reader)
    run(runner, "run", *files, "--out", str(tmp_path / "o"))
    assert seen == files and (tmp_path / "o" / "btc_strikes.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nowhere.parquet"], "no such file or folder"),
        (["run"], "no input given"),
        (["demo", "--assets", "DOGE", "--days", "1"], "simulator knows"),
        (["plot", "DATA", "--asset", "ETH"], "not in this result"),
        (["run", "DATA", "--at", "not a time"], "invalid option at"),
        (["run", "DATA", "--expiry", "someday"], "invalid option expiry"),
        (["run", "DATA", "--anchor", "--chain", "DATA/trades"], "open_interest"),
        (["run", "DATA", "--resolution", "1ns"], "grid_limit"),
    ],
)
def test_user_mistakes_are_one_line_errors_with_code_2(runner, tmp_path, monkeypatch, args, message):
    data = tmp_path / "data"
    fg.simulate(days=1, assets=("BTC",), seed=1, trades_per_day=300).to_parquet(data)
    args = [a.replace("DATA", str(data)) for a in args]
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert "Traceback" not in result.output


def test_click_usage_errors_also_exit_2(runner):
    result = runner.invoke(main, ["demo", "--days", "zero"])
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_bugs_exit_1_and_debug_shows_the_traceback(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(_pipeline, "levels", boom)
    result = runner.invoke(main, ["demo", *SMALL, "--out", "ignored"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: internal error (RuntimeError: kaboom)")
    assert "--debug" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["--debug", "demo", *SMALL, "--out", "ignored"])
    assert isinstance(result.exception, RuntimeError) and str(result.exception) == "kaboom"
    monkeypatch.setenv("FLOWGEX_DEBUG", "1")
    assert isinstance(runner.invoke(main, ["demo", *SMALL, "--out", "ignored"]).exception, RuntimeError)
