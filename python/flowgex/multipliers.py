"""Contract multipliers (underlying units per contract), DESIGN rule 9.

Readers use these to turn venue amounts (base-coin units on Deribit) into
contracts, and the engine resolves the same way, first match wins:

1. the user's ``ASSET_QUOTE`` entry (``multipliers={"SOL_USDC": 10}``),
2. the user's ``ASSET`` entry,
3. the built-in ``ASSET_QUOTE`` entry below (linear options, ``SOL_USDC-…``),
4. the built-in ``ASSET`` entry (inverse options, ``BTC-…``).

An option whose asset matches nothing has no multiplier: readers keep the row
with its amount / open interest as NaN and the engine rejects it as
``unknown_multiplier`` (counted; one such option never aborts a read).

Sources, one per entry (Deribit's own pages unless said otherwise):

- ``BTC``, ``ETH`` = 1 (inverse options, settled in the coin): Deribit,
  "Contract specifications options" (https://www.deribit.com/docs/contract-specifications-options/:
  "Multiplier: 1 ... Each contract has as underlying only 1BTC") and Deribit
  Insights, "USDC settled altcoin options: live trade examples"
  (https://insights.deribit.com/education/usdc-settled-altcoin-options-live-trade-examples:
  "The contract multiplier for the existing BTC and ETH options has always been 1").
- ``SOL_USDC`` = 10, ``XRP_USDC`` = 1,000, ``MATIC_USDC`` = 1,000: the same
  Deribit Insights page ("SOL: 10, XRP: 1,000, MATIC: 1,000"); SOL's 10 also in
  Deribit's support article "Linear USDC Options"
  (https://support.deribit.com/hc/en-us/articles/25944750999581-Linear-USDC-Options:
  "As Solana has a multiplier of 10 applied").
- ``AVAX_USDC`` = 100, ``TRX_USDC`` = 10,000: Deribit's January 2026 listing as
  reported by Cryptopolitan (https://www.coinmagzine.com/zh/crypto-news/125599/
  deribit-adds-usdc-settled-options-avax-trx-expanding-altcoin-derivatives-lineup:
  "AVAX options have a value of 100 AVAX, and TRX options have a value of
  10,000 TRX per contract").
- ``SOL``, ``XRP`` (no quote) = 10, 1,000: names written without ``_USDC``
  (e.g. ``SOL-…`` in user tables); the same sources.

Not shipped, because no source could be found to check them (pass them with
``multipliers=``): ``BTC_USDC`` and ``ETH_USDC`` linear options (listed by
Deribit in 2025; until given, they resolve to the ``BTC``/``ETH`` entry, 1),
``BNB_USDC``, ``PAXG_USDC`` and ``POL_USDC`` (MATIC's successor). Deribit's API
states sizes per instrument (``contract_size`` in ``public/get_instruments``);
that is the authority when in doubt. For Deribit data the choice does not move
GEX: trade amounts and open interest arrive in coins, the reader divides by m
and GEX multiplies by m again; it moves inventories reported in contracts.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BUILTIN_MULTIPLIERS", "contract_multiplier"]

#: Built-in table: ``ASSET_QUOTE`` keys for linear (USDC) options, ``ASSET`` keys
#: for inverse options and unquoted names. A plain literal, mirrored by the Rust core.
BUILTIN_MULTIPLIERS: Mapping[str, float] = {
    "BTC": 1.0,
    "ETH": 1.0,
    "SOL": 10.0,
    "XRP": 1000.0,
    "SOL_USDC": 10.0,
    "XRP_USDC": 1000.0,
    "MATIC_USDC": 1000.0,
    "AVAX_USDC": 100.0,
    "TRX_USDC": 10000.0,
}


def contract_multiplier(
    asset: str, quote: str | None = None, overrides: Mapping[str, float] | None = None
) -> float | None:
    """The multiplier for ``asset`` (and ``quote``), or None when unknown (see the module docstring)."""
    user = {str(k).upper(): float(v) for k, v in (overrides or {}).items()}
    asset = asset.upper()
    pair = f"{asset}_{quote.upper()}" if quote else None
    if pair is not None and pair in user:
        return user[pair]
    if asset in user:
        return user[asset]
    if pair is not None and pair in BUILTIN_MULTIPLIERS:
        return BUILTIN_MULTIPLIERS[pair]
    return BUILTIN_MULTIPLIERS.get(asset)
