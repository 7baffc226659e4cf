"""A tiny deterministic table of BTC option trades, built in (no files, no network).

Only ``benches/test_engine_vs_reference.py`` uses it (a small input both the
Rust engine and the pure-Python reference finish quickly); ``python -m flowgex``
is the command line, and :func:`flowgex.simulate` is the full simulated market
(with chain and spot) for everything else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["example_trades"]


def example_trades(n: int = 2_000, seed: int = 7) -> pd.DataFrame:
    """``n`` taker trades over one day on BTC options around a 96,000 spot."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-12-02T00:00:00Z")
    spot = 96_000 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    strikes = np.array([90_000, 94_000, 96_000, 98_000, 100_000, 105_000])
    expiries = ["6DEC24", "27DEC24"]
    k = rng.integers(0, len(strikes), n)
    kind = np.where(rng.random(n) < 0.55, "C", "P")
    exp = np.array(expiries)[rng.integers(0, 2, n)]
    # Takers buy calls above spot and sell puts below it more often than not.
    buy = np.where(kind == "C", rng.random(n) < 0.62, rng.random(n) < 0.42)
    return pd.DataFrame(
        {
            "timestamp": t0 + pd.to_timedelta(np.sort(rng.integers(0, 86_400_000, n)), unit="ms"),
            "instrument": [f"BTC-{e}-{s}-{c}" for e, s, c in zip(exp, strikes[k], kind)],
            "side": np.where(buy, "buy", "sell"),
            "amount": np.round(rng.lognormal(0.0, 1.0, n), 1) + 0.1,
            "index_price": spot,
            "iv": 0.5 + 0.1 * np.abs(np.log(strikes[k] / spot)) * 10,
            "trade_id": np.arange(n),
        }
    )
