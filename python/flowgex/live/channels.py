"""Which Deribit channels and history queries cover the currencies a user asks for.

Deribit files inverse options (``BTC-…``, ``ETH-…``) under their own
currency, and every linear USDC option (``SOL_USDC-…``, ``XRP_USDC-…``, …)
under the currency ``USDC``. So ``BTC`` subscribes to ``trades.option.BTC.100ms``
and the ``btc_usd`` index, while ``SOL`` (or ``SOL_USDC``) subscribes to
``trades.option.USDC.100ms`` and the ``sol_usdc`` index, and keeps only the SOL
options of that stream; ``USDC`` alone asks for every linear asset flowgex
knows a multiplier for (:data:`flowgex.multipliers.BUILTIN_MULTIPLIERS`).

Mark IVs (``markprice.options.{index}``, a decimal already) are the chain and
the index price (``deribit_price_index.{index}``) the spot table: the same
index name serves both (https://docs.deribit.com/, "markprice.options" and
"deribit_price_index").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import OptionError
from ..multipliers import BUILTIN_MULTIPLIERS

__all__ = ["Feed", "feeds", "channels_of", "check_interval", "LINEAR_ASSETS", "INTERVALS"]

#: Linear (USDC) option assets with a built-in multiplier: SOL, XRP, MATIC, AVAX, TRX.
LINEAR_ASSETS: tuple[str, ...] = tuple(k.split("_")[0] for k in BUILTIN_MULTIPLIERS if k.endswith("_USDC"))
#: Inverse option assets (settled in the coin), each its own Deribit currency.
INVERSE_ASSETS: tuple[str, ...] = ("BTC", "ETH")
#: Trade notification intervals: ``100ms`` batches every trade of each 100 ms into one
#: notification (none is left out) and needs no account; ``raw`` (one notification a trade)
#: is refused by Deribit on connections that did not authenticate (flowgex does not).
INTERVALS = ("100ms", "raw")
_NAME = re.compile(r"^[A-Z0-9]{2,10}(_USDC)?$")


@dataclass(frozen=True)
class Feed:
    """One Deribit currency's share of a live run.

    ``currency`` is what Deribit files the options under (``BTC``, ``USDC``),
    ``assets`` the option assets kept from its trade stream (``("SOL",)``), and
    ``indexes`` the index names of their mark prices and spot (``sol_usdc``)."""

    currency: str
    assets: tuple[str, ...]
    indexes: tuple[str, ...]

    def trades_channel(self, interval: str = "100ms") -> str:
        return f"trades.option.{self.currency}.{interval}"


def _index(asset: str) -> str:
    return f"{asset.lower()}_usd" if asset in INVERSE_ASSETS else f"{asset.lower()}_usdc"


def feeds(currencies: Sequence[str] | str) -> tuple[Feed, ...]:
    """The feeds for ``currencies`` (``"BTC,ETH"``, ``["BTC", "SOL"]``, ``"USDC"``), merged by Deribit currency.

    An asset flowgex has no multiplier for (so no way to size its contracts) is an
    :class:`~flowgex.errors.OptionError` naming the ones it has."""
    names = currencies.split(",") if isinstance(currencies, str) else list(currencies)
    by_currency: dict[str, list[str]] = {}
    for raw in names:
        if not isinstance(raw, str):
            raise OptionError(f"invalid option currencies: expected names such as 'BTC', found {raw!r}")
        name = raw.strip().upper()
        if not name:
            continue
        if not _NAME.match(name):
            raise OptionError(f"invalid option currencies: expected names such as 'BTC' or 'SOL', found {raw!r}")
        if name == "USDC":
            assets = list(LINEAR_ASSETS)
        else:
            asset = name.removesuffix("_USDC")
            if asset not in INVERSE_ASSETS and asset not in LINEAR_ASSETS:
                known = ", ".join((*INVERSE_ASSETS, *LINEAR_ASSETS, "USDC"))
                raise OptionError(f"invalid option currencies: no Deribit options known for {raw!r} (known: {known})")
            assets = [asset]
        for asset in assets:
            cur = asset if asset in INVERSE_ASSETS else "USDC"
            lst = by_currency.setdefault(cur, [])
            if asset not in lst:
                lst.append(asset)
    if not by_currency:
        raise OptionError("invalid option currencies: expected at least one, such as 'BTC'")
    return tuple(
        Feed(cur, tuple(sorted(assets)), tuple(_index(a) for a in sorted(assets)))
        for cur, assets in sorted(by_currency.items())
    )


def check_interval(interval: object) -> str:
    if interval not in INTERVALS:
        raise OptionError(f"invalid option interval: expected one of {INTERVALS}, found {interval!r}")
    return str(interval)


def channels_of(fs: Sequence[Feed], interval: str = "100ms") -> list[str]:
    """Every channel to subscribe to, in a stable order."""
    out: list[str] = []
    for f in fs:
        out.append(f.trades_channel(check_interval(interval)))
        out.extend(f"markprice.options.{i}" for i in f.indexes)
        out.extend(f"deribit_price_index.{i}" for i in f.indexes)
    return out
