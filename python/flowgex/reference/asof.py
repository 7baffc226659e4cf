"""Rules 5 and 6: the underlying price and the volatility of an option at grid time t.

Each is the latest observation strictly before t (as of t), by precedence:
spot — the option's own chain row, the spot table, the trades' index price;
vol — the option's chain mark_iv, then its trades' iv. Missing ones raise or
are skipped/filled as the options say. The total's spot of an asset is the spot
table's, else the index price, else any chain underlying of the asset.
"""

from __future__ import annotations

from typing import Any

from ..errors import MissingSpotError, MissingVolError
from .instruments import Key, display_name

__all__ = ["AsOf"]


class AsOf:
    """The as-of registers, advanced step by step over time-sorted inputs."""

    def __init__(self, keys: list[Key], chain: list[dict[str, Any]], spot: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.chain, self.spot = chain, spot
        self.ci = self.si = 0
        self.chain_under: dict[int, float] = {}
        self.chain_iv: dict[int, float] = {}
        self.trade_iv: dict[int, float] = {}
        self.spot_tab: dict[str, float] = {}
        self.index_px: dict[str, float] = {}
        self.chain_any: dict[str, float] = {}

    def observe_trade(self, e: dict[str, Any]) -> None:
        """A trade's iv and index price, when it has them."""
        if e["iv"] is not None:
            self.trade_iv[e["id"]] = e["iv"]
        if e["px"] is not None:
            self.index_px[self.keys[e["id"]][0]] = e["px"]

    def advance(self, t: int) -> None:
        """Takes in every chain and spot row strictly before ``t``."""
        ch, sp = self.chain, self.spot
        while self.ci < len(ch) and ch[self.ci]["ts"] < t:
            e = ch[self.ci]
            if e["iv"] is not None:
                self.chain_iv[e["id"]] = e["iv"]
            if e["under"] is not None:
                self.chain_under[e["id"]] = e["under"]
                self.chain_any[self.keys[e["id"]][0]] = e["under"]
            self.ci += 1
        while self.si < len(sp) and sp[self.si]["ts"] < t:
            self.spot_tab[sp[self.si]["asset"]] = sp[self.si]["price"]
            self.si += 1

    def spot_of(self, i: int, t: int, missing_spot: str) -> tuple[float, str]:
        """Rule 5: (S, source count name) of option ``i`` at ``t``."""
        asset = self.keys[i][0]
        if i in self.chain_under:
            return self.chain_under[i], "spot_chain"
        if asset in self.spot_tab:
            return self.spot_tab[asset], "spot_table"
        if asset in self.index_px:
            return self.index_px[asset], "spot_index"
        if missing_spot == "error":
            raise MissingSpotError(f"no underlying price for {display_name(*self.keys[i])} at {t}")
        return 0.0, "spot_missing"

    def vol_of(self, i: int, t: int, missing_vol: Any) -> tuple[float, str]:
        """Rule 6: (σ, source count name) of option ``i`` at ``t``."""
        if i in self.chain_iv:
            return self.chain_iv[i], "vol_chain"
        if i in self.trade_iv:
            return self.trade_iv[i], "vol_trade"
        if missing_vol == "error":
            raise MissingVolError(f"no volatility for {display_name(*self.keys[i])} at {t}")
        return (0.0 if missing_vol == "skip" else float(missing_vol)), "vol_missing"

    def asset_spot(self, asset: str) -> float:
        """The spot shown in an asset's total: spot table, else index price, else a chain underlying."""
        return self.spot_tab.get(asset, self.index_px.get(asset, self.chain_any.get(asset, 0.0)))
