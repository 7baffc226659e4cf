"""What traders act on, computed from a :class:`~flowgex.GexResult`: the spot
profile and gamma flip, walls and regime, their time series for backtests,
expiry filters, flow-vs-classic comparison, left-censoring flags, and the
regime study (does GEX predict volatility?)."""

from __future__ import annotations

from .censoring import anchor_initial, censored_share, censoring
from .compare import Comparison, compare
from .expiries import filter_expiries
from .levels import Levels, levels
from .profile import profile
from .regime import RegimeStudy, regime_study
from .series import levels_series

__all__ = [
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
]
