"""The numbers of the HTML report: one compact, JSON-ready blob built from the
library's own tables and functions.

Nothing here computes GEX: the bars (GEX, and DEX, VEX, CEX when the result
has them) are rows of ``res.by_strike``, the spot,
totals, near-spot GEX, flip and regime come from ``res.levels_series``, the
walls from the same rule :func:`flowgex.levels` uses, the curves from
:func:`flowgex.profile`, the comparison from :func:`flowgex.compare`. The page
only draws them.

Float arrays travel as base64 of little-endian float64: every number in the
page is bit for bit the library's (a test decodes them and compares with
``==``), at 10.7 characters a number against ~19 for a round-tripping decimal.
Missing values (no flip, no wall) are NaN in those arrays.

Size: the time control offers at most ``max_steps`` grid times per asset
(every grid time when the result has no more; otherwise every k-th step,
k = ceil(steps / max_steps), counted back from the last so that the latest
step is always offered), and the heatmap shows those same times (GEX at the
sampled times, not averages). Bars are kept for strikes within ``window`` of
that step's spot. So the page's size depends on ``max_steps`` and the number
of strikes, not on the length of the run.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._chart_style import exposure_label
from .._core import __version__
from ..analytics import compare, levels, profile
from ..analytics.book import relative_grid
from ..analytics.levels import strike_extreme
from ..errors import FlowgexError, OptionError

if TYPE_CHECKING:
    from ..result import GexResult

__all__ = ["Variant", "build_data", "exposures", "variants", "sample_steps", "b64", "PROFILE_WIDTH", "PROFILE_POINTS"]

#: The profile's hypothetical spots: ±20% of spot (the flip search range of fg.levels) ...
PROFILE_WIDTH = 0.2
#: ... on 81 points (0.5% apart): enough to draw the curve; the flip itself comes from the 401-point series.
PROFILE_POINTS = 81
#: Strikes drawn around spot (the PNG strike chart's default window).
WINDOW = 0.15


@dataclass(frozen=True)
class Variant:
    """One expiry filter the page offers: a key, a label and the :meth:`GexResult.filter` arguments."""

    key: str
    label: str
    max_days: float | None = None
    exclude_next: bool = False

    def apply(self, res: GexResult) -> GexResult:
        if self.max_days is None and not self.exclude_next:
            return res
        return res.filter(max_days=self.max_days, exclude_next=self.exclude_next)


def variants(max_days: Sequence[float]) -> list[Variant]:
    """All expiries, next expiry excluded, then one ``max_days`` filter per value."""
    out = [Variant("all", "All expiries"), Variant("ex_next", "Exclude next expiry", exclude_next=True)]
    for d in max_days:
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d < 0:
            raise OptionError(f"invalid option max_days: expected numbers of days >= 0, found {d!r}")
        out.append(Variant(f"max_{d:g}d", f"Expiring within {d:g} days", max_days=float(d)))
    return out


def b64(a: np.ndarray, dtype: str = "<f8") -> str:
    """Base64 of the array's bytes in ``dtype`` (little-endian)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def sample_steps(n: int, max_steps: int) -> np.ndarray:
    """Indices of the offered steps: all when n <= max_steps, else every k-th counted back from the last."""
    if n <= max_steps:
        return np.arange(n)
    stride = math.ceil(n / max_steps)
    return np.arange(n - 1, -1, -stride)[::-1]


def _seconds(times: pd.Series) -> list[int]:
    return [int(x) // 10**9 for x in times.to_numpy(dtype="datetime64[ns]").astype(np.int64)]


def _nan(x: Any) -> float:
    return float("nan") if x is None or x is pd.NA else float(x)


def exposures(res: GexResult) -> list[dict[str, str]]:
    """The exposures the page can switch between: GEX, then DEX, VEX, CEX where the result
    computed them (``greeks=`` in flow_gex), each with its name and axis label (units included),
    the labels of the PNG charts."""
    return [
        {"key": e, "name": "GEX" if e == "gex" else e.upper(), "label": exposure_label(e, res.unit)}
        for e in ("gex", *res.exposures)
    ]


def _bars(res: GexResult, asset: str, times: np.ndarray, spots: np.ndarray) -> dict[str, Any]:
    """Strike-chart rows per offered step (strikes within WINDOW of spot) and the walls of each step.

    The rows carry GEX (calls, puts, total) and each other computed exposure's total ("x"), the
    same rows, so the exposure switch re-draws the strike chart and heatmap from ``res.by_strike``."""
    bs = res.by_strike(asset=asset)
    bt = bs["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    k = bs["strike"].to_numpy(np.float64)
    cols = [bs[c].to_numpy(np.float64) for c in ("call_gex", "put_gex", "gex")]
    universe = np.unique(k)
    lo, hi = np.searchsorted(bt, times, "left"), np.searchsorted(bt, times, "right")
    parts: list[np.ndarray] = []
    pwall, nwall = np.full(len(times), np.nan), np.full(len(times), np.nan)
    for j in range(len(times)):
        rows = np.arange(lo[j], hi[j])
        kj, gj = k[rows], cols[2][rows]
        pwall[j] = _nan(strike_extreme(kj, gj, 1.0))
        nwall[j] = _nan(strike_extreme(kj, gj, -1.0))
        s = spots[j]
        if math.isfinite(s) and s > 0:
            rows = rows[np.abs(kj - s) <= WINDOW * s]
        parts.append(rows)
    sel = np.concatenate(parts) if parts else np.empty(0, np.int64)
    off = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    return {
        "bars": {
            "off": b64(off, "<i4"),
            "K": b64(universe),
            "ki": b64(np.searchsorted(universe, k[sel]), "<i4"),
            "c": b64(cols[0][sel]),
            "p": b64(cols[1][sel]),
            "g": b64(cols[2][sel]),
            "x": {e: b64(bs[e].to_numpy(np.float64)[sel]) for e in res.exposures},
        },
        "pwall": b64(pwall),
        "nwall": b64(nwall),
    }


def _profiles(res: GexResult, asset: str, times: np.ndarray, spots: np.ndarray, rel: np.ndarray) -> str:
    """fg.profile of each offered step on rel × spot (NaN rows where spot is not > 0)."""
    out = np.full((len(times), len(rel)), np.nan)
    for j, (t, s) in enumerate(zip(times, spots)):
        if math.isfinite(s) and s > 0:
            out[j] = profile(res, asset, at=pd.Timestamp(int(t), tz="UTC"), spots=rel * s)["gex"].to_numpy()
    return b64(out.ravel())


def _classic(flow: GexResult, classic: GexResult, asset: str, rel: np.ndarray) -> dict[str, Any] | None:
    """The classic curve, flip and the flow-vs-classic comparison at each one's last time."""
    if asset not in classic.assets or asset not in flow.assets:
        return None
    try:
        lv = levels(classic, asset)
        cmp = compare(flow, classic, asset)
    except FlowgexError as exc:  # e.g. different units
        return {"error": str(exc)}
    t = cmp.table
    top = t.reindex(t["difference"].abs().sort_values(ascending=False).index).head(8)
    curve = profile(classic, asset, spots=rel * lv.spot)["gex"].to_numpy() if lv.spot > 0 else np.full(len(rel), np.nan)
    return {
        "time": int(lv.time.value // 10**9),
        "spot": lv.spot,
        "flip": lv.flip,
        "curve": b64(curve),
        "summary": cmp.summary,
        "sign_agreement": cmp.sign_agreement,
        "flow_total": cmp.flow_total,
        "classic_total": cmp.classic_total,
        "flow_flip": cmp.flow_flip,
        "classic_flip": cmp.classic_flip,
        "verdicts": {str(k): int(v) for k, v in t["verdict"].value_counts(sort=False).items()},
        "top": {
            "strike": b64(top["strike"].to_numpy(np.float64)),
            "flow": b64(top["flow_gex"].to_numpy(np.float64)),
            "classic": b64(top["classic_gex"].to_numpy(np.float64)),
            "verdict": [str(v) for v in top["verdict"]],
        },
    }


def _levels_at(res: GexResult, asset: str, times: np.ndarray) -> pd.DataFrame:
    """spot, total_gex, near_spot_gex, flip, regime at ``times``: rows of ``res.levels_series``, or of
    :func:`flowgex.levels` when the result kept only the last step's inventory (one time then)."""
    if len(times) > 1 or _every_step(res):
        series = res.levels_series(asset)
        st = series["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        return series.iloc[np.searchsorted(st, times)]
    lv = [levels(res, asset, at=pd.Timestamp(int(t), tz="UTC")) for t in times]
    return pd.DataFrame(
        {
            "spot": [x.spot for x in lv],
            "total_gex": [x.total_gex for x in lv],
            "near_spot_gex": [x.near_spot_gex for x in lv],
            "flip": pd.array([x.flip for x in lv], dtype="Float64"),
            "regime": [x.regime for x in lv],
        }
    )


def at_times(res: GexResult, times: np.ndarray) -> GexResult:
    """``res`` with only the rows of grid times ``times`` (the page's offered steps).

    Every view the page shows (by-strike rows, expiry filters, levels, profile)
    is judged at one grid time from that time's rows alone, so the restricted
    result gives the same numbers at those times, while filters and the levels
    series then cost the offered steps instead of every step (a year of
    10-minute steps: 300 of 52,560).
    """
    return res.with_data(res.data.at_times(times))


def _distinct_sorted(t: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array, in one pass (no sort)."""
    return t[np.concatenate([[True], t[1:] != t[:-1]])] if len(t) else t


def _every_step(res: GexResult) -> bool:
    """Whether the result kept the inventory of every grid time (keep_inventory="all")."""
    strike_times = _distinct_sorted(res.data.by_strike.time)
    return bool(np.isin(strike_times, _distinct_sorted(res.data.inventory.time)).all())


def _variant(
    res: GexResult, classic: GexResult | None, asset: str, times: np.ndarray, rel: np.ndarray
) -> dict[str, Any]:
    """Everything the page shows for one asset under one expiry filter, at the offered times."""
    s = _levels_at(res, asset, times)
    spots = s["spot"].to_numpy(np.float64)
    return {
        "spot": b64(spots),
        "total": b64(s["total_gex"].to_numpy(np.float64)),
        "near": b64(s["near_spot_gex"].to_numpy(np.float64)),
        "flip": b64(s["flip"].to_numpy(dtype=np.float64, na_value=np.nan)),
        "regime": "".join("S" if r == "sticky" else "L" for r in s["regime"]),
        **_bars(res, asset, times, spots),
        "profile": _profiles(res, asset, times, spots, rel),
        "classic": None if classic is None else _classic(res, classic, asset, rel),
    }


def build_data(
    res: GexResult,
    *,
    classic: GexResult | None,
    assets: Sequence[str],
    max_days: Sequence[float],
    max_steps: int,
    title: str,
) -> dict[str, Any]:
    """The page's data: per asset the offered times and, per expiry filter, every chart's numbers."""
    rel = relative_grid(PROFILE_WIDTH, PROFILE_POINTS)
    every = _every_step(res)
    grid: dict[str, np.ndarray] = {}  # each asset's grid times
    pick: dict[str, np.ndarray] = {}  # the offered ones among them
    for asset in assets:
        grid[asset] = res.total(asset=asset)["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        pick[asset] = sample_steps(len(grid[asset]), max_steps) if every else np.arange(len(grid[asset]))[-1:]
    if every:
        res = at_times(res, np.unique(np.concatenate([grid[a][pick[a]] for a in assets])))
    notes: list[str] = []
    offered: list[Variant] = []
    filtered: list[tuple[Variant, GexResult, GexResult | None]] = []
    for v in variants(max_days):
        try:
            filtered.append((v, v.apply(res), None if classic is None else v.apply(classic)))
            offered.append(v)
        except FlowgexError as exc:  # e.g. keep_inventory="last": no filter can be judged per step
            notes.append(f"{v.label}: not available ({exc})")
    if classic is None:
        notes.append("no classic (open-interest) result given: the flow-vs-classic comparison is not shown")
    if not every:
        notes.append("the result kept only the last grid time's inventory: the page shows that time only")
    out_assets: dict[str, Any] = {}
    for asset in assets:
        t_all, idx = grid[asset], pick[asset]
        times = t_all[idx]
        out_assets[asset] = {
            "t": [int(x) // 10**9 for x in times],
            "steps": len(t_all),
            "stride": int(idx[1] - idx[0]) if len(idx) > 1 else 1,
            "variants": {v.key: _variant(r, c, asset, times, rel) for v, r, c in filtered},
        }
    return {
        "title": title,
        "version": __version__,
        "method": res.method,
        "unit": res.unit,
        "resolution_s": None if res.resolution_ns is None else int(res.resolution_ns) // 10**9,
        "window": WINDOW,
        "rel": b64(rel),
        "exposures": exposures(res),
        "filters": [{"key": v.key, "label": v.label} for v in offered],
        "assets": out_assets,
        "notes": notes,
    }
