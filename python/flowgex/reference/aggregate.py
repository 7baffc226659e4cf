"""Rule 11: GEX by strike (both legs, every maturity), by expiry and per asset, at one grid time.

Rows are appended in the tables' order: by (asset name, strike), (asset name,
expiry) and asset name; each sum runs over the live options in canonical order.
The exposures asked (dex, vex, cex) are summed the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from .instruments import Key

__all__ = ["Columns", "new_columns", "add_step"]

#: Column lists of one table, by column name.
Columns = dict[str, list]


def new_columns(exposures: tuple[str, ...]) -> dict[str, Columns]:
    """Empty column lists of every table, with the exposure columns asked."""
    base = {
        "inventory": ["time", "inst", "inventory", "spot", "vol", "gamma", "gex"],
        "by_strike": ["time", "asset", "strike", "call_gex", "put_gex", "gex"],
        "by_expiry": ["time", "asset", "expiry", "gex"],
        "total": ["time", "asset", "spot", "gex"],
    }
    out: dict[str, Columns] = {t: {c: [] for c in (*cols, *exposures)} for t, cols in base.items()}
    out["steps"] = {
        c: []
        for c in (
            "time",
            "spot_chain",
            "spot_table",
            "spot_index",
            "spot_missing",
            "vol_chain",
            "vol_trade",
            "vol_missing",
        )
    }
    return out


def add_step(
    out: dict[str, Columns],
    t: int,
    live: list[int],
    keys: list[Key],
    gex_of: dict[int, float],
    first_of: dict[int, dict[str, float]],
    exposures: tuple[str, ...],
    active: set[str],
    aid: Callable[[str], int],
    asset_spot: Callable[[str], float],
) -> None:
    """Appends the by-strike, by-expiry and total rows of grid time ``t``."""
    strikes: dict[tuple[str, float], list[float]] = {}
    for i in live:
        slot = strikes.setdefault((keys[i][0], keys[i][3]), [0.0, 0.0])
        slot[0 if keys[i][4] == "C" else 1] += gex_of[i]
    strike_first: dict[tuple[str, float], dict[str, float]] = {}
    expiry_first: dict[tuple[str, int], dict[str, float]] = {}
    asset_first: dict[str, dict[str, float]] = {}
    for i in live:
        a, _, e, k_, _ = keys[i]
        for key, acc in (((a, k_), strike_first), ((a, e), expiry_first), (a, asset_first)):
            slot2 = acc.setdefault(key, dict.fromkeys(exposures, 0.0))  # type: ignore[call-overload]
            for x in exposures:
                slot2[x] += first_of[i][x]
    bs = out["by_strike"]
    for (asset, strike), (c, p) in sorted(strikes.items()):
        for x in exposures:
            bs[x].append(strike_first[(asset, strike)][x])
        for k, v in (
            ("time", t),
            ("asset", aid(asset)),
            ("strike", strike),
            ("call_gex", c),
            ("put_gex", p),
            ("gex", c + p),
        ):
            bs[k].append(v)
    expiries: dict[tuple[str, int], float] = {}
    for i in live:
        key = (keys[i][0], keys[i][2])
        expiries[key] = expiries.get(key, 0.0) + gex_of[i]
    be = out["by_expiry"]
    for (asset, expiry), v in sorted(expiries.items()):
        for x in exposures:
            be[x].append(expiry_first[(asset, expiry)][x])
        for k, y in (("time", t), ("asset", aid(asset)), ("expiry", expiry), ("gex", v)):
            be[k].append(y)
    tot = out["total"]
    for asset in sorted(active):
        total = 0.0
        for i in live:
            if keys[i][0] == asset:
                total += gex_of[i]
        for x in exposures:
            tot[x].append(asset_first.get(asset, dict.fromkeys(exposures, 0.0))[x])
        for k, y in (("time", t), ("asset", aid(asset)), ("spot", asset_spot(asset)), ("gex", total)):
            tot[k].append(y)
