"""Every private name ``flowgex.distributed`` borrows from the engine and the encoder, in one place.

The workers drive the Rust core directly (an engine per asset, restored from
and saved to bytes between passes), so they need the engine's core builder
and its reject tables. When those get public names, only this file changes.
"""

from __future__ import annotations

from .. import _core
from .._encode import NULL_TS, encode_chain, encode_initial, encode_spot, encode_trades, timestamps
from .._engine_core import core_engine as new_core
from ..rejects import bad_rows_error, reject_tables

__all__ = [
    "NULL_TS",
    "bad_rows_error",
    "encode_chain",
    "encode_initial",
    "encode_spot",
    "encode_trades",
    "new_core",
    "reject_tables",
    "restore_core",
    "timestamps",
]

restore_core = _core.CoreEngine.restore
