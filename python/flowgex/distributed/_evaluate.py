"""Pass 2 on the workers: replay each engine's accepted rows and drain the evaluated steps.

Only rows the validation pass accepted are fed (so a chunked replay cannot
judge them differently), with the global ``start`` and the clock tick at the
period's last grid time; the engine's committed steps are drained and its
snapshot kept for the next period. A missing volatility or price stops one
machine at the first (time, option) it meets; each engine reports its own
first one, and the driver raises the earliest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import _core
from .._encode import encode_initial
from .._engine_core import core_engine as _new_core
from ..errors import MissingDataError
from ..options import EngineOptions
from ._inputs import TABLES, encode_all, key_inputs, split_by_key, without_tick
from ._keys import canonical_key, parse_name

__all__ = ["KeyOutput", "evaluate_part"]

_ERROR_AT = re.compile(r" for (\S+) at (\S+?):")


@dataclass
class KeyOutput:
    """One key's evaluated steps (the core's drained columns) and its new engine state."""

    blob: bytes = b""
    core: dict[str, np.ndarray] = field(default_factory=dict)
    registry: dict[str, Any] = field(default_factory=dict)
    error: Exception | None = None
    error_order: tuple[Any, ...] = ()
    rejected: int = 0


def evaluate_part(
    frames: tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None],
    *,
    keys: dict[str, bytes | None],
    seeds: dict[str, pa.Table],
    opts: EngineOptions,
    drop: dict[str, np.ndarray],
    before: int | None,
    tick: int | None,
) -> dict[str, KeyOutput]:
    """Replays the accepted rows of every key of one partition and drains the evaluated steps."""
    parts = {name: split_by_key(f, name) for name, f in zip(TABLES, frames)}
    out: dict[str, KeyOutput] = {}
    for key, blob in keys.items():
        tables, _, _ = key_inputs(parts, key, drop, before)
        out[key] = _evaluate_key(tables, blob=blob, seed=seeds.get(key), opts=opts, tick=tick)
    return out


def _evaluate_key(
    tables: dict[str, pa.Table | None],
    *,
    blob: bytes | None,
    seed: pa.Table | None,
    opts: EngineOptions,
    tick: int | None,
) -> KeyOutput:
    if blob:
        core = _core.CoreEngine.restore(blob, threads=opts.threads)
    else:
        core = _new_core(opts)
        if seed is not None and seed.num_rows:
            core.seed(encode_initial(seed))
    enc = encode_all(tables, tick)
    try:
        report = core.update(enc["trades"], enc["chain"], enc["spot_with_tick"], strict=False)
    except MissingDataError as exc:
        return KeyOutput(error=exc, error_order=_error_order(exc))
    n_spot = 0 if tables["spot"] is None else tables["spot"].num_rows
    drained = {k: np.asarray(v) for k, v in core.drain().items()}
    return KeyOutput(
        blob=bytes(core.snapshot()),
        core=drained,
        registry=dict(core.registry()),
        rejected=len(without_tick(report, n_spot)["row"]),
    )


def _error_order(exc: Exception) -> tuple[Any, ...]:
    """(time, canonical instrument) of a missing-data error: one machine raises the earliest."""
    m = _ERROR_AT.search(str(exc))
    if m is None:
        return (np.iinfo(np.int64).max,)
    inst = parse_name(m.group(1))
    when = int(pd.Timestamp(m.group(2)).value)
    return (when, canonical_key(inst) if inst else ())
