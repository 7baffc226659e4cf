"""``flowgex run --changes`` and ``--greeks``: the printed top strikes and
changes.csv are ``GexResult.changes`` of the same run; bad values exit 2."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from tests.html_page import bars, read_blob

import flowgex as fg
from flowgex.cli import main


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "data"
    fg.simulate(days=2, assets=("BTC",), seed=3, trades_per_day=500).to_parquet(path)
    return path


def test_changes_are_printed_and_written(data, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", str(data), "--out", str(out), "--changes", "10min, 1h,40D", "--greeks", "vanna"]
    )
    assert result.exit_code == 0, result.output
    m = fg.simulate(days=2, assets=("BTC",), seed=3, trades_per_day=500)
    res = fg.flow_gex(m.trades, m.chain, m.spot, greeks=("vanna",))
    written = pd.read_csv(out / "changes.csv")
    assert list(written["lookback"].unique()) == ["10min", "1h"]
    assert "vex_change" in written.columns and "dex_change" not in written.columns
    for lb in ("10min", "1h"):
        want = res.changes("BTC", lookback=lb)
        got = written[written["lookback"] == lb].reset_index(drop=True)
        assert got["strike"].tolist() == want["strike"].tolist()
        pd.testing.assert_series_equal(got["gex_change"], want["gex_change"], check_exact=False, rtol=1e-12)
        top = want["strike"].iloc[0]
        assert f"BTC, {lb} (" in result.output and f"{top:.1f}" in result.output
    assert "40D" in result.output and "before the result's first grid time" in result.output
    by_strike = pd.read_parquet(out / "by_strike.parquet")
    assert "vex" in by_strike.columns


@pytest.mark.parametrize("args, message", [(["--changes", "soon"], "--changes"), (["--greeks", "theta"], "greeks")])
def test_bad_values_exit_2(data, tmp_path, args, message):
    result = CliRunner().invoke(main, ["run", str(data), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_the_report_shows_the_dealer_book_of_the_asked_greeks(data, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(data), "--out", str(out), "--greeks", "delta,charm"])
    assert result.exit_code == 0, result.output
    m = fg.simulate(days=2, assets=("BTC",), seed=3, trades_per_day=500)
    last = fg.flow_gex(m.trades, m.chain, m.spot, greeks=("delta", "charm")).total("BTC").iloc[-1]
    report = (out / "report.md").read_text()
    assert "## Dealer book at the last grid time" in report and "VEX" not in report
    book = report.split("## Dealer book at the last grid time", 1)[1]
    row = next(line for line in book.splitlines() if line.startswith("| BTC |"))
    assert row == f"| BTC | {last['dex']:,.0f} | {last['cex']:,.0f} |"
    plain = CliRunner().invoke(main, ["run", str(data), "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0 and "Dealer book" not in (tmp_path / "plain" / "report.md").read_text()


def test_the_page_of_run_and_demo_offers_the_asked_exposures(data, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(data), "--out", str(out), "--greeks", "vanna,delta"])
    assert result.exit_code == 0, result.output
    page = read_blob(out / "report.html")
    assert [e["key"] for e in page["exposures"]] == ["gex", "dex", "vex"]
    m = fg.simulate(days=2, assets=("BTC",), seed=3, trades_per_day=500)
    res = fg.flow_gex(m.trades, m.chain, m.spot, greeks=("delta", "vanna"))
    last = page["assets"]["BTC"]["t"][-1]
    at = pd.Timestamp(last, unit="s", tz="UTC")
    spot = fg.levels(res, "BTC", at=at).spot
    want = res.by_strike(asset="BTC", at=at)
    want = want[(want["strike"] - spot).abs() <= 0.15 * spot]
    got = bars(page["assets"]["BTC"]["variants"]["all"], len(page["assets"]["BTC"]["t"]) - 1)
    assert got["vex"].tolist() == want["vex"].tolist() and got["dex"].tolist() == want["dex"].tolist()

    demo_out = tmp_path / "demo"
    args = ["demo", "--out", str(demo_out), "--days", "1", "--assets", "BTC", "--trades-per-day", "300"]
    result = CliRunner().invoke(main, [*args, "--greeks", "delta,vanna,charm"])
    assert result.exit_code == 0, result.output
    assert [e["key"] for e in read_blob(demo_out / "report.html")["exposures"]] == ["gex", "dex", "vex", "cex"]
    assert "## Dealer book at the last grid time" in (demo_out / "report.md").read_text()
    plain = CliRunner().invoke(main, [*args[:2], str(tmp_path / "plain"), *args[3:]])
    assert plain.exit_code == 0, plain.output
    assert [e["key"] for e in read_blob(tmp_path / "plain" / "report.html")["exposures"]] == ["gex"]
    bad = CliRunner().invoke(main, [*args, "--greeks", "theta"])
    assert bad.exit_code == 2 and "greeks" in bad.stderr
