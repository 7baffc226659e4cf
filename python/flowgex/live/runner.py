"""The live run's state and its three moves: feed rows, move the clock, commit.

Kept free of any networking so the exactness argument is in one place:

- ``feed`` passes rows through the gate (other assets, repeated trade ids,
  rows older than the open bucket are set aside and counted), records exactly
  what it hands to :meth:`flowgex.Engine.update`, in the same order, and feeds it;
- ``clock`` moves the engine with :meth:`flowgex.Engine.advance` (no row, so
  nothing is recorded: a clock only decides *when* a step is final, never its
  value, and the rows it makes late are recorded under ``late/`` instead of fed);
- ``commit`` drains the final steps, writes recorded parts and outputs under
  one sequence number, then the checkpoint.

So ``fg.flow_gex(recorded trades, chain, spot, end=last final step)`` with the
same options replays the very rows the engine saw in the very order, and its
steps equal what was written (rule 19).

The engine is built with ``end`` far in the future: it never evaluates a step
the clock has not passed, and :meth:`~flowgex.Engine.drain` then hands out
every step the clock made final, also those after the last trade (a quiet
market still gets its 10-minute steps).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import Engine
from ..errors import OptionError
from ..io.files import write_atomic_bytes
from ..replaying.output import TABLES as _OUTPUTS
from ..replaying.output import remove_parts_after as remove_output_parts_after
from ..result import GexResult
from . import checkpoint as ckpt
from .channels import Feed
from .gate import Gate
from .outputs import write_steps
from .page import PAGE_NAME, PageWindow
from .recorded import Recorder, remove_parts_after

__all__ = ["Runner", "FAR_END"]

#: The live engine's ``end``: later than any clock it will see, within every limit.
FAR_END = "2200-01-01"
_KINDS = ("trades", "chain", "spot")
_COUNTS = ("messages", "batches", "trades", "chain", "spot", "quarantined", "history_trades", "history_requests",
           "history_refused", "reconnects", "levels_failed", "clock_moves", "after_until", "future",
           "html_written", "html_failed", "html_skipped")  # fmt: skip


def _sorted(table: pa.Table) -> pa.Table:
    if table.num_rows < 2:
        return table
    idx = pc.sort_indices(table, sort_keys=[("timestamp", "ascending")])
    return table.take(idx)


class Runner:
    """Engine + gate + recorder + outputs under ``out``, restored from its checkpoint when there is one."""

    def __init__(
        self,
        out: Path,
        feeds: Sequence[Feed],
        engine_options: Mapping[str, Any],
        *,
        echo: Callable[[str], Any] | None = print,
        commit_seconds: float = 60.0,
        until_ns: int | None = None,
        max_ahead_ns: int = 3_600 * 10**9,
        html_window_ns: int | None = None,
        html_ready: bool = True,
    ) -> None:
        self.out = out
        self.feeds = tuple(feeds)
        self.echo = echo
        self.commit_seconds = commit_seconds
        self.until_ns = until_ns
        self.until_seen = False
        self.broken = False
        self.exchange_ns: int | None = None
        self.max_ahead_ns = max_ahead_ns
        self.multipliers = engine_options.get("multipliers")
        #: The page's window of final steps (None: no page); ``html_ready`` False: plotly missing, skipped.
        self.page = None if html_window_ns is None else PageWindow(html_window_ns, title=f"flowgex live: {out.name}")
        if self.page is not None:  # a kill -9 in the middle of a page write leaves its temporary file
            for stale in out.glob(f".{PAGE_NAME}.*.tmp"):
                stale.unlink(missing_ok=True)
        self.html_ready = html_ready
        self._currency = {a: f.currency for f in self.feeds for a in f.assets}
        shaping = {k: v for k, v in engine_options.items() if k != "threads"}  # threads never change a number
        settings = {"feeds": [[f.currency, list(f.assets)] for f in self.feeds], "options": shaping}
        self.fingerprint = ckpt.fingerprint(settings)
        self.path = out / "_live" / "checkpoint"
        self.recorder = Recorder(out / "recorded")
        state = ckpt.load(self.path)
        self.resumed = state is not None
        if state is not None:
            if state.fingerprint != self.fingerprint:
                raise OptionError(
                    f"{self.path}: this live output was written for other currencies or options; "
                    f"use another out, or the same currencies and options as before"
                )
            self.engine = Engine.restore(state.engine)
            self.seq = state.seq
            self.last_trade_ms = dict(state.last_trade_ms)
            self.counts = {k: state.counts.get(k, 0) for k in _COUNTS}
            self.final_through = state.final_through
            for base in (out / "recorded", out / "levels"):
                remove_parts_after(base, self.seq)
            remove_output_parts_after(out, self.seq)
        else:
            taken = [n for n in (*_OUTPUTS, "recorded", "levels") if (out / n).exists()]
            if taken:
                raise OptionError(
                    f"{out}: holds output without a live checkpoint ({', '.join(taken)}): another run's, or one "
                    f"whose checkpoint was removed; use another out (mixing would break the no-gap guarantee)"
                )
            self.engine = Engine(**engine_options, end=FAR_END)
            self.seq = 0
            self.last_trade_ms = {}
            self.counts = dict.fromkeys(_COUNTS, 0)
            self.final_through = None
            opts = {k: v for k, v in engine_options.items() if k != "initial"}
            write_atomic_bytes(out / "_live" / "options.json", _json(opts))
        self.gate = Gate(self.engine.options.resolution_ns, frozenset(self._currency))
        if state is not None:
            self.gate.restore(state.gate)
        self.gate.moved(self.engine.open_bucket)
        self._last_commit = time.monotonic()

    # -- the three moves -------------------------------------------------------------------
    def feed(self, trades: pa.Table, chain: pa.Table, spot: pa.Table) -> None:
        """Gates, records and feeds one batch (each table in the recorded schema)."""
        if self.exchange_ns is not None:
            cut = self._future_cut(trades, chain, spot)
            if cut is not None:
                trades, chain, spot = (self._not_ahead(k, t, cut) for k, t in zip(_KINDS, (trades, chain, spot)))
        if self.until_ns is not None:
            trades, chain, spot = (self._before_until(t) for t in (trades, chain, spot))
        trades = self.gate.trades(trades)
        tables = {}
        for kind, table in (("trades", trades), ("chain", chain), ("spot", spot)):
            keep, late = self.gate.split(table)
            self.recorder.late(kind, late)
            tables[kind] = _sorted(keep)
        if not any(t.num_rows for t in tables.values()):
            if self.until_seen:
                self.clock(self.until_ns)  # type: ignore[arg-type]
            return
        self.engine.update(*(t if t.num_rows else None for t in tables.values()))
        for kind, t in tables.items():
            self.recorder.fed(kind, t)
            self.counts[kind] += t.num_rows
        self._note_trades(tables["trades"])
        self.gate.moved(self.engine.open_bucket)
        for t in tables.values():  # the data's own time moves the reference for ``future`` rows too
            top = pc.max(pc.cast(t.column("timestamp"), pa.int64())).as_py() if t.num_rows else None
            if top is not None and self.exchange_ns is not None:
                self.see_exchange_clock(int(top))
        if self.until_seen:
            self.clock(self.until_ns)  # type: ignore[arg-type]

    def _future_cut(self, *tables: pa.Table) -> int | None:
        """The first time, in the batch's sorted times, more than ``max_ahead`` after the exchange's
        clock (its ``usOut``, or the latest row fed or before it in the batch): a jump no market
        makes. Rows from there on are set aside as ``future`` (recorded): one broken timestamp
        must not close every step up to it."""
        parts = [pc.cast(t.column("timestamp"), pa.int64()).drop_null().to_numpy() for t in tables if t.num_rows]
        if not parts:
            return None
        ts = np.unique(np.concatenate(parts))
        ref = np.maximum.accumulate(np.concatenate([[int(self.exchange_ns)], ts]))[:-1]  # type: ignore[arg-type]
        jump = np.flatnonzero(ts - ref > self.max_ahead_ns)
        return int(ts[jump[0]]) if len(jump) else None

    def _not_ahead(self, kind: str, table: pa.Table, cut: int) -> pa.Table:
        if table.num_rows == 0:
            return table
        ahead = pc.fill_null(pc.greater_equal(pc.cast(table.column("timestamp"), pa.int64()), cut), False)
        n = pc.sum(ahead).as_py() or 0
        if not n:
            return table
        self.counts["future"] += n
        self.recorder.future(kind, table.filter(ahead))
        return table.filter(pc.invert(ahead))

    def see_exchange_clock(self, ns: int) -> None:
        """The exchange's own clock (an answer's ``usOut``): the reference for ``future`` rows."""
        self.exchange_ns = ns if self.exchange_ns is None else max(self.exchange_ns, ns)

    def _before_until(self, table: pa.Table) -> pa.Table:
        """Rows stamped before ``until``; a later one only tells that ``until`` is final (it is
        left for the next run: trades come back from the history API, counted ``after_until``)."""
        if table.num_rows == 0:
            return table
        ts = pc.cast(table.column("timestamp"), pa.int64())
        after = pc.fill_null(pc.greater_equal(ts, self.until_ns), False)
        n = pc.sum(after).as_py() or 0
        if not n:
            return table
        self.counts["after_until"] += n
        self.until_seen = True
        return table.filter(pc.invert(after))

    def _note_trades(self, trades: pa.Table) -> None:
        if trades.num_rows == 0:
            return
        ms = pc.cast(trades.column("timestamp"), pa.int64()).to_numpy(zero_copy_only=False) // 1_000_000
        names = trades.column("instrument").to_pylist()
        for n, t in zip(names, ms):
            cur = self._currency.get((n or "").split("-", 1)[0].split("_", 1)[0].upper())
            if cur is not None and t > self.last_trade_ms.get(cur, -1):
                self.last_trade_ms[cur] = int(t)

    def clock(self, ns: int) -> None:
        """The exchange clock reached ``ns``: every step up to it is final (never beyond ``until``)."""
        if self.until_ns is not None and ns >= self.until_ns:
            ns = self.until_ns
        before = self.engine.open_bucket
        if before is None:
            return  # nothing fed yet: a clock would make the coming backfill late
        self.engine.advance(ns)
        if self.engine.open_bucket != before:
            self.counts["clock_moves"] += 1
        self.gate.moved(self.engine.open_bucket)

    def quarantine(self, text: str, reason: str) -> None:
        self.recorder.quarantine(text, reason)
        self.counts["quarantined"] += 1

    def due(self) -> bool:
        """Whether a commit is due: a step became final, or ``commit_seconds`` passed."""
        return self.engine.buffered_steps() > 0 or time.monotonic() - self._last_commit >= self.commit_seconds

    def commit(self) -> None:
        """Drains final steps; writes recorded parts, outputs, then the checkpoint, all under one number.

        A commit that fails half-way (a full disk) leaves the runner ``broken``: no
        further commit may vouch for its half-written parts; a restart resumes from the
        previous checkpoint and deletes them."""
        if self.broken:
            return
        self.broken = True
        part = self.engine.drain()
        self.seq += 1
        for kind, rows in self.engine.take_rejected().items():
            self.recorder.rejected(kind, rows)
        self.recorder.write(self.seq)
        failed, last = write_steps(self.out, part, self.seq, self.echo)
        self.counts["levels_failed"] += failed
        if last is not None:
            self.final_through = last
        ckpt.save(
            self.path,
            ckpt.LiveCheckpoint(
                self.fingerprint, self.seq, self.last_trade_ms, self.gate.state(), self.counts,
                self.final_through, self.engine.snapshot(),
            ),
        )  # fmt: skip
        self._last_commit = time.monotonic()
        self.broken = False
        if last is not None:
            self._refresh_page(part)

    def _refresh_page(self, part: GexResult) -> None:
        """``out/report.html`` over the window, after the checkpoint: the page is a view, so an
        error writing it is counted (``html_failed``) and never stops the run or a commit."""
        if self.page is None:
            return
        if not self.html_ready:
            self.counts["html_skipped"] += 1
            return
        try:
            self.page.add(part)
            if self.page.write(self.out) is not None:
                self.counts["html_written"] += 1
        except Exception:  # noqa: BLE001 - any failure of the view (disk, plotly, a page bug) is counted
            self.counts["html_failed"] += 1

    @property
    def summary_counts(self) -> dict[str, int]:
        """Every count: the runner's and the gate's (late, duplicate, other_asset)."""
        return {**self.counts, **self.gate.counts}

    def final(self, until_ns: int | None) -> bool:
        """Whether grid time ``until_ns`` is final (its bucket closed)."""
        ol = self.engine.open_bucket
        return until_ns is not None and ol is not None and ol > until_ns


def _json(obj: Any) -> bytes:
    import json

    return json.dumps(obj, sort_keys=True, default=str, indent=1).encode()
