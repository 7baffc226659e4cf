"""What may enter the engine: each trade once, and nothing older than the open bucket.

The engine refuses a row older than its open bucket as ``late``; if such a row
were fed, the live run would have counted it as a rejection while a replay of
the recorded tables (which sorts everything first) would have used it, and the
two would differ. So the gate finds late rows *before* feeding, with the
engine's own rule (label(τ) = (⌊τ/Δ⌋+1)·Δ < open label), and sets them aside.
The open label it judges by is the engine's own (:attr:`flowgex.Engine.open_bucket`,
handed over after every update and clock move), so nothing the gate lets
through is late inside the engine, and nothing it sets aside would have been
taken.

Duplicates: a trade id seen before (a repeated notification, the overlap of a
history backfill with the live stream) is dropped and counted here. Ids are
kept for the last ``keep_buckets`` buckets only (memory stays bounded over
days); a repeat older than that is late anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Gate", "label_of"]


def label_of(ts_ns: int, resolution_ns: int) -> int:
    """The right edge of the bucket holding ``ts_ns`` (DESIGN rule 1)."""
    return (ts_ns // resolution_ns + 1) * resolution_ns


def _ns(table: pa.Table) -> np.ndarray:
    col = table.column("timestamp").cast(pa.int64())
    return col.to_numpy(zero_copy_only=False) if col.null_count == 0 else pc.fill_null(col, 0).to_numpy()


@dataclass
class Gate:
    """Dedupe and late-row split, with the state a checkpoint keeps."""

    resolution_ns: int
    assets: frozenset[str] | None = None  # option assets kept from the trade streams (None: all)
    open_label: int | None = None
    ids: dict[str, int] = field(default_factory=dict)  # "ASSET:trade_id" -> bucket label
    keep_buckets: int = 2
    counts: dict[str, int] = field(default_factory=lambda: {"late": 0, "duplicate": 0, "other_asset": 0})

    def _late_mask(self, table: pa.Table) -> np.ndarray:
        if self.open_label is None or table.num_rows == 0:
            return np.zeros(table.num_rows, bool)
        ts = table.column("timestamp")
        valid = ~np.asarray(pc.is_null(ts).to_numpy(zero_copy_only=False), bool)
        return valid & (_ns(table) < self.open_label - self.resolution_ns)

    def split(self, table: pa.Table) -> tuple[pa.Table, pa.Table]:
        """(rows to feed, late rows); rows with no readable time go on to the engine, which rejects them."""
        late = self._late_mask(table)
        if not late.any():
            return table, table.slice(0, 0)
        self.counts["late"] += int(late.sum())
        return table.filter(pa.array(~late)), table.filter(pa.array(late))

    def _asset(self, names: Iterable[str | None]) -> list[str | None]:
        """Each name's asset; None for a name that is not an option's (the engine refuses those rows)."""
        return [n.split("-", 1)[0].split("_", 1)[0].upper() if n and n.count("-") == 3 else None for n in names]

    def trades(self, table: pa.Table) -> pa.Table:
        """Drops trades of other assets (the USDC stream carries every linear asset) and repeated ids."""
        if table.num_rows == 0:
            return table
        assets = self._asset(table.column("instrument").to_pylist())
        ids = table.column("trade_id").to_pylist()
        ts = _ns(table)
        keep = np.ones(table.num_rows, bool)
        for i, (a, tid) in enumerate(zip(assets, ids)):
            if self.assets is not None and a is not None and a not in self.assets:
                keep[i] = False
                self.counts["other_asset"] += 1
                continue
            if tid is None:
                continue
            key = f"{a}:{tid}"
            if key in self.ids:
                keep[i] = False
                self.counts["duplicate"] += 1
            else:
                self.ids[key] = label_of(int(ts[i]), self.resolution_ns)
        return table if keep.all() else table.filter(pa.array(keep))

    def moved(self, label: int | None) -> None:
        """The engine's open bucket is now ``label``: later rows are judged against it, and the
        ids of buckets it left behind by more than ``keep_buckets`` are forgotten."""
        if label is None or (self.open_label is not None and label <= self.open_label):
            return
        self.open_label = label
        floor = label - self.keep_buckets * self.resolution_ns
        self.ids = {k: v for k, v in self.ids.items() if v >= floor}

    def state(self) -> dict[str, object]:
        return {"open_label": self.open_label, "ids": self.ids, "counts": self.counts}

    def restore(self, st: dict[str, object]) -> None:
        ol = st.get("open_label")
        self.open_label = int(ol) if isinstance(ol, int) else None
        ids = st.get("ids")
        self.ids = {str(k): int(v) for k, v in ids.items()} if isinstance(ids, dict) else {}
        counts = st.get("counts")
        if isinstance(counts, dict):
            self.counts.update({str(k): int(v) for k, v in counts.items()})
