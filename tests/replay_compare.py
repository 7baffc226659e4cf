"""Comparing a replay's output on disk with a GexResult, and two replay outputs
with each other (file by file: same parts, same contents)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

import flowgex as fg

KEYS = {
    "by_strike": ["time", "asset", "strike"],
    "by_expiry": ["time", "asset", "expiry"],
    "total": ["time", "asset"],
    "inventory": ["time", "asset", "instrument"],
}


def result_frame(res: fg.GexResult, table: str) -> pd.DataFrame:
    frame = res.inventory() if table == "inventory" else getattr(res, table)()
    return frame.sort_values(KEYS[table], kind="stable").reset_index(drop=True)


def assert_replay_equals(out: Path, res: fg.GexResult, *, inventory: bool = True) -> None:
    """Every table of the replay in ``out`` equals ``res`` bit for bit."""
    for table in KEYS if inventory else ("by_strike", "by_expiry", "total"):
        want = result_frame(res, table)
        got = fg.read_replay(out, table)
        assert len(want) > 0, table
        pd.testing.assert_frame_equal(got[list(want.columns)], want, check_exact=True, obj=table)


def output_files(out: Path) -> dict[str, Path]:
    return {str(p.relative_to(out)): p for p in sorted(out.rglob("*")) if p.is_file() and "_replay" not in p.parts}


def assert_same_output(a: Path, b: Path) -> None:
    """The same files, and each Parquet file holds the same table (JSON: same text)."""
    fa, fb = output_files(a), output_files(b)
    assert list(fa) == list(fb), sorted(set(fa) ^ set(fb))[:10]
    for name, pa_ in fa.items():
        if name.endswith(".parquet"):
            assert pq.read_table(pa_).equals(pq.read_table(fb[name])), name
        else:
            assert pa_.read_bytes() == fb[name].read_bytes(), name
