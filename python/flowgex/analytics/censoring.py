"""Left-censoring: options whose dealer inventory before the data window is unknown.

Flow GEX starts every option at I₀ = 0. That is exact only when the option's
whole trading history is inside the data; an option that already had open
interest when the data starts carries an unknown inventory. The rules:

1. An option seeded through ``initial`` is **not censored** ("seeded").
2. Otherwise, look at its latest chain row strictly before its first trade:
   open interest 0 means nothing was outstanding, so its whole history is in
   the data: **not censored** ("no_open_interest"); open interest > 0:
   **censored** ("open_interest"); no such row: **censored** ("unknown").
3. An option in the chain that never trades in the data but has open interest
   is **censored** ("untraded_open_interest"): it is absent from flow GEX.

The optional anchor (:func:`anchor_initial`) seeds each censored option with
known open interest OI₀ (rule 2's row, or rule 3's first chain row) as
I₀ = s·share·OI₀, s = +1 for calls and −1 for puts: the window opens on the
classic heuristic book, the only prior that uses no information from after
the window start, and taker flows move it from there. Options censored as
"unknown" stay at 0. Pass the result as ``flow_gex(..., initial=...)`` together
with the same chain (it supplies the seeded options' vol and price).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import _core
from ..errors import FlowgexError, OptionError, SchemaError
from ..schema import canonical_chain, canonical_initial, canonical_trades

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["censoring", "anchor_initial", "censored_share"]

_COLUMNS = ["instrument", "first_trade", "open_interest", "censored", "reason"]


def _names(table: pa.Table, what: str) -> pa.ChunkedArray:
    if "instrument" not in table.column_names:
        raise SchemaError(f"censoring: the {what} must name options by `instrument` (Deribit names)")
    col = table.column("instrument")
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    return pc.utf8_upper(col)


def censoring(trades: Any, *, chain: Any = None, initial: Any = None) -> pd.DataFrame:
    """One row per option of ``trades`` (and per untraded chain option with open interest).

    Columns: ``instrument`` (upper case), ``first_trade`` (NaT when it never
    trades), ``open_interest`` before the window (nullable Float64),
    ``censored`` (bool) and ``reason`` (see the module docstring).
    """
    t = canonical_trades(trades)
    first = (
        pa.table({"instrument": _names(t, "trades"), "timestamp": t.column("timestamp")})
        .group_by("instrument")
        .aggregate([("timestamp", "min")])
        .to_pandas()
        .rename(columns={"timestamp_min": "first_trade"})
    )
    first = first.dropna(subset=["first_trade"]).sort_values("first_trade", ignore_index=True)
    first["instrument"] = first["instrument"].astype(str)
    seeded: set[str] = set()
    if initial is not None:
        seeded = {str(x).upper() for x in _names(canonical_initial(initial), "initial").to_pylist()}

    oi = pd.Series(pd.NA, index=first.index, dtype="Float64")
    has_chain_row = np.zeros(len(first), dtype=bool)
    extra = pd.DataFrame(columns=_COLUMNS)
    if chain is not None:
        c = canonical_chain(chain)
        if "open_interest" not in c.column_names:
            raise SchemaError("censoring: the chain needs an open_interest column")
        ch = pd.DataFrame(
            {
                "instrument": _names(c, "chain").to_numpy(zero_copy_only=False).astype(str),
                "timestamp": c.column("timestamp").to_pandas(),
                "open_interest": c.column("open_interest").to_numpy(zero_copy_only=False),
            }
        )
        ch = ch.dropna().sort_values("timestamp", kind="stable", ignore_index=True)
        before = pd.merge_asof(
            first,
            ch,
            left_on="first_trade",
            right_on="timestamp",
            by="instrument",
            direction="backward",
            allow_exact_matches=False,
        )
        has_chain_row = before["open_interest"].notna().to_numpy()
        oi = before["open_interest"].astype("Float64")
        untraded = ch[~ch["instrument"].isin(set(first["instrument"]))].groupby("instrument", sort=True).first()
        untraded = untraded[untraded["open_interest"] > 0]
        extra = pd.DataFrame(
            {
                "instrument": untraded.index.astype(object),
                "first_trade": pd.Series(pd.NaT, index=untraded.index, dtype="datetime64[ns, UTC]"),
                "open_interest": untraded["open_interest"].astype("Float64"),
                "censored": True,
                "reason": "untraded_open_interest",
            }
        ).reset_index(drop=True)

    is_seeded = first["instrument"].isin(seeded).to_numpy()
    zero = has_chain_row & (oi.fillna(-1.0).to_numpy(dtype=np.float64) == 0)
    reason = np.select(
        [is_seeded, zero, has_chain_row], ["seeded", "no_open_interest", "open_interest"], default="unknown"
    )
    out = pd.DataFrame(
        {
            "instrument": first["instrument"],
            "first_trade": first["first_trade"].astype("datetime64[ns, UTC]"),
            "open_interest": oi.to_numpy(),
            "censored": ~(is_seeded | zero),
            "reason": reason,
        }
    )
    out = pd.concat([out, extra], ignore_index=True) if len(extra) else out
    out["open_interest"] = out["open_interest"].astype("Float64")
    out["censored"] = out["censored"].astype(bool)
    return out.sort_values("instrument", ignore_index=True)[_COLUMNS]


def anchor_initial(trades: Any, chain: Any, *, share: float = 1.0, initial: Any = None) -> pd.DataFrame:
    """Seed inventories ``instrument, inventory`` anchoring censored options to open interest.

    I₀ = s·share·OI₀ (s = +1 calls, −1 puts) for every censored option whose
    open interest before the window is known; ``share`` is the fraction of that
    open interest assumed to sit with dealers. Options already in ``initial``
    keep their seed and are left out.
    """
    if isinstance(share, bool) or not (isinstance(share, (int, float)) and math.isfinite(share) and 0 <= share <= 1):
        raise OptionError(f"invalid option share: expected a fraction in [0, 1], found {share!r}")
    flags = censoring(trades, chain=chain, initial=initial)
    known = flags[flags["censored"] & flags["open_interest"].notna()]
    names = known["instrument"].tolist()
    sign = []
    for name in names:
        try:
            sign.append(1.0 if _core.parse_instrument(name)[4] == "C" else -1.0)
        except FlowgexError:
            sign.append(0.0)  # an unparseable name: the engine will reject and count its trades anyway
    inv = np.asarray(sign) * float(share) * known["open_interest"].to_numpy(dtype=np.float64)
    return pd.DataFrame({"instrument": pd.Series(names, dtype=object), "inventory": inv})


def censored_share(res: GexResult, flags: pd.DataFrame, *, asset: str | None = None, at: Any = "last") -> float:
    """Fraction of the live book's |GEX| at ``at`` that comes from censored options (0 when empty)."""
    inv = res.inventory(at=at, asset=asset)
    total = float(np.abs(inv["gex"]).sum())
    if total == 0:
        return 0.0
    bad = set(flags.loc[flags["censored"], "instrument"])
    mask = inv["instrument"].astype(str).str.upper().isin(bad).to_numpy()
    return float(np.abs(inv["gex"].to_numpy()[mask]).sum()) / total
