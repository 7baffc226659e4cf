"""Fuzz driver for the file readers, run in a child process by test_fuzz_readers.py
(so a segfault or an abort fails the test instead of killing pytest).

    python tests/fuzz_readers.py READER MODE EXAMPLES DATA_DIR

READER: one of READERS; MODE: ``bytes`` (random bytes), ``mutate`` (byte-level
mutations of real files: flips, cuts, insertions, duplicated lines) or ``json``
(real JSON with leaves replaced by hostile values: huge integers, NaN, lone
surrogates, deep nesting, wrong types). Every input must give a table (or the
reader's result object) or a FlowgexError; anything else prints the input and
the exception and exits 1. Prints ``tried N failures F`` on success.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowgex as fg

TARDIS_TRADES = (
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
    "deribit,BTC-27DEC24-100000-C,1733011200123456,1733011200223456,1,buy,0.05,1.5\n"
    "deribit,SOL_USDC-27DEC24-240-P,1733011260123456,1733011260223456,2,sell,3.1,20\n"
    "deribit,ETH-27DEC24-4000-C,1733011320123456,1733011320223456,3,unknown,0.01,2\n"
)
TARDIS_CHAIN = (
    "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,"
    "bid_price,bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,"
    "underlying_price,delta,gamma,vega,theta,rho\n"
    "deribit,BTC-27DEC24-100000-C,1733011200123456,1733011200223456,call,100000,1735286400000000,12.5,0.05,"
    "0.049,3,54.1,0.051,4,55.2,0.0502,54.7,BTC-27DEC24,96000,0.41,0.00002,50.1,-80.2,12.1\n"
)


def seeds(data: Path) -> dict[str, list[bytes]]:
    v = data / "venue_samples"
    json_files = sorted(v.glob("*.json")) + sorted(v.glob("*.jsonl"))
    ndx_file = data / "ndx_cboe_2022" / "ndx_quotedata_2022-02-05.csv"
    ticker_csv = (data / "deribit_ticker_2020" / "btc_options_data_2020-05-14.csv").read_bytes()
    ticker_csv = b"\n".join(ticker_csv.splitlines()[:12]) + b"\n"
    ndx = ndx_file.read_bytes() if ndx_file.is_file() else gzip.decompress(ndx_file.with_suffix(".csv.gz").read_bytes())
    ndx = b"\n".join(ndx.splitlines()[:30]) + b"\n"
    return {
        "json": [p.read_bytes() for p in json_files],
        "ticker_csv": [ticker_csv],
        "tardis_trades": [TARDIS_TRADES.encode(), gzip.compress(TARDIS_TRADES.encode(), mtime=0)],
        "tardis_chain": [TARDIS_CHAIN.encode()],
        "cboe": [ndx],
        "parquet": [_parquet_seed()],
    }


def _parquet_seed() -> bytes:
    t = fg.simulate(days=1, assets=("BTC",), seed=3, trades_per_day=40).trades
    buf = io.BytesIO()
    pq.write_table(pa.table(t), buf)
    return buf.getvalue()


def _read_parquet(p: Path) -> Any:
    return fg.read_parquet(p)


#: reader -> (function, file suffix, seed group)
READERS: dict[str, tuple[Any, str, str]] = {
    "deribit_trades": (fg.read_deribit_trades, ".json", "json"),
    "deribit_tickers": (fg.read_deribit_tickers, ".json", "json"),
    "deribit_tickers_csv": (fg.read_deribit_tickers, ".csv", "ticker_csv"),
    "deribit_messages": (fg.read_deribit_messages, ".jsonl", "json"),
    "tardis_trades": (fg.read_tardis_trades, ".csv", "tardis_trades"),
    "tardis_chain": (fg.read_tardis_chain, ".csv", "tardis_chain"),
    "cboe": (fg.read_cboe_quotedata, ".csv", "cboe"),
    "parquet": (_read_parquet, ".parquet", "parquet"),
}

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x", "\ud800", "BTC-\udfff-1-C", "NaN", "1e400", "-0", "BTC-31FEB24-1-C", "buy", "M"]),
    st.text(max_size=12),
    st.sampled_from([[], {}, [[[[[]]]]], {"a": {"b": {"c": []}}}]),
)


def _leaves(value: Any, out: list[tuple[Any, Any]]) -> None:
    if isinstance(value, dict):
        for k in list(value):
            out.append((value, k))
            _leaves(value[k], out)
    elif isinstance(value, list):
        for i in range(len(value)):
            out.append((value, i))
            _leaves(value[i], out)


@st.composite
def json_mutants(draw: Any, group: list[bytes]) -> bytes:
    raw = draw(st.sampled_from(group))
    lines = raw.decode().splitlines() if raw.lstrip()[:1] == b"{" and b"\n{" in raw else [raw.decode()]
    docs = [json.loads(line) for line in lines if line.strip()]
    spots: list[tuple[Any, Any]] = []
    for d in docs:
        _leaves(d, spots)
    for _ in range(draw(st.integers(1, 4))):
        if not spots:
            break
        container, key = spots[draw(st.integers(0, len(spots) - 1))]
        if draw(st.booleans()) and isinstance(container, dict):
            container.pop(key, None)
        else:
            container[key] = draw(HOSTILE)
    out = "\n".join(json.dumps(d) for d in docs)  # json.dumps writes NaN/Infinity and escapes surrogates
    if draw(st.booleans()) and len(docs) > 1:
        out = "\n".join(f"2020-03-01T00:00:00.{i:07d}Z {line}" for i, line in enumerate(out.splitlines()))
    return out.encode("utf-8", errors="surrogatepass")


@st.composite
def byte_mutants(draw: Any, group: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(group)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 4))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == 0 and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            del data[at : at + draw(st.integers(1, 64))]
        elif op == 2:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == 3:
            del data[at:]
        else:
            lines = bytes(data).split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def main() -> int:
    reader, mode, examples, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    fn, suffix, group_name = READERS[reader]
    group = seeds(data)[group_name]
    strategy = {"bytes": st.binary(max_size=4096), "mutate": byte_mutants(group), "json": json_mutants(group)}[mode]
    tmp = Path(tempfile.mkdtemp(prefix="flowgex-fuzz-"))
    counts = {"tried": 0, "tables": 0, "errors": 0}
    failures: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def run(blob: bytes) -> None:
        counts["tried"] += 1
        path = tmp / f"input{suffix}"
        path.write_bytes(blob)
        try:
            out = fn(path)
        except fg.FlowgexError:
            counts["errors"] += 1
            return
        except BaseException as exc:  # noqa: BLE001 - the point is to catch what should not escape
            failures.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}\ninput: {blob[:300]!r}")
            return
        assert isinstance(out, (pa.Table, fg.DeribitMessages, fg.CboeChain)), type(out)
        counts["tables"] += 1

    run()
    print(f"tried {counts['tried']} tables {counts['tables']} errors {counts['errors']} failures {len(failures)}")
    for f in failures[:5]:
        print("----\n" + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
