"""A dataset folder reached through links is read once per real file.

The linked copy holds a symlink to itself, a symlink to a partition folder, a
symlink to a file and a hard link to a file; the trades have no trade ids, so a
file read twice would double its flow. The GEX of the linked dataset must equal
the GEX of the same trades as an in-memory table (and of the clean folder), by
path, by glob, and through ``fg.replay``.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import flowgex as fg
from flowgex.io.files import dataset_files, expand_paths
from test_fetch import trades_for_days


@pytest.fixture()
def trades() -> pa.Table:
    table = fg.read_deribit_trades({"result": {"trades": trades_for_days(days=3, per_day=60, seed=3)}})
    keep = [c for c in table.column_names if c not in ("trade_id", "source_file", "source_row")]
    return table.select(keep)  # no ids: the engine cannot drop a file read twice


def write_days(root, table: pa.Table) -> None:
    days = pc.strftime(table.column("timestamp"), format="%Y-%m-%d").to_pylist()
    for day in sorted(set(days)):
        part = table.filter(pa.array([d == day for d in days]))
        target = root / "asset=BTC" / f"date={day}" / "part-0.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, target)


def linked_copy(clean, linked) -> None:
    shutil.copytree(clean, linked)
    os.symlink(".", linked / "loop")  # the folder itself
    os.symlink("asset=BTC", linked / "asset=BTC" / "again")  # a partition folder, from inside it
    day = sorted((linked / "asset=BTC").glob("date=*"))[0]
    os.symlink("part-0.parquet", day / "part-1.parquet")  # a file
    os.link(day / "part-0.parquet", day / "part-2.parquet")  # a hard link
    os.symlink(linked / "asset=BTC", linked.parent / "outside")
    os.symlink(linked.parent / "outside", linked / "asset=BTC" / "date=2099-01-01")  # a longer way round


def totals(res) -> pd.DataFrame:
    return res.total().sort_values(["time", "asset"]).reset_index(drop=True)


def test_linked_dataset_gex_equals_the_clean_one(tmp_path, trades):
    clean, linked = tmp_path / "clean", tmp_path / "linked"
    write_days(clean, trades)
    linked_copy(clean, linked)
    want = totals(fg.flow_gex(trades))
    assert len(dataset_files(linked)) == len(dataset_files(clean)) == 3
    assert fg.read_parquet(linked).num_rows == trades.num_rows
    pd.testing.assert_frame_equal(totals(fg.flow_gex(clean)), want, check_exact=True)
    pd.testing.assert_frame_equal(totals(fg.flow_gex(linked)), want, check_exact=True)
    pd.testing.assert_frame_equal(totals(fg.flow_gex(str(linked / "**" / "*.parquet"))), want, check_exact=True)
    res = fg.replay(linked, out=tmp_path / "replay", chunk_rows=40, progress=False)
    got = fg.read_replay(res.out, "total")
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True)
    assert res.rows["trades"] == trades.num_rows


def test_a_file_listed_twice_or_linked_is_one_input(tmp_path, trades):
    write_days(tmp_path / "d", trades)
    f = sorted((tmp_path / "d").rglob("*.parquet"))[0]
    os.symlink(f, tmp_path / "alias.parquet")
    os.link(f, tmp_path / "hard.parquet")
    assert expand_paths([f, tmp_path / "alias.parquet", tmp_path / "hard.parquet", f], what="t") == [f]
    assert expand_paths(str(tmp_path / "*.parquet"), what="t") == [tmp_path / "alias.parquet"]
    n = pq.read_metadata(f).num_rows
    assert fg.read_parquet([f, tmp_path / "alias.parquet"]).num_rows == n


def test_a_dangling_link_is_a_read_error(tmp_path, trades):
    write_days(tmp_path / "d", trades)
    os.symlink(tmp_path / "nowhere", tmp_path / "d" / "asset=BTC" / "date=2030-01-01")
    # a link to nothing is neither a folder nor a file: skipped like Arrow skips it
    assert len(dataset_files(tmp_path / "d")) == 3
    os.symlink("x", tmp_path / "self")
    with pytest.raises(fg.ReadError):
        expand_paths([tmp_path / "self"], what="t")
