"""flowgex: taker-flow gamma exposure (GEX) for crypto options.

Dealer inventory is rebuilt from the taker side of every trade (the maker is
assumed to be a dealer): I(i,t) = I₀(i) − Σ taker flow, on a time grid; GEX is
Black-76 gamma × inventory × multiplier × S² × 1%, summed by strike, by expiry
and in total. The engine is Rust; this package is its Python face.
"""

from __future__ import annotations

from typing import Any

from . import errors
from ._core import __version__
from .analytics import (
    Comparison,
    Levels,
    RegimeStudy,
    anchor_initial,
    censored_share,
    censoring,
    compare,
    filter_expiries,
    levels,
    levels_series,
    profile,
    regime_study,
)
from .classic import classic_gex
from .diagnostics import Diagnostics
from .engine import Engine, flow_gex
from .errors import (
    BadRowsError,
    FetchError,
    FlowgexError,
    GridLimitError,
    InstrumentError,
    InternalError,
    MissingSpotError,
    MissingVolError,
    MultiplierError,
    OptionError,
    ReadError,
    SchemaError,
    SnapshotError,
)
from .gamma import black76_gamma
from .greeks import GREEKS, black76_charm, black76_delta, black76_greeks, black76_vanna
from .instruments import Instrument, parse_instrument
from .io import (
    CboeChain,
    DeribitMessages,
    FetchSummary,
    channel_counts,
    excluded_counts,
    fetch_deribit_trades,
    read_arrow,
    read_cboe_quotedata,
    read_deribit_messages,
    read_deribit_tickers,
    read_deribit_trades,
    read_parquet,
    read_tardis_chain,
    read_tardis_trades,
)
from .live import LiveSummary, live
from .replaying import ReplaySummary, read_replay, replay
from .result import Book, GexResult
from .simulate import SimulatedMarket, simulate, simulate_chunks

__all__ = [
    "__version__",
    "black76_gamma",
    "black76_delta",
    "black76_vanna",
    "black76_charm",
    "black76_greeks",
    "GREEKS",
    "parse_instrument",
    "Instrument",
    "flow_gex",
    "Engine",
    "GexResult",
    "Book",
    "Diagnostics",
    "classic_gex",
    "profile",
    "levels",
    "Levels",
    "levels_series",
    "filter_expiries",
    "compare",
    "Comparison",
    "censoring",
    "anchor_initial",
    "censored_share",
    "regime_study",
    "RegimeStudy",
    "simulate",
    "simulate_chunks",
    "SimulatedMarket",
    "plot_strikes",
    "plot_heatmap",
    "plot_profile",
    "plot_regime",
    "write_html",
    "read_cboe_quotedata",
    "CboeChain",
    "errors",
    "FlowgexError",
    "InstrumentError",
    "SchemaError",
    "OptionError",
    "GridLimitError",
    "InternalError",
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
    "read_deribit_messages",
    "DeribitMessages",
    "channel_counts",
    "read_parquet",
    "read_arrow",
    "excluded_counts",
    "replay",
    "read_replay",
    "ReplaySummary",
    "fetch_deribit_trades",
    "FetchSummary",
    "live",
    "LiveSummary",
]

#: Charts load matplotlib (and the HTML report its page) on first use only: the engine does not need them.
_LAZY = {
    "plot_strikes": ".plot",
    "plot_heatmap": ".plot",
    "plot_profile": ".plot",
    "plot_regime": ".plot",
    "write_html": ".html",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
