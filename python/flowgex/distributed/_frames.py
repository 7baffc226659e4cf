"""Dask glue: inputs as dask DataFrames, key discovery, and the shuffle to engines.

Every input row gets ``__row`` (its input partition and position, so input
order survives the shuffle), ``__key`` (its engine) and ``__part`` (the output
partition holding that engine). The shuffle is ``set_index`` with explicit
divisions, so output partition *i* of trades, chain and spot holds exactly the
rows with ``__part == i`` and the three line up by construction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._encode import encode_instruments as _instruments
from ..schema import as_table, canonical_chain, canonical_spot, canonical_trades
from ._inputs import ROW_BITS
from ._keys import CATCH_ALL, Partitioning, instruments_of, spot_asset

__all__ = ["to_ddf", "discover_part", "attach_part", "keyed", "assign_parts", "DISCOVER_META"]

_CANONICAL = {"trades": canonical_trades, "chain": canonical_chain, "spot": canonical_spot}


def to_ddf(obj: Any, *, name: str, partitions: int) -> dd.DataFrame | None:
    """A dask DataFrame from a dask DataFrame, a Parquet path, or any table flowgex accepts."""
    if obj is None:
        return None
    if isinstance(obj, dd.DataFrame):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        # Arrow-backed columns keep NaN apart from null, as pyarrow.parquet.read_table does.
        return dd.read_parquet(os.fspath(obj), dtype_backend="pyarrow")
    if isinstance(obj, pd.DataFrame):
        pdf = obj
    else:
        pdf = as_table(obj, name=name).to_pandas(types_mapper=pd.ArrowDtype)
    return dd.from_pandas(pdf, npartitions=max(1, min(partitions, len(pdf) // 50_000 + 1)), sort=False)


def _row_keys(pdf: pd.DataFrame, kind: str, part: Partitioning) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its key(s) and its asset. Spot rows get a list of keys (every engine of their asset)."""
    table = _CANONICAL[kind](pdf.drop(columns=[c for c in pdf.columns if str(c).startswith("__")]))
    if kind == "spot":
        assets = np.array([spot_asset(a) for a in table.column("asset").to_pylist()], dtype=object)
        keys = np.empty(len(assets), dtype=object)
        keys[:] = [part.asset_keys(a) for a in assets]
        return keys, assets
    out: dict[str, Any] = {}
    _instruments(table, out)
    insts = instruments_of(out)
    codes = np.asarray(out["inst"], dtype=np.int64)
    assets = np.array([i.asset if i else None for i in insts] + [None], dtype=object)[codes]
    return part.keys_of_codes(insts, codes), assets


def discover_part(pdf: pd.DataFrame, kind: str, part: Partitioning) -> pd.DataFrame:
    """Rows per (key, asset) in one input partition."""
    keys, assets = _row_keys(pdf, kind, part)
    if kind == "spot":
        keys = np.array([CATCH_ALL if a is None else a for a in assets], dtype=object)  # counted per asset
    frame = pd.DataFrame({"key": pd.Series(keys, dtype=object), "asset": pd.Series(assets, dtype=object)})
    frame["asset"] = frame["asset"].fillna("")
    return frame.groupby(["key", "asset"], sort=False).size().rename("n").reset_index().astype({"n": np.int64})


DISCOVER_META = pd.DataFrame(
    {"key": pd.Series([], dtype=object), "asset": pd.Series([], dtype=object), "n": np.zeros(0, np.int64)}
)


def attach_part(
    pdf: pd.DataFrame,
    kind: str,
    part: Partitioning,
    part_of: Mapping[str, int],
    partition_info: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Adds ``__row``, ``__key`` and ``__part``; spot rows are copied to every engine of their asset."""
    number = 0 if partition_info is None else int(partition_info["number"])
    keys, _ = _row_keys(pdf, kind, part)
    rows = (np.int64(number) << ROW_BITS) | np.arange(len(pdf), dtype=np.int64)
    if kind == "spot":
        counts = np.array([len(k) for k in keys], dtype=np.int64)
        pdf = pdf.iloc[np.repeat(np.arange(len(pdf)), counts)]
        rows = np.repeat(rows, counts)
        keys = np.array([k for ks in keys for k in ks], dtype=object)
    out = pdf.copy()
    out["__row"] = rows
    out["__key"] = pd.Series(keys, index=out.index, dtype=object)
    codes, uniques = pd.factorize(keys)
    out["__part"] = np.array([part_of[k] for k in uniques], dtype=np.int64)[codes]
    return out


def keyed(
    ddf: dd.DataFrame | None, kind: str, part: Partitioning, part_of: Mapping[str, int], n: int
) -> dd.DataFrame | None:
    """``ddf`` shuffled so that output partition *i* holds exactly the rows of the engines assigned to *i*."""
    if ddf is None:
        return None
    meta = ddf._meta.copy()
    meta["__row"] = np.zeros(0, np.int64)
    meta["__key"] = pd.Series([], dtype=object)
    meta["__part"] = np.zeros(0, np.int64)
    attached = ddf.map_partitions(attach_part, kind, part, dict(part_of), meta=meta)
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
