"""Canonical Arrow tables -> the numeric arrays the Rust core takes.

Strings cross into Rust once: the instrument column is dictionary-encoded here
(or its existing dictionary reused), and the core parses each unique name once.
Everything else travels as contiguous numpy arrays: int64 ns timestamps (NaT
for null), int32 dictionary codes (-1 for null), int8 sides (+1 buy, -1 sell,
0 unknown), float64 values with a separate validity mask where nulls mean "no
observation".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .schema import PARTS, uses_parts

__all__ = ["encode_trades", "encode_chain", "encode_spot", "encode_initial", "NULL_TS"]

NULL_TS = np.iinfo(np.int64).min


def _combined(col: pa.ChunkedArray) -> pa.Array:
    if col.num_chunks == 0:  # an empty table may carry no chunks at all
        return pa.array([], type=col.type)
    return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)


def _numpy(col: pa.ChunkedArray, dtype: Any) -> np.ndarray:
    """One contiguous numpy array: zero-copy for one chunk, else a single concatenation
    of the chunks' numpy views (Parquet datasets arrive in hundreds of chunks, where
    Arrow's combine_chunks is several times slower)."""
    if col.num_chunks == 1:
        return np.ascontiguousarray(col.chunk(0).to_numpy(zero_copy_only=False), dtype=dtype)
    if col.num_chunks == 0:
        return np.zeros(0, dtype=dtype)
    return np.concatenate([c.to_numpy(zero_copy_only=False) for c in col.chunks]).astype(dtype, copy=False)


def timestamps(col: pa.ChunkedArray) -> np.ndarray:
    """int64 nanoseconds, NULL_TS for null. Without nulls each chunk is viewed as
    int64 in place (no cast copy: on a fresh process every new byte costs a
    kernel page fault, a large share of encoding a big dataset)."""
    if col.null_count:
        return _numpy(pc.fill_null(pc.cast(col, pa.int64()), NULL_TS), np.int64)
    ints = pa.chunked_array([c.view(pa.int64()) for c in col.chunks], type=pa.int64())
    return _numpy(ints, np.int64)


def floats(col: pa.ChunkedArray) -> np.ndarray:
    """float64 values, NaN where null (required columns: null is simply bad)."""
    return _numpy(col, np.float64)


def optional_floats(out: dict[str, Any], key: str, table: pa.Table, column: str) -> None:
    """Values plus ``key_valid`` when the column has nulls; nothing when absent."""
    if column not in table.column_names:
        return
    col = table.column(column)
    out[key] = floats(col)
    if col.null_count:
        out[f"{key}_valid"] = _numpy(pc.is_valid(col), np.bool_)


def dictionary(col: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """int32 codes (-1 for null) and the unique strings they index."""
    if not pa.types.is_dictionary(col.type):
        arr = pc.dictionary_encode(_combined(col))
        codes = pc.fill_null(arr.indices, -1) if arr.indices.null_count else arr.indices
        values = [v if v is not None else "" for v in arr.dictionary.to_pylist()]
        return _numpy(pa.chunked_array([codes]), np.int32), values
    if col.num_chunks == 1:  # one record batch: its indices as they are, when its words are unique
        chunk = col.chunk(0)
        words = [v if v is not None else "" for v in chunk.dictionary.to_pylist()]
        if len(set(words)) == len(words):
            return _indices(chunk), words
    index: dict[str, int] = {}
    codes = _map_dictionary_chunks(col, lambda v: index.setdefault(v, len(index)), -1, np.int32)
    return codes, list(index)


def _indices(arr: pa.DictionaryArray) -> np.ndarray:
    """A dictionary array's indices as int32 (-1 for null): Arrow's buffer in place
    when there is no null and the indices are int32 already."""
    idx = arr.indices
    raw = (pc.fill_null(idx, -1) if idx.null_count else idx).to_numpy(zero_copy_only=False)
    return np.asarray(raw, dtype=np.int32)


def batch_codes(arrays: list[pa.Array]) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """Codes of record batches' dictionary columns without renumbering any row:
    per batch, its own indices (in place) and the lookup ``[-1, update code of
    each word]`` the core renumbers them through; and the update's names, in
    first-seen order over the batches' dictionaries (as :func:`dictionary`
    numbers a table's)."""
    words = pa.concat_arrays([a.dictionary for a in arrays])
    enc = pc.dictionary_encode(pc.fill_null(words, "") if words.null_count else words)
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    out = []
    at = 0
    for a in arrays:
        m = len(a.dictionary)
        out.append((_indices(a), np.concatenate([np.array([-1], np.int32), codes[at : at + m]])))
        at += m
    return out, enc.dictionary.to_pylist()


def _map_dictionary_chunks(col: pa.ChunkedArray, value_of: Any, null: int, dtype: Any) -> np.ndarray:
    """``value_of(string)`` for every row of a dictionary column, ``null`` for null.

    Dictionary chunks (one per Parquet file) are mapped chunk by chunk: each
    chunk's dictionary is small, so this is a numpy take per chunk straight
    into the output (no unification of the whole column, no intermediate codes).
    """
    out = np.empty(len(col), dtype=dtype)
    at = 0
    for chunk in col.chunks:
        words = chunk.dictionary.to_pylist()
        local = np.array([value_of(v if v is not None else "") for v in words] + [null], dtype=dtype)
        idx = chunk.indices
        raw = (pc.fill_null(idx, -1) if idx.null_count else idx).to_numpy(zero_copy_only=False)
        np.take(local, raw, out=out[at : at + len(raw)], mode="wrap")  # -1 (null) wraps to the trailing null
        at += len(raw)
    return out


def encode_instruments(table: pa.Table, out: dict[str, Any]) -> None:
    if not uses_parts(table):
        out["inst"], out["names"] = dictionary(table.column("instrument"))
        return
    # The four-column form (equity chains): factorise the tuples once.
    frame = pd.DataFrame(
        {
            "asset": table.column("asset").to_pylist(),
            "expiry": timestamps(table.column("expiry")),
            "strike": floats(table.column("strike")),
            "kind": table.column("kind").to_pylist(),
        }
    )
    keys = pd.MultiIndex.from_frame(frame.fillna({"asset": "", "kind": ""}))
    codes, uniques = keys.factorize()
    assets, expiries, strikes, kinds = (list(uniques.get_level_values(i)) for i in range(4))
    out["inst"] = np.ascontiguousarray(codes, dtype=np.int32)
    out["names"] = None
    out["parts"] = {
        "asset": [str(a) for a in assets],
        "expiry": [int(e) for e in expiries],
        "strike": [float(s) if s == s else -1.0 for s in strikes],
        "kind": [str(k) for k in kinds],
    }


def side_codes(col: pa.ChunkedArray) -> np.ndarray:
    """+1 for a taker buy, -1 for a taker sell, 0 for anything else (counted as unknown)."""
    if pa.types.is_integer(col.type):
        ints = pc.cast(col, pa.int64())
        v = _numpy(pc.fill_null(ints, 0) if col.null_count else ints, np.int64)
        return np.where(v == 1, 1, np.where(v == -1, -1, 0)).astype(np.int8)

    def code(v: str) -> int:
        return 1 if v.lower() == "buy" else -1 if v.lower() == "sell" else 0

    if pa.types.is_dictionary(col.type):
        return _map_dictionary_chunks(col, code, 0, np.int8)
    codes, values = dictionary(col)
    lookup = np.array([code(v) for v in values] + [0], dtype=np.int8)
    return np.ascontiguousarray(lookup[codes])  # code -1 (null) picks the trailing 0


def _trade_ids(table: pa.Table, out: dict[str, Any]) -> None:
    if "trade_id" not in table.column_names:
        return
    col = table.column("trade_id")
    if col.null_count:
        out["trade_id_valid"] = _numpy(pc.is_valid(col), np.bool_)
    if pa.types.is_integer(col.type):
        ints = pc.cast(col, pa.int64())
        out["trade_id_int"] = _numpy(pc.fill_null(ints, 0) if col.null_count else ints, np.int64)
        return
    arr = _combined(pc.cast(col, pa.large_string()))
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    # Arrow large_string buffers: [validity, int64 offsets, bytes], honouring the array offset.
    _, offsets, data = arr.buffers()
    offs = np.frombuffer(offsets, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    out["trade_id_offsets"] = np.ascontiguousarray(offs)
    out["trade_id_data"] = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)


#: Record batches at least this long on average are handed to the core as
#: they are (``chunks``); shorter ones are joined, where a copy costs less than
#: the per-part bookkeeping.
MIN_PART_ROWS = 4096


def _numeric_columns(table: pa.Table, out: dict[str, Any]) -> None:
    """The columns that travel as Arrow holds them: zero-copy views for a
    one-chunk table without nulls, else one copy."""
    out["ts"] = timestamps(table.column("timestamp"))
    out["amount"] = floats(table.column("amount"))
    optional_floats(out, "index_price", table, "index_price")
    optional_floats(out, "iv", table, "iv")
    _trade_ids(table, out)


def encode_trades(table: pa.Table, *, chunks: bool = False) -> dict[str, Any]:
    """The arrays of a trades table. With ``chunks``, a table of several record
    batches keeps them: ``out["chunks"]`` holds one dict of columns per batch,
    viewing Arrow's buffers in place (only the instrument and side codes are
    new arrays, 5 bytes a row instead of 45 — on a fresh process the kernel's
    page faults made that copy longer than the replay; issue 17)."""
    out: dict[str, Any] = {}
    batches = table.to_batches() if chunks else []
    if len(batches) < 2 or table.num_rows < MIN_PART_ROWS * len(batches):
        encode_instruments(table, out)
        out["side"] = side_codes(table.column("side"))
        _numeric_columns(table, out)
        return out
    names = [b.column(b.schema.get_field_index("instrument")) for b in batches] if not uses_parts(table) else []
    if names and all(pa.types.is_dictionary(a.type) for a in names):
        codes, out["names"] = batch_codes(names)
    else:  # strings, or the four-column form: the update's codes, sliced per batch
        encode_instruments(table, out)
        bounds = np.cumsum([0, *(b.num_rows for b in batches)])
        codes = [(out["inst"][lo:hi], None) for lo, hi in zip(bounds[:-1], bounds[1:])]
        del out["inst"]
    side = side_codes(table.column("side"))
    parts: list[dict[str, Any]] = []
    at = 0
    for batch, (inst, lut) in zip(batches, codes):
        n = batch.num_rows
        part = {"inst": inst, "inst_lut": lut, "side": side[at : at + n]}
        _numeric_columns(pa.Table.from_batches([batch]), part)
        parts.append(part)
        at += n
    out["chunks"] = parts
    return out


def encode_chain(table: pa.Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    encode_instruments(table, out)
    out["ts"] = timestamps(table.column("timestamp"))
    for c in ("mark_iv", "underlying_price", "open_interest", "gamma"):
        optional_floats(out, c, table, c)
    return out


def encode_spot(table: pa.Table) -> dict[str, Any]:
    codes, assets = dictionary(table.column("asset"))
    return {
        "ts": timestamps(table.column("timestamp")),
        "asset": codes,
        "assets": assets,
        "price": floats(table.column("price")),
    }


def encode_initial(table: pa.Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    encode_instruments(table, out)
    out["inventory"] = floats(table.column("inventory"))
    return out


__all__ += ["PARTS", "timestamps", "floats", "dictionary", "side_codes"]
