"""A flow-GEX replay on a Dask cluster, in one go or period by period (e.g. month by month).

:meth:`Replay.run` replays one period (see :mod:`._period` for how) and
returns its grid times; the engines are then snapshotted, and the next run
restores them, so dealer inventories, as-of prices and vols and the open
bucket carry across the split. :meth:`Replay.snapshot` / :meth:`Replay.restore`
keep a replay between processes (one job per month). The concatenation of the
periods' results (:func:`~flowgex.distributed.concat_results`) equals one run
over all of them, with two limits that a streaming :class:`~flowgex.Engine`
fed the same chunks shares:

* a trade id repeated in a later period is not recognised as a duplicate
  unless it lands in the bucket still open at the split (only the open
  bucket's ids are remembered, to keep memory bounded);
* a period promises the replay goes on: its steps run up to ``until`` even if
  no later trade follows (one run would stop at its last trade; pass the same
  ``end`` to both to compare). With ``keep_inventory="last"`` each period keeps
  the inventory of its own last step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import dask
import pandas as pd

from ..errors import OptionError
from ..options import EngineOptions, to_ns
from ..result import GexResult
from ..schema import canonical_initial
from . import _state
from ._engine import encode_initial, new_core
from ._period import Settings, run_period, threads

__all__ = ["Replay"]


class Replay:
    """A distributed flow-GEX replay that can be fed period by period.

    Takes the keyword options of :func:`flowgex.flow_gex`, plus:

    client:
        A ``distributed.Client`` (default: the current default client, else
        dask's local scheduler).
    npartitions:
        Output partitions (tasks) per pass (default: as many as engines, at most
        the cluster's threads or the input's partitions, whichever is more).
    persist:
        Keep the shuffled rows in cluster memory between the two passes
        (default); ``False`` reads and shuffles the input twice instead.

    Rows go to one Rust engine per asset, so nothing that couples options is
    split: every table, diagnostic and rejected row equals the single-machine
    call's, bit for bit.
    """

    def __init__(
        self,
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
        r: float = 0.0,
        missing_spot: Literal["error", "skip"] = "error",
        keep_inventory: Literal["all", "last"] = "all",
        keep_aggregates: Literal["all", "last"] = "all",
        greeks: Sequence[str] = ("gamma",),
    ) -> None:
        opts = EngineOptions.parse(
            resolution=resolution,
            unit=unit,
            start=start,
            end=end,
            multipliers=multipliers,
            missing_vol=missing_vol,
            missing_spot=missing_spot,
            errors=errors,
            threads=threads,
            r=r,
            keep_inventory=keep_inventory,
            keep_aggregates=keep_aggregates,
            greeks=greeks,
        )
        n = npartitions
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise OptionError(f"invalid option npartitions: expected a positive int or None, found {npartitions!r}")
        seeds = None if initial is None else canonical_initial(initial)
        if seeds is not None:  # the seed is checked as one machine checks it (rows, multipliers), before any work
            new_core(opts).seed(encode_initial(seeds))
        self._cfg = Settings(opts, npartitions, bool(persist), seeds)
        self._client = client
        self._state = _state.ReplayState()

    @property
    def options(self) -> EngineOptions:
        return self._cfg.opts

    @property
    def finished(self) -> bool:
        """True after the final run (``until=None``)."""
        return self._state.finished

    # -- persistence --------------------------------------------------------
    def snapshot(self) -> bytes:
        """The replay's state as versioned bytes (the engines' snapshots and the global counters)."""
        header = {"options": self._cfg.opts.to_json(), "npartitions": self._cfg.npartitions}
        return _state.dump(self._state, header)

    @classmethod
    def restore(cls, blob: bytes, *, client: Any = None, persist: bool = True) -> Replay:
        """A replay continuing exactly where the snapshotted one stopped."""
        state, meta = _state.load(blob)
        rep = cls.__new__(cls)
        rep._cfg = Settings(EngineOptions.from_json(meta["options"]), meta["npartitions"], persist)
        rep._client = client
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
        scheduler = dask.config.set(scheduler=self._client) if self._client is not None else contextlib.nullcontext()
        with scheduler:
            result, self._state = run_period(
                self._cfg, st, until_ns, (trades, chain, spot), n_threads=threads(self._client)
            )
        return result
