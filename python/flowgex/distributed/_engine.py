"""Every private name ``flowgex.distributed`` borrows from the engine and the encoder, in one place.

The workers drive the Rust core directly (an engine per asset, restored from
and saved to bytes between passes), so they need the engine's core builder
and its reject tables. When those get public names, only this file changes.
"""

from __future__ import annotations

from .._encode import NULL_TS, encode_chain, encode_initial, encode_spot, encode_trades, timestamps
from ..engine import _new_core as new_core
from ..engine import _reject_tables as reject_tables
from ..rejects import bad_rows_error

__all__ = [
    "NULL_TS",
    "bad_rows_error",
    "encode_chain",
    "encode_initial",
    "encode_spot",
    "encode_trades",
    "new_core",
    "reject_tables",
    "timestamps",
]
