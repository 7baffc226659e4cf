"""A flow-GEX replay on a Dask cluster, run in one go or period by period.

One run (:meth:`Replay.run`) of a period:

1. *Discover* the engines (keys) the rows belong to and balance them over
   output partitions; shuffle trades, chain and spot rows to them.
2. *Validate* each key's rows with an engine that evaluates nothing, to learn
   what one machine would know before its first grid step: every rejected row
   (reported with its row number in the input), the first and last accepted
   trade (the grid is global: it starts at the first trade's bucket and ends at
   the last one's), trade ids accepted by two engines (the later becomes a
   duplicate, as one machine decides), and whether a split by instrument is
   exact.
3. *Evaluate* each key's accepted rows with the global ``start``, then a clock
   tick at the period's last grid time, and drain the evaluated steps.
4. *Combine* them with a group-by sum into one :class:`~flowgex.GexResult`.

A period's engines are snapshotted; the next :meth:`Replay.run` restores them,
so inventories, as-of prices and vols and the open bucket carry across the
split exactly as they would in one streaming :class:`~flowgex.Engine`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from operator import getitem
from typing import Any, Literal

import dask
import dask.dataframe as dd  # noqa: F401  (annotations)
import numpy as np
import pandas as pd
import pyarrow as pa

from ..engine import Engine, _bad_rows_error
from ..errors import OptionError
from ..options import EngineOptions, to_ns
from ..result import GexResult
from ..schema import canonical_chain, canonical_initial, canonical_spot, canonical_trades
from . import _combine, _exact, _frames, _state, _tasks
from ._keys import Inst, Partitioning, instruments_of

__all__ = ["Replay"]

TABLES = ("trades", "chain", "spot")
_CANONICAL = {"trades": canonical_trades, "chain": canonical_chain, "spot": canonical_spot}
#: ``end`` of evaluation engines when the user gave none: the clock tick decides the last step.
_FAR_END = to_ns("2200-01-01", name="end")


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


class Replay:
    """A distributed flow-GEX replay that can be fed period by period.

    Takes the keyword options of :func:`flowgex.flow_gex`, plus:

    client:
        A ``distributed.Client`` (default: the current default client, else
        dask's local scheduler).
    partition_by:
        ``"asset"`` (default, always exact): one engine per asset.
        ``"instrument"``: each asset's options spread over ``groups`` engines;
        exact only when every option is priced from its own chain
        ``underlying_price`` or the asset's spot table from its first live
        grid time — checked before evaluating, else :class:`OptionError`.
    groups:
        Engines per asset with ``partition_by="instrument"`` (default: the
        cluster's worker threads); fixed at the first run.
    npartitions:
        Output partitions (tasks) per pass (default: as many as keys, at most
        the cluster's threads or the input's partitions, whichever is more).
    persist:
        Keep the shuffled rows in cluster memory between the two passes
        (default); ``False`` reads and shuffles the input twice instead.
    """

    def __init__(
        self,
        *,
        client: Any = None,
        partition_by: Literal["asset", "instrument"] = "asset",
        groups: int | None = None,
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
        r: float = 0.0,
        missing_spot: Literal["error", "skip"] = "error",
        keep_inventory: Literal["all", "last"] = "all",
    ) -> None:
        # The options and the seed are checked exactly as one machine checks them.
        probe = Engine(
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
        )
        if partition_by not in ("asset", "instrument"):
            raise OptionError(f"invalid option partition_by: expected 'asset' or 'instrument', found {partition_by!r}")
        for name, v in (("groups", groups), ("npartitions", npartitions)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise OptionError(f"invalid option {name}: expected a positive int or None, found {v!r}")
        self._opts: EngineOptions = probe.options
        self._client = client
        self._by = partition_by
        self._npartitions = npartitions
        self._persist = bool(persist)
        self._seeds = None if initial is None else canonical_initial(initial)
        self._state = _state.ReplayState(groups=groups if partition_by == "instrument" else 1)

    @property
    def options(self) -> EngineOptions:
        return self._opts

    @property
    def finished(self) -> bool:
        """True after the final run (``until=None``)."""
        return self._state.finished

    # -- persistence --------------------------------------------------------
    def snapshot(self) -> bytes:
        """The replay's state as versioned bytes (the engines' snapshots and the global counters)."""
        header = {"options": self._opts.to_json(), "partition_by": self._by, "npartitions": self._npartitions}
        return _state.dump(self._state, header)

    @classmethod
    def restore(cls, blob: bytes, *, client: Any = None, persist: bool = True) -> Replay:
        """A replay continuing exactly where the snapshotted one stopped."""
        state, meta = _state.load(blob)
        rep = cls.__new__(cls)
        rep._opts = EngineOptions.from_json(meta["options"])
        rep._client = client
        rep._by = meta["partition_by"]
        rep._npartitions = meta["npartitions"]
        rep._persist = persist
        rep._seeds = None
        rep._state = state
        return rep

    # -- running ------------------------------------------------------------
    def run(self, trades: Any, chain: Any = None, spot: Any = None, *, until: Any = None) -> GexResult:
        """Replays one period and returns its grid steps.

        ``trades``, ``chain``, ``spot``: dask DataFrames, Parquet dataset paths
        (read with ``dask.dataframe.read_parquet``) or any table flowgex takes.
        ``until``: the end of this period — every row must be before it, and
        the result holds the grid times up to it (a later run continues from
        there); ``None`` (default) makes this the final period, ending at
        ``end`` or the last trade's bucket as :func:`flowgex.flow_gex` does.
        Row numbers of rejected rows count from 0 in this period's input.
        """
        st = self._state
        if st.finished:
            raise OptionError("this replay has finished (its last run had until=None); start a new Replay")
        until_ns = None if until is None else to_ns(until, name="until")
        if until_ns is not None and st.until is not None and until_ns <= st.until:
            raise OptionError(
                f"invalid option until: expected a time after the previous period's until "
                f"{pd.Timestamp(st.until, tz='UTC')}, found {pd.Timestamp(until_ns, tz='UTC')}"
            )
        with dask.config.set(scheduler=self._client) if self._client is not None else _nothing():
            return _Period(self, until_ns).run(trades, chain, spot)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _Period:
    """One :meth:`Replay.run`; commits to the replay's state only when it succeeds."""

    def __init__(self, rep: Replay, until: int | None) -> None:
        self.rep = rep
        self.st = rep._state
        self.opts = rep._opts
        self.res = rep._opts.resolution_ns
        self.until = until
        self.threads = _threads(rep._client)
        if self.st.groups is None:
            self.st.groups = self.threads
        self.part = Partitioning(rep._by, self.st.groups)
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
        from .._encode import encode_initial

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
        self.has_ids = "trade_id" in frames["trades"].columns

    def _asset_of(self, key: str) -> str:
        return key.rsplit("/", 1)[0] if self.exact_mode else key

    # -- 2. validate --------------------------------------------------------
    def _check(self, drop: dict[str, np.ndarray]) -> tuple[dict[str, _tasks.KeyCheck], dict[str, dict[int, int]], Any]:
        check_opts = dataclasses.replace(
            self.opts,
            start_ns=None,
            end_ns=_tasks.early_end(self.res),
            missing_vol="skip",
            missing_spot="skip",
            keep_inventory="last",
        )
        tasks = []
        for i in range(self.n):
            frames = tuple(self.parts[name][i] for name in TABLES)
            keys = {k: self.st.engines[k][0] if k in self.st.engines else None for k in self.keys_of[i]}
            tasks.append(
                dask.delayed(_tasks.check_part, pure=False)(
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
                dask.delayed(_tasks.collisions)([dask.delayed(getitem)(b, j) for b in buckets]) for j in range(self.n)
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

    def _repeats(self, checks: dict[str, _tasks.KeyCheck], coll: pd.DataFrame) -> np.ndarray:
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
            tid = np.asarray(t.column("trade_id").cast(pa.string()).to_pylist(), dtype=object)
            hit = dup & np.isin(tid, list(ids))
            local.append(t.column("row").to_numpy()[hit])
        return np.unique(np.concatenate([later, *local]).astype(np.int64))

    # -- the whole period ---------------------------------------------------
    def run(self, trades: Any, chain: Any, spot: Any) -> GexResult:
        frames = self._frames(trades, chain, spot)
        seeds = self._seed_keys()
        self._shuffle(frames, seeds)
        checks, lens, coll = self._check({})
        if coll is not None and len(coll):
            checks, lens, _ = self._check({"trades": self._repeats(checks, coll)})
        rejected = self._rejected(checks, lens)
        self._raise_first_problem(checks, rejected)
        return self._evaluate(checks, rejected, lens, seeds)

    def _rejected(self, checks: dict[str, _tasks.KeyCheck], lens: dict[str, dict[int, int]]) -> dict[str, pa.Table]:
        """Every key's rejected rows per table, numbered in the input's order (spot copies counted once)."""
        out: dict[str, pa.Table] = {}
        for name in TABLES:
            parts = [c.rejected[name] for c in checks.values() if name in c.rejected]
            if not parts:
                continue
            table = pa.concat_tables(parts, promote_options="permissive")
            rows = table.column("row").to_numpy()
            order = np.argsort(rows, kind="stable")
            rows = rows[order]
            keep = np.ones(len(rows), dtype=bool)
            keep[1:] = rows[1:] != rows[:-1]
            table = table.take(pa.array(order[keep]))
            out[name] = table  # composite rows; numbered by _number()
        self.offsets = {name: _offsets(lens[name]) for name in TABLES}
        return out

    def _number(self, rejected: dict[str, pa.Table]) -> dict[str, pa.Table]:
        out = {}
        for name, table in rejected.items():
            rows = table.column("row").to_numpy()
            i = table.schema.get_field_index("row")
            out[name] = table.set_column(i, "row", pa.array(_global(rows, self.offsets[name]), pa.int64()))
        return out

    def _raise_first_problem(self, checks: dict[str, _tasks.KeyCheck], rejected: dict[str, pa.Table]) -> None:
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

    def _evaluate(
        self,
        checks: dict[str, _tasks.KeyCheck],
        rejected: dict[str, pa.Table],
        lens: dict[str, dict[int, int]],
        seeds: dict[str, pa.Table],
    ) -> GexResult:
        st, opts, res = self.st, self.opts, self.res
        traded = {i: t for c in checks.values() for i, t in c.traded.items()}
        first_label = st.first_label
        if first_label is None and traded:
            first_label = _label(min(traded.values()), res)
        labels = [_label(c.last_trade, res) for c in checks.values() if c.last_trade is not None]
        last_label = max(labels + ([st.last_label] if st.last_label is not None else []), default=None)
        start = opts.start_ns if opts.start_ns is not None else first_label
        if seeds and start is None and self.until is not None:
            # The seeds go live at the first trade's bucket, which a later period may bring.
            raise OptionError(
                "invalid option initial: the first period has no accepted trade, so the grid start is unknown; "
                "pass start="
            )
        if self.until is None:
            last_step = opts.end_ns if opts.end_ns is not None else last_label
            tick = last_step
        else:
            last_step = self.until - self.until % res
            last_step = last_step if opts.end_ns is None else min(last_step, opts.end_ns)
            tick = self.until
        seeded = self._seeded(seeds)
        fresh = {i: t for i, t in traded.items() if i not in st.traded and i not in seeded}
        covers = self._covers(checks)
        if self.exact_mode:
            first_live = [(i, max(_label(t, res), start or -(2**62))) for i, t in fresh.items()]
            first_live += [(i, start) for i in seeded if start is not None]
            _exact.check_coverage(first_live, chain_cover=covers[0], spot_cover=covers[1], end=opts.end_ns)
        outs: dict[str, _tasks.KeyOutput] = {}
        if tick is not None:
            outs = self._run_engines(rejected, start, tick, seeds)
        core = _combine.merge([(o.core, o.registry) for o in outs.values() if o.core], last_step=last_step)
        obs = None
        if self.exact_mode:
            _exact.assert_no_fallback(core)
            obs = _exact.latest_obs(
                [st.obs] + [c.obs.assign(period=st.period) for c in checks.values() if c.obs is not None]
            )
            names = np.array(core["registry"]["assets"], dtype=object)
            core["total.spot"] = _exact.total_spot(names[core["total.asset"].astype(np.int64)], core["total.time"], obs)
        all_traded = st.traded | set(traded) | seeded
        lo = st.boundary if st.boundary is not None else -(2**63)
        expired = 0 if last_step is None else sum(lo < i.expiry <= last_step for i in all_traded)
        numbered = self._number(rejected)
        diag = _combine.diagnostics(
            core,
            rows_read=[sum(lens[name].values()) for name in TABLES],
            rejected=numbered,
            instruments=len(all_traded - st.traded),
            expired=expired,
        )
        result = GexResult(
            core, unit=opts.unit, r=opts.r, method="flow", diagnostics=diag, resolution_ns=opts.resolution_ns
        )
        # Success: commit.
        for k, c in checks.items():
            st.engines[k] = (c.blob, outs[k].blob if k in outs else st.engines.get(k, (b"", b""))[1])
        st.assets = self.assets
        st.first_label, st.last_label = first_label, last_label
        st.traded = all_traded
        st.boundary = last_step if last_step is not None else st.boundary
        st.until, st.period, st.finished = self.until, st.period + 1, self.until is None
        st.chain_cover, st.spot_cover = covers
        if obs is not None:
            st.obs = obs.sort_values(["asset", "src", "label"]).drop_duplicates(["asset", "src"], keep="last")
        return result

    def _seeded(self, seeds: dict[str, pa.Table]) -> set[Inst]:
        from .._encode import encode_initial

        out: set[Inst] = set()
        for table in seeds.values():
            out.update(i for i in instruments_of(encode_initial(table)) if i is not None)
        return out

    def _covers(self, checks: dict[str, _tasks.KeyCheck]) -> tuple[dict[Inst, int], dict[str, int]]:
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
        self, rejected: dict[str, pa.Table], start: int | None, tick: int, seeds: dict[str, pa.Table]
    ) -> dict[str, _tasks.KeyOutput]:
        eval_opts = dataclasses.replace(
            self.opts, start_ns=start, end_ns=self.opts.end_ns if self.opts.end_ns is not None else _FAR_END
        )
        drop = {name: t.column("row").to_numpy() for name, t in rejected.items()}
        before = tick if self.until is None else self.until
        tasks = []
        for i in range(self.n):
            frames = tuple(self.parts[name][i] for name in TABLES)
            keys = {k: self.st.engines[k][1] if k in self.st.engines else None for k in self.keys_of[i]}
            tasks.append(
                dask.delayed(_tasks.evaluate_part, pure=False)(
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
    part = rows >> _tasks.ROW_BITS
    local = rows & ((1 << _tasks.ROW_BITS) - 1)
    base = np.array([offsets.get(int(p), 0) for p in part], dtype=np.int64)
    return base + local
