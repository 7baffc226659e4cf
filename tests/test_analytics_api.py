"""The public names issue 4 adds: exported in __all__, documented, options keyword-only."""

from __future__ import annotations

import inspect

import pytest

import flowgex as fg

POSITIONAL = {
    "profile": ["res", "asset"],
    "levels": ["res", "asset"],
    "levels_series": ["res", "asset"],
    "filter_expiries": ["res"],
    "compare": ["flow", "classic", "asset"],
    "censoring": ["trades"],
    "anchor_initial": ["trades", "chain"],
    "censored_share": ["res", "flags"],
    "simulate": [],
    "simulate_chunks": [],
    "plot_strikes": ["res", "asset"],
    "plot_heatmap": ["res", "asset"],
    "plot_profile": ["res", "asset"],
    "read_cboe_quotedata": ["path"],
}


@pytest.mark.parametrize("name", sorted(POSITIONAL))
def test_exported_documented_keyword_only(name):
    assert name in fg.__all__
    fn = getattr(fg, name)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 40
    params = inspect.signature(fn).parameters.values()
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert positional == POSITIONAL[name]
    assert all(p.annotation is not inspect.Parameter.empty for p in params)


def test_result_methods_and_classes():
    for name in ("Levels", "Comparison", "SimulatedMarket", "CboeChain"):
        assert name in fg.__all__ and inspect.isclass(getattr(fg, name))
    for method in ("filter", "levels_series"):
        sig = inspect.signature(getattr(fg.GexResult, method))
        assert all(
            p.kind == p.KEYWORD_ONLY for p in list(sig.parameters.values())[2 if method == "levels_series" else 1 :]
        )
    with pytest.raises(AttributeError):
        fg.no_such_name  # noqa: B018
