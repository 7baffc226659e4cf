"""The flowgex exception hierarchy.

Every error flowgex raises is a :class:`FlowgexError`. Each also subclasses the
built-in a caller would expect (``ValueError`` for bad values, ``TypeError``
for wrong kinds of input), so ``except ValueError`` keeps working. The Rust
core maps each of its error variants onto exactly one of these classes.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FlowgexError",
    "InstrumentError",
    "SchemaError",
    "OptionError",
    "GridLimitError",
    "InternalError",
    "MultiplierError",
    "BadRowsError",
    "MissingDataError",
    "MissingVolError",
    "MissingSpotError",
    "SnapshotError",
    "ReadError",
    "FetchError",
]


class FlowgexError(Exception):
    """Base class of every flowgex error."""


class InstrumentError(FlowgexError, ValueError):
    """An instrument name (or asset/expiry/strike/kind row) that cannot be parsed."""


class SchemaError(FlowgexError, TypeError):
    """An input that is not a table, lacks a required column or has the wrong type."""


class OptionError(FlowgexError, ValueError):
    """A keyword option outside its domain (unit, resolution, start/end, threads...)."""


class GridLimitError(OptionError):
    """A run whose grid (steps × live options) would exceed ``grid_limit``: the
    message names the time span and the remedies (start/end, keep_*="last",
    chunks, quarantine, a larger limit)."""


class InternalError(FlowgexError, RuntimeError):
    """A bug inside flowgex's core, caught at the boundary instead of crashing."""


class MultiplierError(FlowgexError, ValueError):
    """An asset with no contract multiplier: pass ``multipliers={"ASSET": m}``."""


class BadRowsError(FlowgexError, ValueError):
    """Bad input rows under ``errors="raise"``.

    ``rejected`` holds the offending rows with ``row`` and ``reason`` columns
    (a ``pyarrow.Table`` per input table); ``counts`` maps reason -> rows.
    """

    def __init__(
        self, message: str, *, rejected: dict[str, Any] | None = None, counts: dict[str, int] | None = None
    ) -> None:
        super().__init__(message)
        self.rejected = rejected or {}
        self.counts = counts or {}


class MissingDataError(FlowgexError, ValueError):
    """A live instrument without the data its gamma needs.

    ``instrument`` (its name) and ``time_ns`` (the grid time, ns since the epoch)
    say where, so a caller that runs several engines can pick the earliest
    without parsing the message; both are None when unknown.
    """

    instrument: str | None = None
    time_ns: int | None = None


class MissingVolError(MissingDataError):
    """No volatility for a live instrument under ``missing_vol="error"``."""


class MissingSpotError(MissingDataError):
    """No underlying price for a live instrument under ``missing_spot="error"``."""


class SnapshotError(FlowgexError, ValueError):
    """A snapshot that cannot be restored (foreign, corrupt or from another format version)."""


class ReadError(FlowgexError, ValueError):
    """A file that cannot be read as the data it claims to be: empty, truncated
    (a cut gzip stream or CSV line), not JSON, or a venue error response. The
    message names the file (and the line when known)."""


class FetchError(FlowgexError, RuntimeError):
    """A download that failed after its retries (network, rate limits, server
    errors) or that the venue refused. What was fetched so far is kept: run
    again to resume."""
