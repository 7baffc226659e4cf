"""The data-in API: exported names, keyword-only options, docstrings."""

from __future__ import annotations

import inspect

import pytest

import flowgex as fg

FUNCTIONS = {
    "read_tardis_trades": ["source"],
    "read_tardis_chain": ["source"],
    "read_deribit_trades": ["source"],
    "read_deribit_tickers": ["source"],
    "read_parquet": ["source"],
    "read_arrow": ["obj"],
    "replay": ["trades"],
    "read_replay": ["out", "table"],
    "fetch_deribit_trades": ["currency", "start", "end"],
    "excluded_counts": ["table"],
}


@pytest.mark.parametrize(("name", "positional"), sorted(FUNCTIONS.items()))
def test_exported_keyword_only_and_documented(name, positional):
    fn = getattr(fg, name)
    assert name in fg.__all__
    params = inspect.signature(fn).parameters.values()
    assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params if p.name not in positional)
    assert fn.__doc__ and len(fn.__doc__.split()) >= 8


def test_error_classes():
    assert issubclass(fg.ReadError, fg.FlowgexError) and issubclass(fg.ReadError, ValueError)
    assert issubclass(fg.FetchError, fg.FlowgexError) and issubclass(fg.FetchError, RuntimeError)
    assert {"ReadError", "FetchError", "ReplaySummary", "FetchSummary"} <= set(fg.__all__)
