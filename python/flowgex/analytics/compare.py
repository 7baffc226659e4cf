"""Flow GEX against classic (open-interest) GEX, strike by strike.

The whole point of the flow method is where it disagrees with the equity
heuristic (dealers long calls, short puts): takers who buy calls leave dealers
short them, takers who sell puts leave dealers long them. Each strike gets a
verdict:

- "agree": same sign and sizes within a factor ``size_ratio`` (default 2);
- "same sign, size differs": same sign, sizes further apart;
- "opposite sign": the methods disagree on the direction of dealer hedging;
- "flow only" / "classic only": one method has zero GEX there;
- "both zero".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._format import price_text, value_text
from ..errors import OptionError
from .book import check_asset
from .levels import levels

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["Comparison", "compare", "VERDICTS"]

VERDICTS = ("agree", "same sign, size differs", "opposite sign", "flow only", "classic only", "both zero")


@dataclass(frozen=True)
class Comparison:
    """The strike-by-strike table, the headline numbers and a one-line summary."""

    asset: str
    flow_time: pd.Timestamp
    classic_time: pd.Timestamp
    table: pd.DataFrame
    flow_total: float
    classic_total: float
    flow_flip: float | None
    classic_flip: float | None
    #: Share of strikes (where either method is non-zero) on which the signs agree.
    sign_agreement: float
    summary: str

    def __str__(self) -> str:
        return self.summary


def _verdicts(f: np.ndarray, c: np.ndarray, size_ratio: float) -> np.ndarray:
    af, ac = np.abs(f), np.abs(c)
    same = np.sign(f) == np.sign(c)
    big, small = np.maximum(af, ac), np.minimum(af, ac)
    close = big <= size_ratio * small
    out = np.select(
        [(af == 0) & (ac == 0), ac == 0, af == 0, ~same, close],
        ["both zero", "flow only", "classic only", "opposite sign", "agree"],
        default="same sign, size differs",
    )
    return out


def compare(
    flow: GexResult,
    classic: GexResult,
    asset: str,
    *,
    at: Any = None,
    size_ratio: float = 2.0,
) -> Comparison:
    """Compares two results' GEX by strike for ``asset`` at ``at`` (default: each one's last time).

    The table has one row per strike present in either result: ``strike``,
    ``flow_gex``, ``classic_gex``, ``difference`` (flow − classic),
    ``same_sign`` (both non-zero with one sign), ``size_ratio`` (|flow| /
    |classic|, ``<NA>`` where classic is 0) and ``verdict``.
    """
    if isinstance(size_ratio, bool) or not (
        isinstance(size_ratio, (int, float)) and math.isfinite(size_ratio) and size_ratio >= 1
    ):
        raise OptionError(f"invalid option size_ratio: expected a number >= 1, found {size_ratio!r}")
    if flow.unit != classic.unit:
        raise OptionError(f"compare: the results have different units ({flow.unit!r} vs {classic.unit!r})")
    name = check_asset(flow, asset)
    check_asset(classic, asset)
    when = "last" if at is None else at
    fs = flow.by_strike(asset=name, at=when)[["strike", "gex"]].rename(columns={"gex": "flow_gex"})
    cs = classic.by_strike(asset=name, at=when)[["strike", "gex"]].rename(columns={"gex": "classic_gex"})
    t = fs.merge(cs, on="strike", how="outer").sort_values("strike", ignore_index=True)
    t = t.fillna({"flow_gex": 0.0, "classic_gex": 0.0})
    f = t["flow_gex"].to_numpy(dtype=np.float64)
    c = t["classic_gex"].to_numpy(dtype=np.float64)
    nonzero_c = c != 0
    ratio = pd.arrays.FloatingArray(
        np.where(nonzero_c, np.abs(f) / np.where(nonzero_c, np.abs(c), 1.0), 0.0), mask=~nonzero_c
    )
    t["difference"] = f - c
    t["same_sign"] = (np.sign(f) == np.sign(c)) & (f != 0)
    t["size_ratio"] = ratio
    t["verdict"] = pd.Categorical(_verdicts(f, c, float(size_ratio)), categories=list(VERDICTS))

    fl, cl = levels(flow, name, at=at), levels(classic, name, at=at)
    active = (f != 0) | (c != 0)
    n = int(active.sum())
    same = int(t["same_sign"].sum())
    opposite = int((t["verdict"] == "opposite sign").sum())
    agree = int((t["verdict"] == "agree").sum())
    share = same / n if n else 0.0
    summary = (
        f"{name} flow vs classic at {fl.time:%Y-%m-%d %H:%M} UTC: same sign on {same}/{n} strikes "
        f"({agree} agree in size), opposite on {opposite}; total GEX {value_text(fl.total_gex, flow.unit)} vs "
        f"{value_text(cl.total_gex, flow.unit)}; flip {price_text(fl.flip)} vs {price_text(cl.flip)}"
    )
    return Comparison(
        asset=name,
        flow_time=fl.time,
        classic_time=cl.time,
        table=t,
        flow_total=fl.total_gex,
        classic_total=cl.total_gex,
        flow_flip=fl.flip,
        classic_flip=cl.flip,
        sign_agreement=share,
        summary=summary,
    )
