"""One period of a distributed replay: discover, shuffle, validate, evaluate, combine.

1. *Discover* the engines (one per asset) the rows belong to and balance them
   over output partitions (heaviest first); shuffle trades, chain and spot rows
   to them (:mod:`._frames`).
2. *Validate* every engine's rows (:func:`._tasks.validate_part`): every
   rejected row, numbered in the input's order, and the first and last
   accepted trade, which fix the global grid.
3. *Evaluate* every engine's accepted rows with the global ``start``, its clock
   advanced to the period's last grid time, and drain the steps
   (:func:`._tasks.evaluate_part`).
4. *Combine* them (:mod:`._combine`) and count the diagnostics as the core
   would. The caller's state is replaced only when all of this succeeded.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import OptionError
from ..options import EngineOptions, to_ns
from ..result import GexResult
from . import _combine, _frames, _tasks
from ._engine import bad_rows_error, encode_initial, new_core
from ._frames import ROW_BITS, TABLES
from ._keys import identities, row_keys
from ._state import ReplayState

__all__ = ["Settings", "run_period"]

_FAR_END = to_ns("2262-01-01", name="end")


@dataclass(frozen=True)
class Settings:
    """A replay's fixed settings: the engine options and how the work is spread."""

    opts: EngineOptions
    npartitions: int | None = None
    persist: bool = True
    #: The initial inventory (first period only).
    seeds: pa.Table | None = None


def threads(client: Any) -> int:
    """Worker threads of the cluster (the default client's, or this machine's cores)."""
    if client is None:
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            return os.cpu_count() or 1
    return max(1, sum(client.nthreads().values()))


def _label(ts: int, res: int) -> int:
    """DESIGN rule 1: the label (right edge) of the bucket holding ``ts``."""
    return (ts // res + 1) * res


@dataclass(frozen=True)
class _Grid:
    """The period's grid, shared by every engine."""

    first_label: int | None  # the first accepted trade's bucket, over all periods so far
    last_label: int | None  # the last accepted trade's bucket, over all periods so far
    start: int | None  # where the grid starts (``start``, else first_label)
    last_step: int | None  # the last grid time this period reports
    clock: int | None  # where every engine's clock is advanced to


def run_period(
    cfg: Settings, st: ReplayState, until: int | None, tables: tuple[Any, Any, Any], *, n_threads: int
) -> tuple[GexResult, ReplayState]:
    """Replays one period; returns its result and the replay's next state (``st`` is not changed)."""
    opts = cfg.opts
    frames = {name: _frames.to_ddf(obj, name=name, partitions=n_threads) for name, obj in zip(TABLES, tables)}
    if frames["trades"] is None:
        raise OptionError("trades: expected a dask DataFrame, a Parquet path or a table, found None")
    for name, f in frames.items():
        if f is not None:
            _frames.CANONICAL[name](f._meta)  # a missing column fails here, before any work
    seeds = _seed_keys(cfg.seeds) if not st.engines and cfg.seeds is not None else {}
    keys_of, parts = _shuffle(cfg, frames, [*st.engines, *seeds], n_threads)
    checks, lens = _validate(opts, keys_of, parts, st, until)
    rejected = _number(_rejected(checks), lens)
    if opts.errors == "raise" and rejected:
        raise bad_rows_error(rejected)
    late = [c.max_ts for c in checks.values() if c.max_ts is not None and until is not None and c.max_ts >= until]
    if late:
        raise OptionError(
            f"invalid option until: every row of a period must be before its until "
            f"({pd.Timestamp(until, tz='UTC')}); found rows up to {pd.Timestamp(max(late), tz='UTC')}"
        )
    g = _grid(opts, st, checks, until)
    if seeds and g.start is None and until is not None:
        # The seeds go live at the first trade's bucket, which a later period may bring.
        raise OptionError(
            "invalid option initial: the first period has no accepted trade, so the grid start is unknown; pass start="
        )
    eval_opts = dataclasses.replace(opts, start_ns=g.start, end_ns=_FAR_END if opts.end_ns is None else opts.end_ns)
    pieces = [_tasks.drained(new_core(eval_opts))]  # the (exposure) columns an empty result has
    outs: dict[str, _tasks.KeyOutput] = {}
    if g.clock is not None:
        drop = {name: t.column("__id").to_numpy() for name, t in _rejected(checks).items()}
        outs = _evaluate(keys_of, parts, st, seeds, eval_opts, drop, g.clock)
        pieces += [o.data for o in outs.values() if o.data is not None]

    data = _combine.combine(pieces, last_step=g.last_step)
    seeded = [i for t in seeds.values() for i in identities(encode_initial(t)) if i is not None]
    traded = st.traded.union(*(c.traded for c in checks.values()), seeded)  # seeded options count as traded
    lo = st.boundary if st.boundary is not None else -(2**63)
    diag = _combine.diagnostics(
        data,
        rows_read=[sum(lens[name].values()) for name in TABLES],
        rejected=rejected,
        instruments=len(traded - st.traded),
        expired=0 if g.last_step is None else sum(lo < i[2] <= g.last_step for i in traded),
        chain_after_expiry=sum(c.chain_after_expiry for c in checks.values()),
    )
    result = GexResult(
        data,
        unit=opts.unit,
        r=opts.r,
        method="flow",
        diagnostics=diag,
        resolution_ns=opts.resolution_ns,
        greeks=opts.greeks,
    )
    engines = {k: (c.blob, outs[k].blob if k in outs else st.engines.get(k, (b"", b""))[1]) for k, c in checks.items()}
    new = ReplayState(
        engines={**st.engines, **engines},
        first_label=g.first_label,
        last_label=g.last_label,
        traded=traded,
        boundary=g.last_step if g.last_step is not None else st.boundary,
        until=until,
        finished=until is None,
    )
    return result, new


#: Per output partition, the (trades, chain, spot) partitions as dask Delayed objects (or None).
Parts = list[tuple[Any, Any, Any]]


def _shuffle(cfg: Settings, frames: dict[str, Any], known: list[str], n_threads: int) -> tuple[list[list[str]], Parts]:
    """Discovers the engines (keys) and sends each one's rows to one output partition."""
    present = {name: f for name, f in frames.items() if f is not None}
    found = dask.compute(
        *[f.map_partitions(_frames.discover_part, name, meta=_frames.DISCOVER_META) for name, f in present.items()]
    )
    weights = dict.fromkeys(known, 0)
    for counts in found:
        for key, rows in counts.itertuples(index=False):
            weights[key] = weights.get(key, 0) + int(rows)
    n_in = max(f.npartitions for f in present.values())
    n = max(1, cfg.npartitions or min(len(weights), max(n_threads, n_in)))
    part_of = _frames.assign_parts(weights, n)
    keys_of = [sorted(k for k, p in part_of.items() if p == i) for i in range(n)]
    shuffled = {name: _frames.keyed(f, name, part_of, n) for name, f in present.items()}
    if cfg.persist:
        shuffled = dict(zip(shuffled, dask.persist(*shuffled.values())))
    delayed = {name: (shuffled[name].to_delayed() if name in shuffled else [None] * n) for name in TABLES}
    return keys_of, [(delayed["trades"][i], delayed["chain"][i], delayed["spot"][i]) for i in range(n)]


def _validate(
    opts: EngineOptions, keys_of: list[list[str]], parts: Parts, st: ReplayState, until: int | None
) -> tuple[dict[str, _tasks.KeyCheck], dict[str, dict[int, int]]]:
    """Pass 1: every key's check, and the length of every input partition."""
    res = opts.resolution_ns
    check_opts = dataclasses.replace(
        opts,
        start_ns=None,
        end_ns=-(2**63 // res) * res,  # a grid time before any trade: nothing is evaluated
        missing_vol="skip",
        missing_spot="skip",
        keep_inventory="last",
    )
    tasks = [
        dask.delayed(_tasks.validate_part, pure=False)(
            part, keys={k: st.engines.get(k, (None, None))[0] for k in keys}, opts=check_opts, until=until
        )
        for keys, part in zip(keys_of, parts)
    ]
    got = dask.compute(*tasks)
    checks = {k: c for part, _ in got for k, c in part.items()}
    lens: dict[str, dict[int, int]] = {name: {} for name in TABLES}
    for _, counts in got:
        for name, per in counts.items():
            for p, c in per.items():
                lens[name][p] = max(lens[name].get(p, 0), c)
    return checks, lens


def _grid(opts: EngineOptions, st: ReplayState, checks: dict[str, _tasks.KeyCheck], until: int | None) -> _Grid:
    """The grid one machine would use: from the first accepted trade's bucket (or ``start``) to the last
    one's (or ``end``); a period that is not the last runs to ``until``."""
    res = opts.resolution_ns
    firsts = [c.first_trade for c in checks.values() if c.first_trade is not None]
    first_label = st.first_label if st.first_label is not None else (_label(min(firsts), res) if firsts else None)
    labels = [_label(c.last_trade, res) for c in checks.values() if c.last_trade is not None]
    last_label = max(labels + ([st.last_label] if st.last_label is not None else []), default=None)
    start = opts.start_ns if opts.start_ns is not None else first_label
    if until is None:
        last_step = opts.end_ns if opts.end_ns is not None else last_label
        return _Grid(first_label, last_label, start, last_step, last_step)
    last_step = until - until % res if opts.end_ns is None else min(until - until % res, opts.end_ns)
    return _Grid(first_label, last_label, start, last_step, until)


def _seed_keys(seeds: pa.Table) -> dict[str, pa.Table]:
    if seeds.num_rows == 0:
        return {}
    keys = row_keys(encode_initial(seeds))
    return {k: seeds.filter(pa.array(keys == k)) for k in sorted(set(keys))}


def _evaluate(
    keys_of: list[list[str]],
    parts: Parts,
    st: ReplayState,
    seeds: dict[str, pa.Table],
    opts: EngineOptions,
    drop: dict[str, np.ndarray],
    clock: int,
) -> dict[str, _tasks.KeyOutput]:
    """Pass 2: every key's drained steps; the error one machine would raise first, if any."""
    tasks = [
        dask.delayed(_tasks.evaluate_part, pure=False)(
            part,
            keys={k: st.engines.get(k, (None, None))[1] for k in keys},
            seeds={k: seeds[k] for k in keys if k in seeds},
            opts=opts,
            drop=drop,
            clock=clock,
        )
        for keys, part in zip(keys_of, parts)
    ]
    outs = {k: o for part in dask.compute(*tasks) for k, o in part.items()}
    errors = [(o.error_at, o.error) for o in outs.values() if o.error is not None]
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    bad = {k: o.rejected for k, o in outs.items() if o.rejected}
    if bad:
        raise RuntimeError(f"flowgex.distributed: engines rejected rows the validation pass accepted: {bad}")
    return outs


def _rejected(checks: dict[str, _tasks.KeyCheck]) -> dict[str, pa.Table]:
    """Every key's rejected rows per table, in input order (``__id``: input partition and position)."""
    out: dict[str, pa.Table] = {}
    for name in TABLES:
        parts = [c.rejected[name] for c in checks.values() if name in c.rejected]
        if parts:
            table = pa.concat_tables(parts, promote_options="permissive")
            out[name] = table.take(pa.array(np.argsort(table.column("__id").to_numpy(), kind="stable")))
    return out


def _number(rejected: dict[str, pa.Table], lens: dict[str, dict[int, int]]) -> dict[str, pa.Table]:
    """``__id`` (input partition, position) -> ``row``, the row number in the whole input."""
    out = {}
    for name, table in rejected.items():
        offsets, total = {}, 0
        for p in sorted(lens[name]):
            offsets[p], total = total, total + lens[name][p]
        ids = table.column("__id").to_numpy()
        base = np.array([offsets.get(int(p), 0) for p in ids >> ROW_BITS], dtype=np.int64)
        rows = pa.array(base + (ids & ((1 << ROW_BITS) - 1)), pa.int64())
        out[name] = table.set_column(table.schema.get_field_index("__id"), "row", rows)
    return out
