"""Every private name ``flowgex.distributed`` borrows from the engine, the encoder and the result, in one place.

The workers drive the Rust core directly (an engine per asset, restored from
and saved to bytes between passes), so they need the engine's core builder
and its reject tables; concatenating results needs a result's raw columns.
When those get public names, only this file changes.
"""

from __future__ import annotations

from typing import Any

from .. import _core
from .._encode import NULL_TS, encode_chain, encode_initial, encode_spot, encode_trades, timestamps
from .._engine_core import core_engine as new_core
from ..rejects import bad_rows_error, reject_tables
from ..result import GexResult

__all__ = [
    "NULL_TS",
    "bad_rows_error",
    "encode_chain",
    "encode_initial",
    "encode_spot",
    "encode_trades",
    "new_core",
    "raw_columns",
    "reject_tables",
    "restore_core",
    "timestamps",
]

restore_core = _core.CoreEngine.restore


def raw_columns(res: GexResult) -> tuple[dict[str, Any], dict[str, Any]]:
    """A result's columns ("inventory.time", ...) and registry, as the core handed them over."""
    core = {f"{table}.{c}": v for table, cols in res._t.items() for c, v in cols.items()}
    quotes = [_core.parse_instrument(n)[1] for n in res._inst["name"]]
    return core, {"assets": list(res._assets), **res._inst, "quote": quotes}
