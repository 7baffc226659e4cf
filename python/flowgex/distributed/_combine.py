"""Combining engine outputs into one :class:`~flowgex._tables.ResultData`, and its diagnostics.

Each piece holds the tables of one engine (one asset) or one period. No two
pieces hold the same (time, asset): an asset lives in one engine, and periods
do not overlap in time. So the shared :func:`flowgex._tables.merge` over the
pieces' united registry (ids in the core's canonical order) only puts rows in
the core's order; nothing is summed but the per-step source counts, which are
integers: the result is bit-identical to the single-machine one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from .._tables import Counts, ResultData, merge, union
from ..diagnostics import REASONS, Diagnostics

__all__ = ["combine", "diagnostics"]


def combine(pieces: Sequence[ResultData], *, last_step: int | None) -> ResultData:
    """One result's tables from many pieces; only steps up to ``last_step`` (None: no step)."""
    registry, inst_maps, asset_maps = union([p.registry for p in pieces])
    out = merge(list(zip(pieces, inst_maps, asset_maps)), registry, last_step=last_step)
    kept = sum(int(np.count_nonzero(p.total.time <= last_step)) for p in pieces) if last_step is not None else 0
    if len(out.total) != kept:  # merge summed rows of one (time, asset): two engines held it
        raise RuntimeError("flowgex.distributed: two pieces hold the same (time, asset)")
    return out


def _reason_counts(table: pa.Table | None) -> tuple[int, ...]:
    counts = [0] * len(REASONS)
    if table is not None:
        for r in table.column("reason").to_pylist():
            counts[REASONS.index(r)] += 1
    return tuple(counts)


def diagnostics(
    data: ResultData,
    *,
    rows_read: Sequence[int],
    rejected: Mapping[str, pa.Table],
    instruments: int,
    expired: int,
    chain_after_expiry: int = 0,
) -> Diagnostics:
    """Diagnostics exactly as the core would count them for the same input."""
    counts = Counts(
        rows_read=(rows_read[0], rows_read[1], rows_read[2]),
        rejected=tuple(_reason_counts(rejected.get(t)) for t in ("trades", "chain", "spot")),
        traded_instruments=instruments,
        expired=expired,
        chain_after_expiry=chain_after_expiry,
    )
    return Diagnostics.from_data(data.replace(counts=counts), rejected_rows=dict(rejected))
