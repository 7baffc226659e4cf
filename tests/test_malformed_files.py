"""Malformed files stop with a clear error naming the file (a FlowgexError):
truncated gzip, wrong header, empty file, mixed venues, a cut line, bad JSON,
a venue error response, missing files. Bad *rows* are another matter
(tests/test_bad_rows_from_files.py): they are counted, never fatal to a file."""

from __future__ import annotations

import gzip

import pytest

import flowgex as fg
from venue_files import deribit_trade, market, ms_rows, response, write_json, write_tardis_trades


def cut_gzip(path, keep: float = 0.6):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def test_truncated_gzip(tmp_path):
    csv = cut_gzip(write_tardis_trades(tmp_path / "day.csv.gz", market(3000, seed=1)))
    with pytest.raises(fg.ReadError, match=r"day\.csv\.gz.*(truncated|corrupt)"):
        fg.read_tardis_trades(csv)
    js = cut_gzip(write_json(tmp_path / "page.json.gz", response([deribit_trade(r) for r in ms_rows(market(50))])))
    with pytest.raises(fg.ReadError, match=r"page\.json\.gz: corrupt or truncated gzip"):
        fg.read_deribit_trades(js)


def test_wrong_header_is_a_schema_error(tmp_path):
    path = tmp_path / "trades.csv"
    path.write_text("time,instrument,direction,size\n1,BTC-27DEC24-100000-C,buy,1\n")
    with pytest.raises(fg.SchemaError) as info:
        fg.read_tardis_trades(path)
    msg = str(info.value)
    assert str(path) in msg and "missing column(s)" in msg and "exchange,symbol,timestamp" in msg
    # A trades file given as a chain is a wrong header too.
    good = write_tardis_trades(tmp_path / "t.csv", market(2))
    with pytest.raises(fg.SchemaError, match=r"t\.csv: not a Tardis options_chain file"):
        fg.read_tardis_chain(good)
    headerless = tmp_path / "noheader.csv"
    headerless.write_text("deribit,BTC-27DEC24-100000-C,1733011200000000,1733011200000000,1,buy,0.01,1\n")
    with pytest.raises(fg.SchemaError, match="noheader.csv"):
        fg.read_tardis_trades(headerless)


@pytest.mark.parametrize("name", ["empty.csv", "empty.csv.gz", "empty.json", "empty.jsonl"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    reader = fg.read_tardis_trades if ".csv" in name else fg.read_deribit_trades
    with pytest.raises(fg.ReadError, match=rf"{name}: the file is empty"):
        reader(path)
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(b""))
        with pytest.raises(fg.ReadError, match=name):
            reader(path)


def test_mixed_venues(tmp_path):
    rows = market(4)
    mixed = tmp_path / "mixed.csv"
    write_tardis_trades(mixed, rows[:2])
    other = write_tardis_trades(tmp_path / "okx.csv", rows[2:], exchange="okex-options")
    mixed.write_text(mixed.read_text() + "".join(other.read_text().splitlines(keepends=True)[1:]))
    with pytest.raises(fg.ReadError, match=r"mixed\.csv: the file holds rows of several venues"):
        fg.read_tardis_trades(mixed)
    with pytest.raises(fg.ReadError, match=r"okx\.csv: the file holds rows of another venue"):
        fg.read_tardis_trades(other)
    # One replay input mixing Tardis CSV and Deribit JSON is refused, naming both formats.
    js = write_json(tmp_path / "page.json", response([deribit_trade(r) for r in ms_rows(rows)]))
    good = write_tardis_trades(tmp_path / "good.csv", rows)
    with pytest.raises(fg.ReadError, match="mix formats or venues"):
        fg.replay([good, js], out=tmp_path / "out", progress=False)


def test_cut_line_names_the_line(tmp_path):
    path = write_tardis_trades(tmp_path / "cut.csv", market(5))
    lines = path.read_text().splitlines()
    lines[3] = lines[3][:25]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(fg.ReadError, match=r"cut\.csv: malformed CSV: line 4 has \d fields, the header has 8"):
        fg.read_tardis_trades(path)


def test_bad_json_and_error_responses(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"jsonrpc": "2.0", "result": {"trades": [{"trade_id": "1", ')
    with pytest.raises(fg.ReadError, match=r"broken\.json: not valid JSON \(line 1"):
        fg.read_deribit_trades(broken)
    lines = tmp_path / "lines.jsonl"
    lines.write_text('{"result": {"trades": []}}\n{"result": \n')
    with pytest.raises(fg.ReadError, match=r"lines\.jsonl: not valid JSON lines \(line 2"):
        fg.read_deribit_trades(lines)
    error = {"jsonrpc": "2.0", "error": {"code": 10028, "message": "too_many_requests"}}
    err = write_json(tmp_path / "err.json", error)
    with pytest.raises(fg.ReadError, match=r"err\.json: a Deribit error response \(code 10028: too_many_requests\)"):
        fg.read_deribit_trades(err)
    other = write_json(tmp_path / "other.json", {"data": [1, 2]})
    with pytest.raises(fg.SchemaError, match=r"other\.json: expected a Deribit response"):
        fg.read_deribit_trades(other)


def test_missing_files_and_empty_globs(tmp_path):
    with pytest.raises(fg.ReadError, match="no such file"):
        fg.read_tardis_trades(tmp_path / "nope.csv")
    with pytest.raises(fg.ReadError, match="matches no file"):
        fg.read_deribit_trades(str(tmp_path / "*.json"))
    with pytest.raises(fg.ReadError, match="unknown file type"):
        (tmp_path / "x.txt").write_text("x")
        fg.replay(tmp_path / "x.txt", out=tmp_path / "out", progress=False)
    for exc in (fg.ReadError, fg.FetchError):
        assert issubclass(exc, fg.FlowgexError)
