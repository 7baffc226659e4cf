"""What every peer shares: the job's constants and the shape of its answer.

Every peer does the same job (DESIGN section 1): bucket the trades on the
10-minute grid, net taker flow per (instrument, bucket), dealer inventory
= −cumulative flow, a dense grid (every instrument live from its first trade's
bucket to its expiry), S = the asset's latest index price and σ = the
instrument's latest iv strictly before t, Black-76 gamma, GEX = Γ·I·m·S²·1%;
then totals by (asset, time) and GEX by strike at the last grid time.

Each peer returns a :class:`PeerOutput` in pandas (converted outside the timed
region when the peer's native result is polars or Arrow). Besides the sums the
peers also return Σ|GEX| of every row: the scale against which a sum's
agreement is judged (a sum is only as exact as the sum of its terms).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = [
    "MEM_LIMIT_ENV",
    "RES_NS",
    "YEAR_NS",
    "EXPIRY_OFFSET_NS",
    "MULTIPLIERS",
    "COLUMNS",
    "PEER_COLUMNS",
    "PeerOutput",
]

#: The harness's RSS limit for a peer's process, in GB (a peer that can budget memory reads it).
MEM_LIMIT_ENV = "FLOWGEX_PEERS_MEM_LIMIT_GB"
#: The grid resolution Δ: 10 minutes in ns.
RES_NS = 600 * 10**9
#: T is measured in years of 365 days.
YEAR_NS = 365 * 86_400 * 10**9
#: Deribit options expire at 08:00 UTC on the date in their name.
EXPIRY_OFFSET_NS = 8 * 3600 * 10**9
#: Contract multipliers (underlying units per contract) on Deribit.
MULTIPLIERS = {"BTC": 1.0, "ETH": 1.0, "SOL": 10.0, "XRP": 1000.0}
#: The canonical trades columns in the dataset (what flowgex reads).
COLUMNS = ["timestamp", "instrument", "side", "amount", "index_price", "iv", "trade_id"]
#: What the other peers need (trade ids are unique in the dataset; only flowgex checks them).
PEER_COLUMNS = ["timestamp", "instrument", "side", "amount", "index_price", "iv"]


@dataclass
class PeerOutput:
    """One peer's answer.

    ``total``: asset (str), time (int64 ns), gex, gex_abs (Σ|GEX| of the terms);
    rows may be missing where the total is exactly 0 (nothing live).
    ``by_strike``: asset, strike, gex, gex_abs at the last grid time ``last`` (ns).
    """

    total: pd.DataFrame
    by_strike: pd.DataFrame
    last: int
