"""A Parquet dataset of trades, encoded for one engine call.

``fg.flow_gex(path)`` hands the engine the whole dataset in one update, so the
result is exactly that of ``fg.flow_gex(fg.read_parquet(path))`` (one time
sort, one de-duplication over every row). Arrow's scanner decodes record
batches ahead in its own threads while each is made canonical. Files of at
least ``MIN_PART_ROWS`` rows on average: the batches reach the core as they
are (parts: numeric columns viewed in place, each batch's dictionary codes
renumbered through a small table), so no byte is copied after decoding and
peak memory is the decoded batches. Shorter files: each batch is encoded as
it arrives into one set of arrays sized from the files' footers (about 45
bytes a trade), so the many small batches are not held and copied together.

The engine names rejected rows by position; when there are any, those rows are
read again from the files (:meth:`DatasetTrades.take`), with the file each came
from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from . import _encode
from ._encode import encode_trades
from .errors import ReadError
from .io.parquet import parquet_dataset
from .schema import PARTS, canonical_trades

__all__ = ["DatasetTrades"]

#: The columns encoding reads (partition keys such as ``date`` are not materialised).
#: The scanner allocates from the system allocator: the batches it decodes are
#: kept (the engine reads them in place) while its temporaries are freed, and
#: Arrow's default mimalloc pool keeps freed pages resident. 10M trades, 2
#: threads: peak RSS 1.03 GB with the default pool, 0.75 GB with this one
#: (0.91 GB before batches were kept), the same time.
_SCAN: dict[str, Any] = {"memory_pool": pa.system_memory_pool()}
_READ = ("timestamp", "instrument", "side", "amount", "index_price", "iv", "trade_id")
#: Encoded trade columns of one value per row, by dtype (validity masks are ``<key>_valid``).
_ROW_ARRAYS = ("inst", "ts", "side", "amount", "index_price", "iv", "trade_id_int")


class _Columns:
    """The encoded columns of ``n`` rows, filled one encoded batch at a time."""

    def __init__(self, n: int, template: dict[str, Any]) -> None:
        self.n = n
        self.at = 0
        self.out: dict[str, Any] = {k: np.empty(n, dtype=v.dtype) for k, v in template.items() if k in _ROW_ARRAYS}
        self.by_name = template.get("names") is not None  # else the four-column form
        self.index: dict[Any, int] = {}  # instrument name (or parts tuple) -> dataset-wide code
        self.string_ids = "trade_id_offsets" in template
        self.id_offsets: list[np.ndarray] = []
        self.id_data: list[np.ndarray] = []
        self.id_bytes = 0

    def add(self, part: dict[str, Any]) -> None:
        m = len(part["ts"])
        lo, hi = self.at, self.at + m
        if hi > self.n:
            raise ReadError(f"flow_gex: the dataset holds more rows than its files' footers say ({self.n})")
        self._global_codes(part, self.out["inst"][lo:hi])
        for key in _ROW_ARRAYS[1:]:
            if key in self.out:
                self.out[key][lo:hi] = part[key]
        for key in [k for k in part if k.endswith("_valid")]:
            if key not in self.out:  # the first nulls: every other row is valid until a batch says not
                self.out[key] = np.ones(self.n, dtype=np.bool_)
            self.out[key][lo:hi] = part[key]
        if self.string_ids:
            offsets = part["trade_id_offsets"]  # m + 1 positions into the batch's data
            rebased = offsets - offsets[0] + self.id_bytes
            self.id_offsets.append(rebased[1:] if self.id_offsets else rebased)
            self.id_data.append(part["trade_id_data"][offsets[0] : offsets[-1]])
            self.id_bytes = int(rebased[-1])
        self.at = hi

    def lookup(self, part: dict[str, Any]) -> np.ndarray:
        """``[-1, dataset-wide code of each of the batch's codes]``: its names
        numbered in first-seen order, as one table's encoding numbers them."""
        if self.by_name:
            keys: list[Any] = part["names"]
        else:
            p = part["parts"]
            keys = list(zip(p["asset"], p["expiry"], p["strike"], p["kind"]))
        index = self.index
        return np.array([-1] + [index.setdefault(k, len(index)) for k in keys], dtype=np.int32)

    def _global_codes(self, part: dict[str, Any], out: np.ndarray) -> None:
        """The batch's instrument codes renumbered into the dataset-wide dictionary, into ``out``."""
        np.take(self.lookup(part), part["inst"] + 1, out=out)  # -1 (null) reads the leading -1

    def dictionary(self) -> dict[str, Any]:
        """The dataset-wide instrument dictionary (``names``, or ``parts`` for the four-column form)."""
        if self.by_name:
            return {"names": list(self.index)}
        keys = list(self.index)
        return {
            "names": None,
            "parts": {f: [k[i] for k in keys] for i, f in enumerate(("asset", "expiry", "strike", "kind"))},
        }

    def finish(self) -> dict[str, Any]:
        if self.at != self.n:
            raise ReadError(f"flow_gex: the dataset holds {self.at} rows, its files' footers say {self.n}")
        out = dict(self.out)
        out.update(self.dictionary())
        if self.string_ids:
            out["trade_id_offsets"] = np.concatenate(self.id_offsets or [np.zeros(1, np.int64)])
            out["trade_id_data"] = np.concatenate(self.id_data or [np.zeros(0, np.uint8)])
        return out


class DatasetTrades:
    """Trades in a Parquet file, directory (hive partitions) or glob, in the
    canonical schema; rows are numbered in the order ``fg.read_parquet`` reads them."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.dataset = parquet_dataset(source, what="flow_gex")

    def _batches(self, columns: list[str] | None = None) -> Iterator[tuple[pa.RecordBatch, str]]:
        try:
            for tagged in self.dataset.scanner(columns=columns, use_threads=True, **_SCAN).scan_batches():
                yield tagged.record_batch, tagged.fragment.path
        except (pa.ArrowInvalid, OSError) as exc:
            raise ReadError(f"flow_gex: cannot read {self.source} ({exc})") from exc

    def _count(self) -> int:
        try:
            return self.dataset.count_rows()  # from the footers
        except (pa.ArrowInvalid, OSError) as exc:
            raise ReadError(f"flow_gex: cannot read {self.source} ({exc})") from exc

    def _long_files(self) -> bool:
        """Whether the files hold ``MIN_PART_ROWS`` rows or more on average:
        taken as true without reading a footer when they average 256 KiB or
        more (a trade takes 10-30 bytes compressed), else counted from the
        footers. It decides how the rows are held, never what they give:
        encoding checks the batches' lengths again."""
        files = list(getattr(self.dataset, "files", []))
        try:
            if files and sum(os.path.getsize(f) for f in files) >= len(files) * 2**18:
                return True
        except OSError:
            pass
        return self._count() >= _encode.MIN_PART_ROWS * max(len(files), 1)

    def encode(self) -> dict[str, Any]:
        """The arrays :func:`flowgex._encode.encode_trades` makes of the whole dataset."""
        names = self.dataset.schema.names
        read = [c for c in (*_READ, *PARTS) if c in names and (c in _READ or "instrument" not in names)]
        template = encode_trades(canonical_trades(self.dataset.schema.empty_table().select(read)))
        if self._long_files():
            # Long batches: kept as they are, and encoded as one table of them.
            tables = [canonical_trades(batch) for batch, _ in self._batches(read) if batch.num_rows]
            if not tables:
                return template
            try:
                table = pa.concat_tables(tables)
            except pa.ArrowInvalid:  # files whose types differ (e.g. dictionary and plain names)
                table = pa.concat_tables(tables, promote_options="permissive")
            return encode_trades(table, chunks=True)
        cols = _Columns(self._count(), template)
        for batch, _ in self._batches(read):
            if batch.num_rows:
                cols.add(encode_trades(canonical_trades(batch)))
        return cols.finish()

    def take(self, rows: pa.Array) -> pa.Table:
        """The canonical rows at positions ``rows`` (ascending), each with its ``source_file``."""
        wanted = np.asarray(rows.to_numpy(zero_copy_only=False), dtype=np.int64)
        parts: list[pa.Table] = []
        start = 0
        for batch, path in self._batches():
            lo, hi = np.searchsorted(wanted, [start, start + batch.num_rows])
            if hi > lo:
                taken = canonical_trades(batch).take(pa.array(wanted[lo:hi] - start))
                if "source_file" not in taken.column_names:
                    taken = taken.append_column("source_file", pa.array([path] * taken.num_rows, pa.string()))
                parts.append(taken)
            start += batch.num_rows
        if not parts:
            return canonical_trades(self.dataset.schema.empty_table())
        return pa.concat_tables(parts, promote_options="permissive")
