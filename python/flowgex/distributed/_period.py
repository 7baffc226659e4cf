"""One period of a distributed replay: discover, shuffle, validate, evaluate, combine.

1. *Discover* the engines (keys) the rows belong to and balance them over
   output partitions (heaviest first); shuffle trades, chain and spot rows to
   them (:mod:`._frames`).
2. *Validate* every key's rows (:mod:`._check`): every rejected row, numbered
   in the input's order; the first and last accepted trade, which fix the
   global grid; trade ids two engines both accepted (the later copies are
   duplicates, as on one machine — found by a hash shuffle of the ids and
   settled by validating again without them); whether a split by instrument
   is exact (:mod:`._exact`).
3. *Evaluate* every key's accepted rows with the global ``start`` and the
   clock tick at the period's last grid time, and drain the steps
   (:mod:`._evaluate`).
4. *Combine* them with a group-by sum (:mod:`._combine`) and count the
   diagnostics as the core would; only then is the replay's state updated.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from operator import getitem
from typing import TYPE_CHECKING, Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa

from .._encode import encode_initial
from ..errors import OptionError
from ..options import to_ns
from ..rejects import bad_rows_error as _bad_rows_error
from ..result import GexResult
from ..schema import canonical_chain, canonical_spot, canonical_trades
from . import _check, _combine, _evaluate, _exact, _frames
from ._inputs import ROW_BITS, TABLES, early_end
from ._keys import Inst, Partitioning, instruments_of

if TYPE_CHECKING:
    from .replay import Replay

__all__ = ["Period", "null_context"]

_CANONICAL = {"trades": canonical_trades, "chain": canonical_chain, "spot": canonical_spot}
#: ``end`` of evaluation engines when the user gave none: the clock tick decides the last step.
_FAR_END = to_ns("2262-01-01", name="end")


def _threads(client: Any) -> int:
    """Worker threads of the cluster (the default client's, or this machine's cores)."""
    if client is None:
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            return os.cpu_count() or 1
    return max(1, sum(client.nthreads().values()))


def _label(ts: int, res: int) -> int:
    return (ts // res + 1) * res


class null_context:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class _Grid:
    """The period's grid (shared by every engine) and what the result and the next period need."""

    traded: dict[Inst, int]
    seeded: set[Inst]
    first_label: int | None = None
    last_label: int | None = None
    start: int | None = None
    last_step: int | None = None
    tick: int | None = None
    covers: tuple[dict[Inst, int], dict[str, int]] = field(default_factory=lambda: ({}, {}))
    all_traded: set[Inst] = field(default_factory=set)
    obs: pd.DataFrame | None = None


class Period:
    """One :meth:`Replay.run`; commits to the replay's state only when it succeeds."""

    def __init__(self, rep: Replay, until: int | None) -> None:
        self.rep = rep
        self.st = rep._state
        self.opts = rep._opts
        self.res = rep._opts.resolution_ns
        self.until = until
        self.threads = _threads(rep._client)
        self.groups = self.st.groups if self.st.groups is not None else self.threads  # fixed at the first run
        self.part = Partitioning(rep._by, self.groups)
        self.exact_mode = rep._by == "instrument"
        self.first = self.st.period == 0

    # -- 1. discover and shuffle -------------------------------------------
    def _frames(self, trades: Any, chain: Any, spot: Any) -> dict[str, dd.DataFrame | None]:
        frames = {
            name: _frames.to_ddf(obj, name=name, partitions=self.threads)
            for name, obj in zip(TABLES, (trades, chain, spot))
        }
        if frames["trades"] is None:
            raise OptionError("trades: expected a dask DataFrame, a Parquet path or a table, found None")
        for name, f in frames.items():
            if f is not None:
                _CANONICAL[name](f._meta)  # a missing column fails here, before any work
        return frames

    def _seed_keys(self) -> dict[str, pa.Table]:
        seeds = self.rep._seeds
        if not self.first or seeds is None or seeds.num_rows == 0:
            return {}
        enc = encode_initial(seeds)
        insts = instruments_of(enc)
        keys = self.part.keys_of_codes(insts, enc["inst"])
        return {k: seeds.filter(pa.array(keys == k)) for k in sorted(set(keys))}

    def _shuffle(self, frames: dict[str, dd.DataFrame | None], seeds: dict[str, pa.Table]) -> None:
        metas = [
            f.map_partitions(_frames.discover_part, name, self.part, meta=_frames.DISCOVER_META)
            for name, f in frames.items()
            if f is not None
        ]
        found = dict(zip([n for n, f in frames.items() if f is not None], dask.compute(*metas)))
        weights: dict[str, int] = {}
        assets = set(self.st.assets)
        for name, counts in found.items():
            for key, asset, n in counts.itertuples(index=False):
                targets = self.part.asset_keys(asset or None) if name == "spot" else [key]
                for k in targets:
                    weights[k] = weights.get(k, 0) + int(n)
                if asset:
                    assets.add(asset)
        for a in assets | {self._asset_of(k) for k in seeds}:
            for k in self.part.asset_keys(a):
                weights.setdefault(k, 0)
        for k in list(self.st.engines) + list(seeds):
            weights.setdefault(k, 0)
        self.assets = assets
        n_in = max(f.npartitions for f in frames.values() if f is not None)
        n = self.rep._npartitions or min(len(weights), max(self.threads, n_in))
        self.part_of = _frames.assign_parts(weights, max(1, n))
        self.n = max(1, n)
        self.keys_of = [sorted(k for k, p in self.part_of.items() if p == i) for i in range(self.n)]
        shuffled = {name: _frames.keyed(f, name, self.part, self.part_of, self.n) for name, f in frames.items()}
        if self.rep._persist:
            present = [f for f in shuffled.values() if f is not None]
            shuffled.update(zip([k for k, f in shuffled.items() if f is not None], dask.persist(*present)))
        self.parts = {name: (f.to_delayed() if f is not None else [None] * self.n) for name, f in shuffled.items()}
        trades = frames["trades"]
        assert trades is not None
        # Trade ids are per asset, so only engines sharing an asset (instrument
        # partitioning) can both accept one id: only then are ids shuffled.
        self.has_ids = "trade_id" in trades.columns and self.part.by == "instrument"

    def _asset_of(self, key: str) -> str:
        return key.rsplit("/", 1)[0] if self.exact_mode else key

    # -- 2. validate --------------------------------------------------------
    def _validate(
        self, drop: dict[str, np.ndarray]
    ) -> tuple[dict[str, _check.KeyCheck], dict[str, dict[int, int]], Any]:
        check_opts = dataclasses.replace(
            self.opts,
            start_ns=None,
            end_ns=early_end(self.res),
            missing_vol="skip",
            missing_spot="skip",
            keep_inventory="last",
        )
        tasks = []
        for i in range(self.n):
            frames = tuple(self.parts[name][i] for name in TABLES)
            keys = {k: self.st.engines[k][0] if k in self.st.engines else None for k in self.keys_of[i]}
            tasks.append(
                dask.delayed(_check.check_part, pure=False)(
                    frames,
                    keys=keys,
                    opts=check_opts,
                    tick=self.until,
                    drop=drop,
                    coverage=self.exact_mode,
                    n_buckets=self.n if self.has_ids else 1,
                )
            )
        reports = [dask.delayed(getitem)(t, 0) for t in tasks]
        counts = [dask.delayed(getitem)(t, 2) for t in tasks]
        todo: list[Any] = [reports, counts]
        if self.has_ids:  # a hash shuffle of the accepted ids: bucket j of every task meets in task j
            buckets = [dask.delayed(getitem)(t, 1) for t in tasks]
            found = [
                dask.delayed(_check.collisions)([dask.delayed(getitem)(b, j) for b in buckets]) for j in range(self.n)
            ]
            todo.append(dask.delayed(pd.concat)(found, ignore_index=True))
        got = dask.compute(*todo)
        checks = {k: c for part in got[0] for k, c in part.items()}
        lens: dict[str, dict[int, int]] = {name: {} for name in TABLES}
        for part in got[1]:
            for name, per in part.items():
                for p, c in per.items():
                    lens[name][p] = max(lens[name].get(p, 0), c)
        return checks, lens, (got[2] if self.has_ids else None)

    def _repeats(self, checks: dict[str, _check.KeyCheck], coll: pd.DataFrame) -> np.ndarray:
        """Rows to reject as duplicates: every copy of an id two engines kept, but the first in time order."""
        first = coll.sort_values(["ts", "row"], kind="stable").drop_duplicates("id", keep="first")
        later = coll.loc[~coll["row"].isin(first["row"]), "row"].to_numpy(dtype=np.int64)
        ids = set(first["id"])
        local = []
        for c in checks.values():
            t = c.rejected.get("trades")
            if t is None or "trade_id" not in t.column_names:
                continue
            dup = np.asarray(t.column("reason").to_pylist(), dtype=object) == "duplicate_trade_id"
            tid = _check.id_keys(t, t.column("trade_id").cast(pa.string()).to_pylist())
            hit = dup & np.isin(tid, list(ids))
            local.append(t.column("row").to_numpy()[hit])
        return np.unique(np.concatenate([later, *local]).astype(np.int64))

    # -- the whole period ---------------------------------------------------
    def run(self, trades: Any, chain: Any, spot: Any) -> GexResult:
        frames = self._frames(trades, chain, spot)
        seeds = self._seed_keys()
        self._shuffle(frames, seeds)
        checks, lens, coll = self._validate({})
        if coll is not None and len(coll):
            checks, lens, coll = self._validate({"trades": self._repeats(checks, coll)})
            if coll is not None and len(coll):
                raise RuntimeError("flowgex.distributed: trade ids still accepted by two engines after a second pass")
        self.offsets = {name: _offsets(lens[name]) for name in TABLES}
        rejected = self._rejected(checks)
        self._raise_first_problem(checks, rejected)
        grid = self._grid(checks, seeds)
        outs = self._run_engines(rejected, grid, seeds) if grid.tick is not None else {}
        result = self._result(checks, outs, rejected, lens, grid)
        self._commit(checks, outs, grid)
        return result

    def _rejected(self, checks: dict[str, _check.KeyCheck]) -> dict[str, pa.Table]:
        """Every key's rejected rows per table, in input order (spot rows copied to several keys once)."""
        out: dict[str, pa.Table] = {}
        for name in TABLES:
            parts = [c.rejected[name] for c in checks.values() if name in c.rejected]
            if not parts:
                continue
            table = pa.concat_tables(parts, promote_options="permissive")
            rows = table.column("row").to_numpy()
            order = np.argsort(rows, kind="stable")
            first = np.ones(len(order), dtype=bool)
            first[1:] = rows[order][1:] != rows[order][:-1]
            out[name] = table.take(pa.array(order[first]))  # still composite row ids: see _number()
        return out

    def _number(self, rejected: dict[str, pa.Table]) -> dict[str, pa.Table]:
        """Composite row ids (input partition, position) -> row numbers in the whole input."""
        out = {}
        for name, table in rejected.items():
            rows = table.column("row").to_numpy()
            i = table.schema.get_field_index("row")
            out[name] = table.set_column(i, "row", pa.array(_global(rows, self.offsets[name]), pa.int64()))
        return out

    def _raise_first_problem(self, checks: dict[str, _check.KeyCheck], rejected: dict[str, pa.Table]) -> None:
        """What one machine raises first: bad rows (errors="raise"), then a missing multiplier."""
        if self.opts.errors == "raise" and rejected:
            raise _bad_rows_error(self._number(rejected))
        errors = [(c.error_row, k, c.error) for k, c in checks.items() if c.error is not None]
        if errors:
            raise min(errors, key=lambda e: (e[0], e[1]))[2]
        if self.until is not None:
            late = [c.max_ts for c in checks.values() if c.max_ts is not None and c.max_ts >= self.until]
            if late:
                raise OptionError(
                    f"invalid option until: every row of a period must be before its until "
                    f"({pd.Timestamp(self.until, tz='UTC')}); found rows up to {pd.Timestamp(max(late), tz='UTC')}"
                )

    def _grid(self, checks: dict[str, _check.KeyCheck], seeds: dict[str, pa.Table]) -> _Grid:
        """The global grid of this period, and (instrument split) the proof that it is exact."""
        st, opts, res = self.st, self.opts, self.res
        g = _Grid(traded={i: t for c in checks.values() for i, t in c.traded.items()}, seeded=self._seeded(seeds))
        g.first_label = st.first_label
        if g.first_label is None and g.traded:
            g.first_label = _label(min(g.traded.values()), res)
        labels = [_label(c.last_trade, res) for c in checks.values() if c.last_trade is not None]
        g.last_label = max(labels + ([st.last_label] if st.last_label is not None else []), default=None)
        g.start = opts.start_ns if opts.start_ns is not None else g.first_label
        if seeds and g.start is None and self.until is not None:
            # The seeds go live at the first trade's bucket, which a later period may bring.
            raise OptionError(
                "invalid option initial: the first period has no accepted trade, so the grid start is unknown; "
                "pass start="
            )
        if self.until is None:  # the final period ends as one machine ends: at `end` or the last trade
            g.last_step = opts.end_ns if opts.end_ns is not None else g.last_label
            g.tick = g.last_step
        else:
            g.last_step = self.until - self.until % res
            g.last_step = g.last_step if opts.end_ns is None else min(g.last_step, opts.end_ns)
            g.tick = self.until
        g.covers = self._covers(checks)
        if self.exact_mode:
            new = [(i, t) for i, t in g.traded.items() if i not in st.traded and i not in g.seeded]
            live = [(i, _label(t, res) if g.start is None else max(_label(t, res), g.start)) for i, t in new]
            live += [(i, g.start) for i in g.seeded if g.start is not None]
            _exact.check_coverage(live, chain_cover=g.covers[0], spot_cover=g.covers[1], end=opts.end_ns)
        return g

    def _result(
        self,
        checks: dict[str, _check.KeyCheck],
        outs: dict[str, _evaluate.KeyOutput],
        rejected: dict[str, pa.Table],
        lens: dict[str, dict[int, int]],
        g: _Grid,
    ) -> GexResult:
        st, opts = self.st, self.opts
        core = _combine.merge([(o.core, o.registry) for o in outs.values() if o.core], last_step=g.last_step)
        if self.exact_mode:
            _exact.assert_no_fallback(core)
            g.obs = _exact.latest_obs(
                [st.obs] + [c.obs.assign(period=st.period) for c in checks.values() if c.obs is not None]
            )
            names = np.array(core["registry"]["assets"], dtype=object)
            core["total.spot"] = _exact.total_spot(
                names[core["total.asset"].astype(np.int64)], core["total.time"], g.obs
            )
        g.all_traded = st.traded | set(g.traded) | g.seeded
        lo = st.boundary if st.boundary is not None else -(2**63)
        expired = 0 if g.last_step is None else sum(lo < i.expiry <= g.last_step for i in g.all_traded)
        diag = _combine.diagnostics(
            core,
            rows_read=[sum(lens[name].values()) for name in TABLES],
            rejected=self._number(rejected),
            instruments=len(g.all_traded - st.traded),
            expired=expired,
        )
        return GexResult(
            core, unit=opts.unit, r=opts.r, method="flow", diagnostics=diag, resolution_ns=opts.resolution_ns
        )

    def _commit(self, checks: dict[str, _check.KeyCheck], outs: dict[str, _evaluate.KeyOutput], g: _Grid) -> None:
        st = self.st
        for k, c in checks.items():
            st.engines[k] = (c.blob, outs[k].blob if k in outs else st.engines.get(k, (b"", b""))[1])
        st.assets, st.groups = self.assets, self.groups
        st.first_label, st.last_label, st.traded = g.first_label, g.last_label, g.all_traded
        st.boundary = g.last_step if g.last_step is not None else st.boundary
        st.until, st.period, st.finished = self.until, st.period + 1, self.until is None
        st.chain_cover, st.spot_cover = g.covers
        if g.obs is not None:
            st.obs = g.obs.sort_values(["asset", "src", "label"]).drop_duplicates(["asset", "src"], keep="last")

    def _seeded(self, seeds: dict[str, pa.Table]) -> set[Inst]:
        out: set[Inst] = set()
        for table in seeds.values():
            out.update(i for i in instruments_of(encode_initial(table)) if i is not None)
        return out

    def _covers(self, checks: dict[str, _check.KeyCheck]) -> tuple[dict[Inst, int], dict[str, int]]:
        chain = dict(self.st.chain_cover)
        spot = dict(self.st.spot_cover)
        for c in checks.values():
            for i, t in c.chain_cover.items():
                chain[i] = min(t, chain.get(i, t))
            if c.obs is not None and len(c.obs):
                first = c.obs[c.obs["src"] == 0].groupby("asset")["label"].min()
                for a, t in first.items():
                    spot[str(a)] = min(int(t), spot.get(str(a), int(t)))
        return chain, spot

    def _run_engines(
        self, rejected: dict[str, pa.Table], g: _Grid, seeds: dict[str, pa.Table]
    ) -> dict[str, _evaluate.KeyOutput]:
        eval_opts = dataclasses.replace(
            self.opts, start_ns=g.start, end_ns=self.opts.end_ns if self.opts.end_ns is not None else _FAR_END
        )
        drop = {name: t.column("row").to_numpy() for name, t in rejected.items()}
        # Rows at or after the tick cannot change a reported step (they would only make the engines
        # evaluate further, and with keep_inventory="last" keep a later step's inventory).
        before = g.tick if self.until is None else self.until
        tick = g.tick
        tasks = []
        for i in range(self.n):
            frames = tuple(self.parts[name][i] for name in TABLES)
            keys = {k: self.st.engines[k][1] if k in self.st.engines else None for k in self.keys_of[i]}
            tasks.append(
                dask.delayed(_evaluate.evaluate_part, pure=False)(
                    frames,
                    keys=keys,
                    seeds={k: seeds[k] for k in keys if k in seeds},
                    opts=eval_opts,
                    drop=drop,
                    before=before,
                    tick=tick,
                )
            )
        outs = {k: o for part in dask.compute(*tasks) for k, o in part.items()}
        errors = [(o.error_order, k, o.error) for k, o in outs.items() if o.error is not None]
        if errors:
            raise min(errors, key=lambda e: (e[0], e[1]))[2]
        bad = {k: o.rejected for k, o in outs.items() if o.rejected}
        if bad:
            raise RuntimeError(f"flowgex.distributed: engines rejected rows the validation pass accepted: {bad}")
        return outs


def _offsets(counts: dict[int, int]) -> dict[int, int]:
    """Input partition -> number of rows in the partitions before it."""
    out, total = {}, 0
    for p in sorted(counts):
        out[p] = total
        total += counts[p]
    return out


def _global(rows: np.ndarray, offsets: dict[int, int]) -> np.ndarray:
    part = rows >> ROW_BITS
    local = rows & ((1 << ROW_BITS) - 1)
    base = np.array([offsets.get(int(p), 0) for p in part], dtype=np.int64)
    return base + local
