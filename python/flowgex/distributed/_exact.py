"""What ``partition_by="instrument"`` needs to stay exact, and the one column it must recompute.

Dealer inventories are independent per option, but two things couple the
options of one asset (DESIGN rule 5 and the README's totals rule):

* an option's underlying price S falls back to the asset's latest trade
  ``index_price`` when neither its own chain ``underlying_price`` nor the
  asset's spot table has a value yet. Each engine only sees the index prices
  of its own options' trades, so S would differ. The split is exact when every
  option, from the first grid time it is live, is priced from its own chain
  rows (they travel with it) or from the spot table (copied to every engine of
  the asset): :func:`check_coverage` proves this before anything is
  evaluated, and :func:`assert_no_fallback` re-checks the engines' counts.
* an asset's total ``spot`` is the spot table, else the latest index price of
  any of its trades, else the latest chain ``underlying_price`` of any of its
  options. :func:`total_spot` recomputes it from the observations every engine
  reports (the latest per bucket, by time then input order, as the core picks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OptionError
from ._keys import Inst

__all__ = ["check_coverage", "assert_no_fallback", "total_spot", "latest_obs", "OBS_COLUMNS"]

#: One observation: asset, source (0 spot table, 1 index price, 2 chain), bucket label, time, period, row, value.
OBS_COLUMNS = ("asset", "src", "label", "ts", "period", "row", "value")


def _when(ns: int) -> str:
    return str(pd.Timestamp(ns, tz="UTC"))


def check_coverage(
    first_live: Iterable[tuple[Inst, int]],
    *,
    chain_cover: Mapping[Inst, int],
    spot_cover: Mapping[str, int],
    end: int | None,
) -> None:
    """Raises OptionError unless each option is priced by its chain or the spot table from its first live step.

    ``first_live`` gives each newly live option and the first grid time it can
    be evaluated at; ``*_cover`` the first bucket label of a usable chain
    ``underlying_price`` (per option) or spot row (per asset).
    """
    for inst, t in sorted(first_live, key=lambda x: (x[1], x[0])):
        if inst.expiry <= t or (end is not None and t > end):
            continue  # never evaluated
        covers = [c for c in (chain_cover.get(inst), spot_cover.get(inst.asset)) if c is not None]
        if covers and min(covers) <= t:
            continue
        raise OptionError(
            f"invalid option partition_by: 'instrument' would not be exact: {inst.asset} option "
            f"(expiry {_when(inst.expiry)}, strike {inst.strike:g}, {inst.kind}) is live at {_when(t)} "
            f"with no chain underlying_price and no spot row for {inst.asset} before it, so its underlying "
            f"price would come from the index prices of the asset's trades, which are split across engines. "
            f"Pass spot= (a spot table starting no later than the trades), a chain with underlying_price, "
            f"or partition_by='asset' (always exact)"
        )


def assert_no_fallback(core: Mapping[str, Any]) -> None:
    """The engines' own counts: no evaluated row took the index price, or had no price at all."""
    index = int(np.asarray(core.get("steps.spot_index", [0])).sum())
    missing = int(np.asarray(core.get("steps.spot_missing", [0])).sum())
    if index or missing:
        raise OptionError(
            f"invalid option partition_by: 'instrument' was not exact here ({index} row(s) priced from "
            f"split index prices, {missing} without a price); use partition_by='asset'"
        )


def latest_obs(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The latest observation per (asset, source, bucket label), by (time, period, row)."""
    parts = [f for f in frames if f is not None and len(f)]
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object if c == "asset" else np.float64) for c in OBS_COLUMNS})
    obs = pd.concat(parts, ignore_index=True)
    obs = obs.sort_values(["asset", "src", "label", "ts", "period", "row"], kind="stable")
    return obs.drop_duplicates(["asset", "src", "label"], keep="last").reset_index(drop=True)


def total_spot(assets: np.ndarray, times: np.ndarray, obs: pd.DataFrame) -> np.ndarray:
    """Each (asset, time)'s spot: spot table, else index price, else chain, as of that grid time (0 if none)."""
    out = np.zeros(len(times))
    found = np.zeros(len(times), dtype=bool)
    for src in (0, 1, 2):
        for asset, grp in obs[obs["src"] == src].groupby("asset"):
            rows = np.flatnonzero((assets == asset) & ~found)
            if not len(rows):
                continue
            labels = grp["label"].to_numpy(dtype=np.int64)  # sorted, one per label
            i = np.searchsorted(labels, times[rows], side="right") - 1
            ok = i >= 0
            out[rows[ok]] = grp["value"].to_numpy(dtype=np.float64)[i[ok]]
            found[rows[ok]] = True
    return out
