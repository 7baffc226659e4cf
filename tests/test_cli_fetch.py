"""``flowgex fetch``: downloads against a local server; user mistakes are one-line
errors with exit code 2; a download that gives up is a one-line error, exit 1."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

import flowgex as fg
from deribit_server import FakeDeribit
from flowgex.cli import main
from test_fetch import trades_for_days


def run(*args: str):
    return CliRunner().invoke(main, ["fetch", *args])


def test_fetch_command_downloads_and_resumes(tmp_path):
    trades = trades_for_days()
    with FakeDeribit(trades) as server:
        args = ["--currency", "BTC", "--start", "2025-12-01", "--end", "2025-12-03", "--out", str(tmp_path),
                "--base-url", server.base_url, "--no-progress"]  # fmt: skip
        first = run(*args)
        assert first.exit_code == 0, first.output
        assert f"{len(trades)} trades over 2 day(s)" in first.output and "0 day(s) already done" in first.output
        second = run(*args)
        assert second.exit_code == 0 and "2 day(s) already done" in second.output
    table = fg.read_parquet(tmp_path / "parquet" / "option")
    assert table.num_rows == len(trades) and len(set(table.column("trade_id").to_pylist())) == len(trades)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2025-13-01", "--end", "2025-12-02"], "Invalid value for --start: expected a date"),
        (["--start", "2025-12-02", "--end", "2025-12-01"], "must be after --start"),
        (["--start", "2025-12-01", "--end", "2025-12-02", "--kind", "swap"], "Invalid value for '--kind'"),
        (["--start", "2025-12-01", "--end", "2025-12-02", "--base-url", "ftp://x"], "expected an http(s) URL"),
        (["--start", "2025-12-01"], "Missing option '--end'"),
    ],
)
def test_user_mistakes_are_one_line_usage_errors(tmp_path, args, message):
    r = run("--currency", "BTC", "--out", str(tmp_path), *args)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1


def test_bad_currency_is_a_usage_error(tmp_path):
    r = run("--currency", "B$C", "--start", "2025-12-01", "--end", "2025-12-02", "--out", str(tmp_path))
    assert r.exit_code == 2 and "invalid option currency" in r.output


def test_unreachable_server_is_a_one_line_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run("--currency", "BTC", "--start", "2025-12-01", "--end", "2025-12-02", "--out", str(tmp_path),
            "--base-url", f"http://127.0.0.1:{port}/api/v2", "--retries", "1", "--no-progress")  # fmt: skip
    assert r.exit_code == 1
    assert r.output.startswith("Error: ") and "gave up after 2 attempts" in r.output and "Traceback" not in r.output
