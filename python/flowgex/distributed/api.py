"""The one-call distributed face: :func:`flow_gex`, and :func:`concat_results` for period runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pyarrow as pa

from ..errors import OptionError
from ..result import GexResult
from . import _combine
from .replay import Replay

__all__ = ["flow_gex", "concat_results"]

_TABLES = ("trades", "chain", "spot")


def flow_gex(
    trades: Any,
    chain: Any = None,
    spot: Any = None,
    *,
    client: Any = None,
    npartitions: int | None = None,
    persist: bool = True,
    resolution: Any = "10min",
    unit: Literal["usd_per_1pct", "usd_per_point", "underlying"] = "usd_per_1pct",
    start: Any = None,
    end: Any = None,
    initial: Any = None,
    multipliers: Mapping[str, float] | None = None,
    missing_vol: Literal["error", "skip"] | float = "error",
    errors: Literal["raise", "quarantine"] = "raise",
    threads: int | None = None,
    engine: Literal["rust"] = "rust",
    r: float = 0.0,
    missing_spot: Literal["error", "skip"] = "error",
    keep_inventory: Literal["all", "last"] = "all",
    keep_aggregates: Literal["all", "last"] = "all",
    greeks: Sequence[str] = ("gamma",),
) -> GexResult:
    """:func:`flowgex.flow_gex` on a Dask cluster: the same options, the same :class:`~flowgex.GexResult`.

    ``trades`` (and ``chain``, ``spot``) may be dask DataFrames, Parquet dataset
    paths (read with ``dask.dataframe.read_parquet``) or any table flowgex
    accepts. Rows go to one Rust engine per asset and the engines' outputs
    are concatenated: tables (with ``dex``/``vex``/``cex`` for the ``greeks``
    asked), diagnostics and rejected rows (numbered in the input's order) equal
    the single-machine call's, bit for bit. See :class:`~flowgex.distributed.Replay` for the other options and for
    replays run period by period.
    """
    if engine != "rust":
        raise OptionError(f"invalid option engine: flowgex.distributed runs the Rust engine only, found {engine!r}")
    rep = Replay(
        client=client,
        npartitions=npartitions,
        persist=persist,
        resolution=resolution,
        unit=unit,
        start=start,
        end=end,
        initial=initial,
        multipliers=multipliers,
        missing_vol=missing_vol,
        errors=errors,
        threads=threads,
        r=r,
        missing_spot=missing_spot,
        keep_inventory=keep_inventory,
        keep_aggregates=keep_aggregates,
        greeks=greeks,
    )
    return rep.run(trades, chain, spot)


def concat_results(results: Sequence[GexResult]) -> GexResult:
    """Consecutive period results (from :meth:`Replay.run`) as one result.

    Tables are concatenated in time; counts add up; rejected rows are numbered
    as in the concatenation of the periods' inputs. With ``keep_inventory="all"``
    this equals one run over all periods.
    """
    if not results:
        raise OptionError("concat_results: expected at least one result")
    first = results[0]
    for res in results[1:]:
        if (res.unit, res.r, res.resolution_ns, res.greeks) != (first.unit, first.r, first.resolution_ns, first.greeks):
            raise OptionError("concat_results: the results use different unit, r, resolution or greeks")
    spans = [(res.times[0].value, res.times[-1].value) for res in results if len(res.times)]
    if any(nxt[0] <= prev[1] for prev, nxt in zip(spans, spans[1:])):
        raise OptionError("concat_results: expected consecutive periods in time order; these results overlap")
    data = _combine.combine([res.data for res in results], last_step=spans[-1][1] if spans else None)
    offsets = dict.fromkeys(_TABLES, 0)  # rows of the periods before: row numbers continue across them
    rejected: dict[str, list[pa.Table]] = {}
    for res in results:
        d = res.diagnostics
        for name, table in d.rejected_rows.items():
            rows = pa.array(table.column("row").to_numpy() + offsets[name], pa.int64())
            rejected.setdefault(name, []).append(table.set_column(table.schema.get_field_index("row"), "row", rows))
        for name, n in zip(_TABLES, (d.trades_read, d.chain_rows_read, d.spot_rows_read)):
            offsets[name] += n
    diag = _combine.diagnostics(
        data,
        rows_read=[offsets[name] for name in _TABLES],
        rejected={k: pa.concat_tables(v, promote_options="permissive") for k, v in rejected.items()},
        instruments=sum(r.diagnostics.instruments for r in results),
        expired=sum(r.diagnostics.expired for r in results),
        chain_after_expiry=sum(r.diagnostics.chain_after_expiry for r in results),
    )
    return GexResult(
        data,
        unit=first.unit,
        r=first.r,
        method=first.method,
        diagnostics=diag,
        resolution_ns=first.resolution_ns,
        greeks=first.greeks,
    )
