"""flowgex: taker-flow gamma exposure (GEX) for crypto options.

Dealer inventory is rebuilt from the taker side of every trade (the maker is
assumed to be a dealer): I(i,t) = I₀(i) − Σ taker flow, on a time grid; GEX is
Black-76 gamma × inventory × multiplier × S² × 1%, summed by strike, by expiry
and in total. The engine is Rust; this package is its Python face.
"""

from __future__ import annotations

from . import errors
from ._core import __version__
from .classic import classic_gex
from .diagnostics import Diagnostics
from .engine import Engine, flow_gex
from .errors import (
    BadRowsError,
    FetchError,
    FlowgexError,
    InstrumentError,
    MissingSpotError,
    MissingVolError,
    MultiplierError,
    OptionError,
    ReadError,
    SchemaError,
    SnapshotError,
)
from .gamma import black76_gamma
from .instruments import Instrument, parse_instrument
from .io import (
    FetchSummary,
    ReplaySummary,
    excluded_counts,
    fetch_deribit_trades,
    read_arrow,
    read_deribit_tickers,
    read_deribit_trades,
    read_parquet,
    read_replay,
    read_tardis_chain,
    read_tardis_trades,
    replay,
)
from .result import Book, GexResult

__all__ = [
    "__version__",
    "black76_gamma",
    "parse_instrument",
    "Instrument",
    "flow_gex",
    "Engine",
    "GexResult",
    "Book",
    "Diagnostics",
    "classic_gex",
    "errors",
    "FlowgexError",
    "InstrumentError",
    "SchemaError",
    "OptionError",
    "MultiplierError",
    "BadRowsError",
    "MissingVolError",
    "MissingSpotError",
    "SnapshotError",
    "ReadError",
    "FetchError",
    "read_tardis_trades",
    "read_tardis_chain",
    "read_deribit_trades",
    "read_deribit_tickers",
    "read_parquet",
    "read_arrow",
    "excluded_counts",
    "replay",
    "read_replay",
    "ReplaySummary",
    "fetch_deribit_trades",
    "FetchSummary",
]
