"""A time-ordered, resumable merge of many streams, cut into chunks.

Years of data come as many files: one per day (Tardis), per asset and day
(Parquet datasets), per page (Deribit JSON). Files may overlap in time (BTC and
ETH of the same day), so they are merged, not concatenated. Streams are ranked
by their first timestamp (then their order in the input), opened only when the
merge reaches that time (a few files open at once, not thousands), and merged
row by row in the order of the key

    (effective time, stream rank, row number in the stream)

where a row's effective time is the running maximum of its stream's timestamps
(its own time when the file is in order; a row that is out of order in its file
keeps its place after its predecessor, and the engine calls it ``late`` if its
bucket has closed). That key is a total order fixed by the data alone, not by
how files are read in batches, and the rows taken so far are always a prefix of
each stream. So a position is just "rows consumed per stream": after a crash the
same streams are re-opened, those rows skipped, and the merge continues exactly
as it would have.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..io.sources import Stream, normalize

__all__ = ["Merger", "first_time", "NO_TIME"]

NO_TIME = int(np.iinfo(np.int64).min)
_END = int(np.iinfo(np.int64).max)


def _times(table: pa.Table) -> np.ndarray:
    ints = pc.cast(table.column("timestamp"), pa.int64()).fill_null(NO_TIME)
    return np.asarray(ints.to_numpy(), dtype=np.int64)


def _effective(table: pa.Table, running: int) -> np.ndarray:
    ts = _times(table)
    if not len(ts):
        return ts
    return np.maximum.accumulate(np.maximum(ts, running)) if running != NO_TIME else np.maximum.accumulate(ts)


def first_time(stream: Stream) -> int | None:
    """The first row's time (NO_TIME when null), or None for an empty stream."""
    if not stream.reopenable:
        return NO_TIME
    first = stream.peek()
    return None if first is None else int(_times(first)[0])


@dataclass
class _Open:
    rank: int
    it: Iterator[pa.Table]
    table: pa.Table | None = None
    eff: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    running: int = NO_TIME
    done: bool = False

    def read(self) -> None:
        """Appends the next non-empty table of the stream (or marks it done)."""
        for t in self.it:
            if not t.num_rows:
                continue
            eff = _effective(t, self.running)
            self.running = int(eff[-1])
            t = normalize(t)
            if self.table is None or self.table.num_rows == 0:
                self.table, self.eff = t, eff
            else:
                self.table = pa.concat_tables([self.table, t], promote_options="permissive")
                self.eff = np.concatenate([self.eff, eff])
            return
        self.done = True

    def promise(self) -> int:
        """No row not yet read can have an effective time below this."""
        return _END if self.done else self.running

    def pop_before(self, bound: int) -> tuple[pa.Table, np.ndarray] | None:
        if self.table is None:
            return None
        n = len(self.eff) if bound == _END else int(np.searchsorted(self.eff, bound, side="left"))
        if n == 0:
            return None
        head, self.table = self.table.slice(0, n), self.table.slice(n)
        eff, self.eff = self.eff[:n], self.eff[n:]
        return head, eff


class Merger:
    """Merges ``streams`` (already ranked) from per-stream positions ``consumed``."""

    def __init__(self, streams: Sequence[Stream], first: Sequence[int | None], consumed: Sequence[int]) -> None:
        self.streams = list(streams)
        self.first = list(first)
        self.consumed = [int(c) for c in consumed]
        self._pending = [r for r, f in enumerate(self.first) if f is not None]
        self._open: list[_Open] = []
        self._out: list[tuple[pa.Table, np.ndarray, np.ndarray]] = []
        self._out_rows = 0

    @classmethod
    def start(cls, streams: Sequence[Stream]) -> Merger:
        """A fresh merge: streams ranked by (first time, input order); empty ones kept, never opened."""
        first = [first_time(s) for s in streams]
        order = sorted(range(len(streams)), key=lambda i: (first[i] is None, first[i] or 0, i))
        return cls([streams[i] for i in order], [first[i] for i in order], [0] * len(streams))

    # -- the merge ----------------------------------------------------------
    def _open_stream(self, rank: int) -> None:
        o = _Open(rank, self.streams[rank].open())
        skip = self.consumed[rank]
        while skip > 0 and not o.done:
            o.read()
            n = 0 if o.table is None else o.table.num_rows
            drop = min(n, skip)
            if drop:
                o.table, o.eff = o.table.slice(drop), o.eff[drop:]  # type: ignore[union-attr]
                skip -= drop
        self._open.append(o)

    def _first_pending(self) -> int:
        first = self.first[self._pending[0]]
        assert first is not None  # empty streams are never pending
        return first

    def _step(self) -> bool:
        """Moves the next merged rows to the output; False once every stream is exhausted."""
        self._open = [o for o in self._open if not (o.done and (o.table is None or o.table.num_rows == 0))]
        low = min((o.promise() for o in self._open), default=_END)
        while self._pending and (not self._open or self._first_pending() <= low):
            self._open_stream(self._pending.pop(0))
            low = min(low, self._open[-1].promise())
        bound = min(low, self._first_pending() if self._pending else _END)
        heads = [(o.rank, h) for o in self._open if (h := o.pop_before(bound)) is not None]
        if heads:
            self._emit(heads)
            return True
        if bound == _END and not self._pending:
            return False
        for o in self._open:
            if not o.done and o.promise() == bound:
                o.read()
        return True

    def _emit(self, heads: list[tuple[int, tuple[pa.Table, np.ndarray]]]) -> None:
        if len(heads) == 1:
            rank, (table, eff) = heads[0]
            ranks = np.full(len(eff), rank, dtype=np.int32)
        else:  # open streams are in rank order: a stable sort on time gives (time, rank, row)
            heads.sort(key=lambda h: h[0])
            effs = np.concatenate([e for _, (_, e) in heads])
            ranks = np.concatenate([np.full(len(e), r, dtype=np.int32) for r, (_, e) in heads])
            order = np.argsort(effs, kind="stable")
            table = pa.concat_tables([t for _, (t, _) in heads], promote_options="permissive").take(pa.array(order))
            eff, ranks = effs[order], ranks[order]
        self._out.append((table, eff, ranks))
        self._out_rows += len(eff)

    def _last_eff(self) -> int | None:
        return int(self._out[-1][1][-1]) if self._out else None

    # -- chunks -------------------------------------------------------------
    def cut_time(self, n: int) -> int | None:
        """The effective time of the n-th row still to come, or None if fewer remain."""
        while self._out_rows < n and self._step():
            pass
        if self._out_rows < n:
            return None
        seen = 0
        for _, eff, _ in self._out:
            if seen + len(eff) >= n:
                return int(eff[n - 1 - seen])
            seen += len(eff)
        raise AssertionError("unreachable")

    def take_through(self, bound: int | None) -> pa.Table | None:
        """Removes and returns every row with effective time <= bound (all rows if None)."""
        while True:
            last = self._last_eff()
            if bound is not None and last is not None and last > bound:
                break
            if not self._step():
                break
        taken: list[pa.Table] = []
        ranks: list[np.ndarray] = []
        while self._out:
            table, eff, rank = self._out[0]
            n = len(eff) if bound is None else int(np.searchsorted(eff, bound, side="right"))
            if n == 0:
                break
            taken.append(table.slice(0, n))
            ranks.append(rank[:n])
            if n == len(eff):
                self._out.pop(0)
            else:
                self._out[0] = (table.slice(n), eff[n:], rank[n:])
                break
        if not taken:
            return None
        counts = np.bincount(np.concatenate(ranks), minlength=len(self.streams))
        for r in np.flatnonzero(counts):
            self.consumed[r] += int(counts[r])
        self._out_rows -= sum(t.num_rows for t in taken)
        return taken[0] if len(taken) == 1 else pa.concat_tables(taken, promote_options="permissive")
