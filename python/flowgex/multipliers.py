"""Contract multipliers (underlying units per contract), DESIGN rule 9.

Readers use these to turn venue amounts (base-coin units on Deribit) into
contracts, and the engine resolves the same way: the user's ``ASSET_QUOTE``
entry, then the user's ``ASSET`` entry, then this built-in table. PAXG and any
other asset must come from the data or the user.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BUILTIN_MULTIPLIERS", "contract_multiplier"]

#: Deribit: BTC and ETH options are 1 coin per contract, SOL 10, XRP 1000.
BUILTIN_MULTIPLIERS: Mapping[str, float] = {"BTC": 1.0, "ETH": 1.0, "SOL": 10.0, "XRP": 1000.0}


def contract_multiplier(
    asset: str, quote: str | None = None, overrides: Mapping[str, float] | None = None
) -> float | None:
    """The multiplier for ``asset`` (and ``quote``), or None when unknown."""
    user = {str(k).upper(): float(v) for k, v in (overrides or {}).items()}
    asset = asset.upper()
    if quote and f"{asset}_{quote.upper()}" in user:
        return user[f"{asset}_{quote.upper()}"]
    if asset in user:
        return user[asset]
    return BUILTIN_MULTIPLIERS.get(asset)
