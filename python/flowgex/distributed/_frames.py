"""Dask glue: inputs as dask DataFrames, key discovery, and the shuffle to engines.

Every input row gets ``__row`` (its input partition and position, so input
order survives the shuffle), ``__key`` (its engine: the asset) and ``__part``
(the output partition holding that engine). The shuffle is ``set_index`` with
explicit divisions, so output partition *i* of trades, chain and spot holds
exactly the rows with ``__part == i`` and the three line up by construction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa

from ..schema import as_table, canonical_chain, canonical_spot, canonical_trades
from ._engine import encode_chain, encode_spot, encode_trades
from ._keys import row_keys

__all__ = ["CANONICAL", "ROW_BITS", "TABLES", "to_ddf", "discover_part", "keyed", "assign_parts", "DISCOVER_META"]

TABLES = ("trades", "chain", "spot")
CANONICAL = {"trades": canonical_trades, "chain": canonical_chain, "spot": canonical_spot}
_ENCODE = {"trades": encode_trades, "chain": encode_chain, "spot": encode_spot}
#: ``__row`` = input partition << ROW_BITS | row within it: input order, without a pass to count rows first.
ROW_BITS = 40


def to_ddf(obj: Any, *, name: str, partitions: int) -> dd.DataFrame | None:
    """A dask DataFrame from a dask DataFrame, a Parquet path, or any table flowgex accepts."""
    if obj is None:
        return None
    if isinstance(obj, dd.DataFrame):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        # Arrow-backed columns keep NaN apart from null, as pyarrow.parquet.read_table does.
        return dd.read_parquet(os.fspath(obj), dtype_backend="pyarrow")
    pdf = obj if isinstance(obj, pd.DataFrame) else as_table(obj, name=name).to_pandas(types_mapper=pd.ArrowDtype)
    return dd.from_pandas(pdf, npartitions=max(1, min(partitions, len(pdf) // 50_000 + 1)), sort=False)


def canonical(pdf: pd.DataFrame, kind: str) -> pa.Table:
    """A partition (without the helper ``__`` columns) as a canonical table."""
    return CANONICAL[kind](pdf.drop(columns=[c for c in pdf.columns if str(c).startswith("__")]))


def _keys(pdf: pd.DataFrame, kind: str) -> np.ndarray:
    return row_keys(_ENCODE[kind](canonical(pdf, kind)))


def discover_part(pdf: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Rows per key in one input partition."""
    keys = pd.Series(_keys(pdf, kind), dtype=object)
    return keys.value_counts(sort=False).rename_axis("key").rename("n").reset_index().astype({"n": np.int64})


DISCOVER_META = pd.DataFrame({"key": pd.Series([], dtype=object), "n": np.zeros(0, np.int64)})


def _attach(
    pdf: pd.DataFrame, kind: str, part_of: Mapping[str, int], partition_info: dict[str, Any] | None = None
) -> pd.DataFrame:
    number = 0 if partition_info is None else int(partition_info["number"])
    keys = _keys(pdf, kind)
    out = pdf.copy()
    out["__row"] = (np.int64(number) << ROW_BITS) | np.arange(len(pdf), dtype=np.int64)
    out["__key"] = pd.Series(keys, index=out.index, dtype=object)
    codes, uniques = pd.factorize(keys)
    out["__part"] = np.array([part_of[k] for k in uniques], dtype=np.int64)[codes]
    return out


def keyed(ddf: dd.DataFrame, kind: str, part_of: Mapping[str, int], n: int) -> dd.DataFrame:
    """``ddf`` shuffled so that output partition *i* holds exactly the rows of the engines assigned to *i*."""
    meta = ddf._meta.copy()
    meta["__row"] = np.zeros(0, np.int64)
    meta["__key"] = pd.Series([], dtype=object)
    meta["__part"] = np.zeros(0, np.int64)
    attached = ddf.map_partitions(_attach, kind, dict(part_of), meta=meta)
    return attached.set_index("__part", divisions=list(range(n + 1)), sort=True)


def assign_parts(weights: Mapping[str, int], n: int) -> dict[str, int]:
    """Keys to ``n`` output partitions, heaviest first onto the lightest (LPT), deterministically."""
    load = [0] * n
    part_of: dict[str, int] = {}
    for key in sorted(weights, key=lambda k: (-weights[k], k)):
        i = min(range(n), key=lambda j: (load[j], j))
        part_of[key] = i
        load[i] += weights[key] + 1
    return part_of
