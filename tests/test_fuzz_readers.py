"""Every reader on random bytes, byte-mutated real files and JSON with hostile
leaves: the outcome is a table or a FlowgexError. Each campaign runs in a child
process (tests/fuzz_readers.py), so a segfault, an abort or a hang (the child's
timeout) fails the test. FUZZ_EXAMPLES sets the examples per campaign
(default 40; the report's numbers come from FUZZ_EXAMPLES=400)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import flowgex

HERE = Path(__file__).resolve().parent
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))

CAMPAIGNS = [
    ("deribit_trades", "bytes"), ("deribit_trades", "mutate"), ("deribit_trades", "json"),
    ("deribit_tickers", "json"), ("deribit_tickers_csv", "mutate"),
    ("deribit_messages", "bytes"), ("deribit_messages", "json"),
    ("tardis_trades", "bytes"), ("tardis_trades", "mutate"), ("tardis_chain", "mutate"),
    ("cboe", "bytes"), ("cboe", "mutate"),
    ("parquet", "bytes"), ("parquet", "mutate"),
]  # fmt: skip


@pytest.mark.parametrize(("reader", "mode"), CAMPAIGNS)
def test_reader_gives_a_table_or_a_flowgex_error(reader, mode, shared_data):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(flowgex.__file__).parents[1]), str(HERE)]))
    cmd = [sys.executable, str(HERE / "fuzz_readers.py"), reader, mode, str(EXAMPLES), str(shared_data)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60 + 3 * EXAMPLES)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    m = re.search(r"tried (\d+) tables (\d+) errors (\d+) failures 0", proc.stdout)
    assert m is not None, proc.stdout
    tried, tables, errors = map(int, m.groups())
    assert tried == tables + errors and tried >= min(EXAMPLES, 10)
