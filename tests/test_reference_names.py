"""The reference prints a strike in a name as the core does (Rust's ``{}`` for f64: the
shortest decimal that reads back as the same double, no exponent), so names agree even
for strikes above 2**53, where ``int(strike)`` shows digits the double does not hold."""

from __future__ import annotations

import pandas as pd
import pytest

import flowgex as fg
from flowgex.reference.instruments import strike_text


@pytest.mark.parametrize(
    ("strike", "text"),
    [
        (100000.0, "100000"),
        (0.625, "0d625"),
        (2.5, "2d5"),
        (1e-05, "0d00001"),
        (42336799360664968.0, "42336799360664970"),  # the double's shortest digits, not int()
        (1e20, "100000000000000000000"),
    ],
)
def test_strike_text(strike: float, text: str) -> None:
    assert strike_text(strike) == text


def test_reference_and_engine_name_a_huge_strike_alike() -> None:
    expiry = pd.Timestamp("2024-11-29 08:00", tz="UTC")
    trades = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp("2024-11-25 00:00", tz="UTC")],
            "asset": ["BTC"],
            "expiry": [expiry],
            "strike": [42336799360664968.0],
            "kind": ["C"],
            "side": ["buy"],
            "amount": [1.0],
            "index_price": [90_000.0],
            "iv": [0.5],
            "trade_id": ["t1"],
        }
    )
    names = [
        fg.flow_gex(trades, engine=e, end="2024-11-25 00:20").inventory(at="last")["instrument"].tolist()
        for e in ("rust", "reference")
    ]
    assert names[0] == names[1] == ["BTC-29NOV24-42336799360664970-C"]
