"""Everything a live run consumed, on disk, so that ``fg.flow_gex`` can redo it.

Layout under ``out/recorded``::

    trades/date=2026-12-07/part-00000012.parquet    fed to the engine, in feed order
    chain/...   spot/...                            (canonical schemas, fixed columns)
    late/trades/...  late/chain/...  late/spot/...  arrived after their bucket closed: counted, not fed
    rejected/trades/...                             fed, refused by the engine (bad rows), with the reason
    future/trades/...                               stamped over an hour after the exchange's clock: counted, not fed
    quarantine/part-00000012.jsonl                  messages no reader could take, verbatim, with the reason

Each part is written atomically and numbered by the commit that wrote it; the
checkpoint (written last) names the last commit, and a restart deletes parts
numbered above it, so a kill -9 never leaves rows that the restored engine has
not seen. Parts are read back in path order (date, then number), which is feed
order for rows sharing a timestamp (:func:`read_recorded` orders by number
alone, which is feed order whatever the resolution): ``flow_gex`` sorts stably
by time, so it sums each bucket's flows in the very order the live engine did.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..io.files import remove_stale_temps, write_atomic_bytes, write_atomic_with
from ..schema import TIMESTAMP

__all__ = ["TRADES", "CHAIN", "SPOT", "SCHEMAS", "conform", "Recorder", "remove_parts_after", "read_recorded"]

TRADES = pa.schema(
    [
        ("timestamp", TIMESTAMP), ("instrument", pa.string()), ("side", pa.string()), ("amount", pa.float64()),
        ("index_price", pa.float64()), ("iv", pa.float64()), ("trade_id", pa.string()),
        ("block_trade", pa.bool_()), ("combo_leg", pa.bool_()), ("liquidation", pa.bool_()),
        ("price", pa.float64()), ("mark_price", pa.float64()), ("trade_seq", pa.int64()),
    ]
)  # fmt: skip
CHAIN = pa.schema(
    [
        ("timestamp", TIMESTAMP), ("instrument", pa.string()), ("mark_iv", pa.float64()),
        ("underlying_price", pa.float64()), ("mark_price", pa.float64()),
    ]
)  # fmt: skip
SPOT = pa.schema(
    [("timestamp", TIMESTAMP), ("asset", pa.string()), ("price", pa.float64()), ("index_name", pa.string())]
)
SCHEMAS = {"trades": TRADES, "chain": CHAIN, "spot": SPOT}
_PART = re.compile(r"part-(\d+)\.(parquet|jsonl)$")
_DAY_NS = 86_400 * 10**9


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns (absent ones null, dictionaries decoded)."""
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            cols.append(col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _date(ns: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=ns // _DAY_NS)).isoformat()


def _day_of(table: pa.Table) -> str:
    ts = pc.min(table.column("timestamp").cast(pa.int64())).as_py()
    return _date(0 if ts is None else int(ts))


class Recorder:
    """Buffers what was fed (and set aside) since the last commit; :meth:`write` puts it on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fed: dict[str, list[pa.Table]] = {k: [] for k in SCHEMAS}
        self._late: dict[str, list[pa.Table]] = {k: [] for k in SCHEMAS}
        self._rejected: dict[str, list[pa.Table]] = {k: [] for k in SCHEMAS}
        self._future: dict[str, list[pa.Table]] = {k: [] for k in SCHEMAS}
        self._bad: list[dict[str, Any]] = []

    def fed(self, kind: str, table: pa.Table) -> None:
        if table.num_rows:
            self._fed[kind].append(table)

    def late(self, kind: str, table: pa.Table) -> None:
        if table.num_rows:
            self._late[kind].append(table)

    def future(self, kind: str, table: pa.Table) -> None:
        if table.num_rows:
            self._future[kind].append(table)

    def rejected(self, kind: str, table: pa.Table) -> None:
        """Rows the engine refused (fed and recorded too: a replay refuses them alike), with their reason."""
        if table.num_rows:
            self._rejected[kind].append(table)

    def quarantine(self, text: str, reason: str) -> None:
        self._bad.append({"reason": reason, "message": text})

    def write(self, seq: int) -> None:
        """Writes the buffers as parts numbered ``seq`` and empties them."""
        places = (
            (self.root, self._fed), (self.root / "late", self._late),
            (self.root / "rejected", self._rejected), (self.root / "future", self._future),
        )  # fmt: skip
        for base, buffers in places:
            for kind, parts in buffers.items():
                if not parts:
                    continue
                table = pa.concat_tables(parts, promote_options="permissive")
                target = base / kind / f"date={_day_of(table)}" / f"part-{seq:08d}.parquet"
                write_atomic_with(target, functools.partial(pq.write_table, table))
                parts.clear()
        if self._bad:
            text = "".join(json.dumps(b) + "\n" for b in self._bad)
            write_atomic_bytes(self.root / "quarantine" / f"part-{seq:08d}.jsonl", text.encode())
            self._bad.clear()


def remove_parts_after(root: Path, seq: int) -> int:
    """Deletes recorded parts numbered above ``seq`` (written after the checkpoint) and temp files."""
    n = 0
    if not root.is_dir():
        return 0
    for p in root.rglob("part-*"):
        m = _PART.search(p.name)
        if m and int(m.group(1)) > seq:
            p.unlink()
            n += 1
    return n + remove_stale_temps(root)


def _seq(path: Path) -> int:
    m = _PART.search(path.name)
    return int(m.group(1)) if m else -1


def read_recorded(out: str | Path, kind: str) -> pa.Table:
    """The recorded ``kind`` table (``trades``, ``chain``, ``spot``; ``late/trades``...) in feed order."""
    base = Path(out) / "recorded" / kind
    name = kind.rsplit("/", 1)[-1]
    files = sorted(base.rglob("part-*.parquet"), key=_seq) if base.is_dir() else []
    if not files:
        return SCHEMAS[name].empty_table()
    return pa.concat_tables([pq.read_table(f, schema=SCHEMAS[name]) for f in files])
