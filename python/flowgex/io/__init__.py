"""Data in: venue readers (Tardis.dev CSV, Deribit API JSON, CBOE quote exports,
Parquet, Arrow streams), the input streams a replay reads (:mod:`.sources`), and
the Deribit downloader. The replay itself (above the engine) is
:mod:`flowgex.replaying`; nothing here imports the engine or the result.

Every reader returns the canonical Arrow tables of DESIGN section 2 and keeps
every row: bad values are left for the engine to reject with a reason, and
``source_file``/``source_row`` columns let errors name the file and line.
"""

from __future__ import annotations

from .cboe import CboeChain, read_cboe_quotedata
from .deribit import read_deribit_trades
from .deribit_ws import DeribitMessages, channel_counts, read_deribit_messages
from .exclude import excluded_counts
from .fetch import FetchSummary, fetch_deribit_trades
from .parquet import read_arrow, read_parquet
from .tardis import read_tardis_chain, read_tardis_trades
from .tickers import read_deribit_tickers

__all__ = [
    "read_tardis_trades",
    "read_tardis_chain",
    "read_deribit_trades",
    "read_deribit_tickers",
    "read_deribit_messages",
    "DeribitMessages",
    "channel_counts",
    "read_parquet",
    "read_arrow",
    "read_cboe_quotedata",
    "CboeChain",
    "excluded_counts",
    "fetch_deribit_trades",
    "FetchSummary",
]
