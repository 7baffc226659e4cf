"""A result without any grid time (every row rejected) gives empty tables with
the usual columns and dtypes, at "last", at a timestamp or for every time,
instead of raising (issue 11)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import flowgex as fg

T0 = pd.Timestamp("2024-12-01T00:00:00Z")


def trades(instrument: str, side: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [T0, T0 + pd.Timedelta("1min")],
            "instrument": [instrument, "BTC-27DEC24-100000-P"],
            "side": [side, "hold"],
            "amount": [1.0, 2.0],
            "index_price": [96_000.0, 96_000.0],
            "iv": [0.5, 0.5],
        }
    )


def results() -> list[tuple[fg.GexResult, fg.GexResult]]:
    """(all rows rejected, a normal result of the same kind) for each engine and classic."""
    out = []
    for engine in ("rust", "reference"):
        empty = fg.flow_gex(trades("nonsense", "buy"), errors="quarantine", engine=engine)
        full = fg.flow_gex(trades("BTC-27DEC24-100000-C", "buy").iloc[[0]], engine=engine)
        out.append((empty, full))
    chain = pd.DataFrame(
        {
            "timestamp": [T0, T0],
            "instrument": ["BTC-27DEC24-100000-C", "nonsense"],
            "mark_iv": [0.5, 0.5],
            "underlying_price": [96_000.0, 96_000.0],
            "open_interest": [-1.0, 1.0],
        }
    )
    out.append((fg.classic_gex(chain, errors="quarantine"), fg.classic_gex(chain.assign(open_interest=1.0).iloc[[0]])))
    return out


@pytest.mark.parametrize("at", ["last", None, T0, "2030-01-01"])
def test_tables_of_an_empty_result_are_empty_with_the_usual_columns(at):
    for empty, full in results():
        assert len(empty.times) == 0 or empty.method == "classic"
        for name in ("inventory", "by_strike", "by_expiry"):
            got = getattr(empty, name)(at=at)
            want = getattr(full, name)(at="last")
            assert len(got) == 0, (empty.method, name)
            assert list(got.columns) == list(want.columns)
            assert got.dtypes.to_dict() == want.dtypes.to_dict(), (empty.method, name)
        got, want = empty.total(), full.total()
        assert len(got) == 0 and got.dtypes.to_dict() == want.dtypes.to_dict()
        arrow = empty.to_arrow(at=at)
        assert arrow.num_rows == 0 and arrow.schema == full.to_arrow(at="last").schema


def test_every_row_was_rejected_and_counted():
    for empty, _ in results():
        d = empty.diagnostics
        rejected = d.rejected if empty.method != "classic" else d.chain_rejected
        table = "trades" if empty.method != "classic" else "chain"
        assert sum(rejected.values()) == empty.diagnostics.rejected_rows[table].num_rows == 2
        assert isinstance(empty.diagnostics.rejected_rows[table], pa.Table)


def test_a_bad_at_still_raises_on_an_empty_result():
    empty, _ = results()[0]
    with pytest.raises(fg.OptionError, match="at"):
        empty.inventory(at="yesterday-ish")
