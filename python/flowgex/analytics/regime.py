"""Does GEX predict volatility? Forward realized volatility by GEX regime, with
moving-block bootstrap intervals (DESIGN rule 18).

The claim behind GEX is that moves are dampened where dealers are long gamma
and run where they are short. :func:`regime_study` lets a backtester test it
on their own signal and price: forward realized volatility grouped by the
signal's sign, its quantiles and its flips, each group mean with a 95%
interval, and contrasts (negative vs positive, Q1 vs Qn, flip vs all) whose
intervals come from the same resamples.

Empty groups are explicit: a count of 0 and ``<NA>`` (never NaN) for every
number that cannot exist; :meth:`RegimeStudy.summary` says so in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import OptionError
from ._regime_inputs import align, check_options
from ._regime_stats import Resamples, forward_vol, percentile_ci, trailing_vol
from ._regime_stats import periods_per_year as infer_periods_per_year

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["RegimeStudy", "regime_study"]

#: Differences within this relative size of the means are ties (count as <= 0):
#: equal means reached by different summation orders differ by rounding only.
_TIE = 1e-12
#: A group with fewer times than this gets a note: a bootstrap of so few is not to be trusted.
_SMALL = 30


@dataclass(frozen=True, eq=False)
class RegimeStudy:
    """What :func:`regime_study` found.

    ``table``: one row per (horizon, group) with ``count``, ``mean``,
    ``median``, ``ci_low``, ``ci_high`` (annualised volatility; ``<NA>`` when
    the group is empty at that horizon). ``contrasts``: one row per (horizon,
    contrast) with ``estimate``, ``ci_low``, ``ci_high``, ``share_le_0`` (the
    share of resamples where the first group's mean minus the second's is ≤ 0;
    for a ratio the same event, ratio ≤ 1; differences within 1e-12 of the
    means count as 0) and ``resamples`` (how many of the
    ``n_boot`` resamples had both groups, the ones the interval uses).
    """

    table: pd.DataFrame
    contrasts: pd.DataFrame
    horizons: tuple[int, ...]
    periods_per_year: float
    periods_per_year_source: str
    quantiles: int
    block: int
    n_boot: int
    seed: int
    control: str | None
    control_window: int | None
    n_times: int
    start: pd.Timestamp
    end: pd.Timestamp
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One paragraph in words: the regime contrasts with their intervals, and what is missing."""
        from ._regime_text import summary_text

        return summary_text(self)

    def plot(self, *, title: str | None = None, path: str | Path | None = None) -> Figure:
        """Group means with their 95% intervals, one panel per horizon (a matplotlib Figure; PNG with ``path``)."""
        from .regime_chart import plot_regime

        return plot_regime(self, title=title, path=path)

    def __repr__(self) -> str:
        return (
            f"RegimeStudy({self.n_times} times {self.start} .. {self.end}, horizons {list(self.horizons)}, "
            f"A={self.periods_per_year:g}, block={self.block}, n_boot={self.n_boot}, seed={self.seed})"
        )


def _groups(signal: np.ndarray, quantiles: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Members of each group (boolean masks over the times), and notes on tied quantile edges."""
    n = len(signal)
    pos = signal > 0
    flip = np.zeros(n, dtype=bool)
    flip[1:] = pos[:-1] & ~pos[1:]
    out = {"all": np.ones(n, dtype=bool), "positive": pos, "negative": ~pos, "flip": flip}
    codes = pd.qcut(pd.Series(signal), quantiles, labels=False, duplicates="drop")
    notes = []
    if codes.isna().any():  # a constant signal: qcut finds no bin edges at all
        codes = pd.Series(np.zeros(n))
    k = int(codes.max()) + 1
    if k < quantiles:
        notes.append(
            f"the signal has tied quantile edges: {k} quantile group(s) instead of {quantiles} "
            f"(pandas.qcut(..., duplicates='drop')); Q1 is the lowest, Q{k} the highest"
        )
    c = codes.to_numpy().astype(np.int64)
    for q in range(k):
        out[f"Q{q + 1}"] = c == q
    return out, notes


@dataclass
class _Stat:
    """One group at one horizon: point estimates, and per resample its value sum and member count."""

    count: int
    mean: float | None
    median: float | None
    sums: np.ndarray
    counts: np.ndarray

    def boot_means(self) -> tuple[np.ndarray, np.ndarray]:
        ok = self.counts > 0
        return np.divide(self.sums, self.counts, out=np.zeros(len(self.sums)), where=ok), ok


def _stat(rv: np.ndarray, member: np.ndarray, boot: Resamples) -> _Stat:
    vals = rv[member]
    n = len(vals)
    return _Stat(
        count=n,
        mean=float(vals.mean()) if n else None,
        median=float(np.median(vals)) if n else None,
        sums=boot.sums(np.where(member, rv, 0.0)),
        counts=boot.sums(member.astype(np.int64)),
    )


def _contrast_row(h: int, name: str, est: float | None, boot: np.ndarray, ok: np.ndarray, le0: np.ndarray) -> dict:
    ci = percentile_ci(boot[ok])
    used = int(ok.sum())
    return {
        "horizon": h,
        "contrast": name,
        "estimate": est,
        "ci_low": None if ci is None else ci[0],
        "ci_high": None if ci is None else ci[1],
        "share_le_0": float(le0[ok].mean()) if used else None,
        "resamples": used,
    }


def _pair(h: int, a: str, b: str, stats: dict[str, _Stat]) -> list[dict]:
    """``a − b`` and ``a / b`` from the point means and from each resample where both exist."""
    x, y = stats[a], stats[b]
    xm, xok = x.boot_means()
    ym, yok = y.boot_means()
    both = xok & yok
    diff = xm - ym
    le0 = diff <= _TIE * np.maximum(np.abs(xm), np.abs(ym))
    rows = []
    est = None if x.mean is None or y.mean is None else x.mean - y.mean
    rows.append(_contrast_row(h, f"{a} - {b}", est, diff, both, le0))
    if b != "all":
        rok = both & (ym > 0)
        ratio = np.divide(xm, ym, out=np.zeros(len(xm)), where=rok)
        est_r = None if x.mean is None or not y.mean else x.mean / y.mean
        rows.append(_contrast_row(h, f"{a} / {b}", est_r, ratio, rok, le0))
    return rows


def _controlled(
    h: int, rv: np.ndarray, ok: np.ndarray, groups: dict[str, np.ndarray], bins: np.ndarray, boot: Resamples
) -> list[dict]:
    """Negative vs positive at equal trailing RV (direct standardisation over trailing-RV bins).

    In each bin b of trailing RV, the positive regime's mean is weighted by the
    number of negative-regime times in b: the ratio is Σ_b S_neg,b / Σ_b
    n_neg,b · mean_pos,b — the negative regime's forward vol over what the
    positive regime's would be at the negative regime's mix of trailing vol.
    Only bins holding both regimes count (in the data, and in each resample).
    """
    nb = int(bins.max()) + 1 if (bins >= 0).any() else 0
    # Per regime: resampled sums and counts (one array per bin), and the data's own sums and counts.
    boot_s: dict[str, list[np.ndarray]] = {"negative": [], "positive": []}
    boot_c: dict[str, list[np.ndarray]] = {"negative": [], "positive": []}
    data_s: dict[str, list[float]] = {"negative": [], "positive": []}
    data_c: dict[str, list[int]] = {"negative": [], "positive": []}
    for b in range(nb):
        for g in ("negative", "positive"):
            m = groups[g] & ok & (bins == b)
            boot_s[g].append(boot.sums(np.where(m, rv, 0.0)))
            boot_c[g].append(boot.sums(m.astype(np.int64)))
            data_s[g].append(float(rv[m].sum()))
            data_c[g].append(int(m.sum()))

    def combine(sn: Any, cn: Any, sp: Any, cp: Any) -> tuple[Any, Any, Any]:
        sn, cn, sp, cp = (np.asarray(v, dtype=np.float64) for v in (sn, cn, sp, cp))
        use = (cn > 0) & (cp > 0)
        mp = np.divide(sp, cp, out=np.zeros_like(sp), where=use)
        num = np.where(use, sn, 0.0).sum(axis=-1)
        den = np.where(use, cn * mp, 0.0).sum(axis=-1)
        cnt = np.where(use, cn, 0.0).sum(axis=-1)
        return num, den, cnt

    num, den, cnt = combine(data_s["negative"], data_c["negative"], data_s["positive"], data_c["positive"])
    parts = (boot_s["negative"], boot_c["negative"], boot_s["positive"], boot_c["positive"])
    stack = [np.stack(v, axis=1) if nb else np.zeros((len(boot.starts), 0)) for v in parts]
    bnum, bden, bcnt = combine(*stack)
    dok = bcnt > 0
    bdiff = np.divide(bnum - bden, bcnt, out=np.zeros(len(bcnt)), where=dok)
    rok = dok & (bden > 0)
    bratio = np.divide(bnum, bden, out=np.zeros(len(bden)), where=rok)
    le0 = bnum - bden <= _TIE * np.maximum(np.abs(bnum), np.abs(bden))
    est_d = float((num - den) / cnt) if cnt > 0 else None
    est_r = float(num / den) if cnt > 0 and den > 0 else None
    return [
        _contrast_row(h, "negative - positive at equal trailing RV", est_d, bdiff, dok, le0),
        _contrast_row(h, "negative / positive at equal trailing RV", est_r, bratio, rok, le0),
    ]


def _trailing_bins(r: np.ndarray, window: int, annual: float, quantiles: int) -> np.ndarray:
    """The trailing-RV quantile bin of each time (−1 where trailing RV is not defined)."""
    tv, tok = trailing_vol(r, window, annual)
    bins = np.full(len(r), -1, dtype=np.int64)
    if tok.sum() == 0:
        return bins
    codes = pd.qcut(pd.Series(tv[tok]), quantiles, labels=False, duplicates="drop")
    bins[tok] = 0 if codes.isna().any() else codes.to_numpy().astype(np.int64)
    return bins


def _nullable(values: list) -> pd.arrays.FloatingArray:
    """A Float64 array with <NA> where a value cannot exist (0.0 underneath, never NaN)."""
    missing = np.array([v is None for v in values], dtype=bool)
    data = np.array([0.0 if v is None else v for v in values], dtype=np.float64)
    return pd.arrays.FloatingArray(data, mask=missing)


def regime_study(
    signal: pd.Series,
    price: pd.Series,
    *,
    horizons: Iterable[int] = (1, 5, 21),
    periods_per_year: float | None = None,
    quantiles: int = 5,
    block: int = 21,
    n_boot: int = 2000,
    seed: int = 0,
    control: str | None = None,
    control_window: int | None = None,
) -> RegimeStudy:
    """Forward realized volatility by regime of ``signal`` (DESIGN rule 18), with bootstrap intervals.

    ``signal`` and ``price`` are pandas Series on DatetimeIndexes; the price
    used at each signal time is the latest at or before it (signal times
    before the first price are left out and counted in ``notes``; a gap in the
    price gives a zero return). r_t = ln(P_t / P_{t−1}) on the signal's index;
    RV_h(t) = |r_{t+1}|·√A (h = 1) or the sample std (ddof 1) of r_{t+1..t+h}
    times √A, where A = ``periods_per_year`` (default: 252 for one row per
    trading day, else 365 days / the median spacing; the study says which).

    Groups: all, positive (signal > 0), negative (≤ 0), flip (> 0 at the
    previous time, ≤ 0 now), Q1..Qn (``pandas.qcut`` over every time, Q1
    lowest; fewer when quantile edges tie, as for a constant signal).
    Intervals: moving-block bootstrap (``block`` consecutive times,
    ``n_boot`` resamples drawn once from ``seed`` and shared by every group,
    horizon and contrast), 2.5%–97.5% percentiles of the resampled means.

    ``control="trailing_rv"`` adds negative vs positive at equal trailing
    realized volatility (the last ``control_window`` returns, default the
    longest horizon and at least 2): times are cut into ``quantiles`` bins of
    trailing RV and the positive regime's bin means are weighted by the
    negative regime's bin counts (direct standardisation).

    Needs at least ``block`` (and 2) times with a price. Raises a
    :class:`~flowgex.errors.FlowgexError` on bad input; never returns NaN.
    """
    hs, ppy, window = check_options(horizons, periods_per_year, quantiles, block, n_boot, seed, control, control_window)
    if control is None and control_window is not None:
        raise OptionError("invalid option control_window: it applies only with control='trailing_rv'")
    data = align(signal, price)
    n = len(data.signal)
    if n < max(block, 2):
        raise OptionError(
            f"invalid option block: the study needs at least block={block} (and 2) times with a price, found {n}; "
            "lower block or give a longer signal"
        )
    if ppy is None:
        annual, source = infer_periods_per_year(data.index)
    else:
        annual, source = ppy, "given"
    r = np.zeros(n)
    with np.errstate(over="ignore", divide="ignore"):
        r[1:] = np.log(data.price[1:] / data.price[:-1])
    if not np.isfinite(r).all():
        raise OptionError("invalid price: consecutive prices differ by more than floating point can hold")
    groups, notes = _groups(data.signal, quantiles)
    if data.without_price:
        notes.insert(0, f"{data.without_price} signal time(s) before the first price were left out")
    if n < 10 * block:
        notes.append(f"only {n} times for blocks of {block}: few distinct resamples, so the intervals are rough")
    if data.stale:
        notes.append(f"{data.stale} time(s) had no new price since the previous time (their return is 0)")
    for g in ("positive", "negative", "flip"):
        if not groups[g].any():
            why = {"positive": "the signal is never > 0", "negative": "the signal is never <= 0"}.get(
                g, "the signal never turns from > 0 to <= 0"
            )
            notes.append(f"the {g} group is empty: {why}")
    boot = Resamples(n, block, n_boot, seed)
    if control is not None:
        window = window or max(2, hs[-1])
        bins = _trailing_bins(r, window, annual, quantiles)
    rows: list[dict] = []
    crows: list[dict] = []
    last_q = f"Q{sum(k.startswith('Q') for k in groups)}"
    for h in hs:
        rv, ok = forward_vol(r, h, annual)
        if not np.isfinite(rv).all():
            raise OptionError(f"invalid option periods_per_year: forward volatility overflows with A={annual:g}")
        stats = {g: _stat(rv, m & ok, boot) for g, m in groups.items()}
        for g, st in stats.items():
            means, has = st.boot_means()
            ci = percentile_ci(means[has])
            rows.append(
                {
                    "horizon": h,
                    "group": g,
                    "count": st.count,
                    "mean": st.mean,
                    "median": st.median,
                    "ci_low": None if ci is None else ci[0],
                    "ci_high": None if ci is None else ci[1],
                }
            )
        crows += _pair(h, "negative", "positive", stats)
        if last_q != "Q1":
            crows += _pair(h, "Q1", last_q, stats)
        crows += _pair(h, "flip", "all", stats)
        if control is not None:
            crows += _controlled(h, rv, ok, groups, bins, boot)
    if last_q == "Q1":
        notes.append("one quantile group only: no Q1 vs Qn contrast")
    first = [x for x in rows if x["horizon"] == hs[0]]
    small = [f"{x['group']} ({x['count']})" for x in first if 0 < x["count"] < _SMALL]
    if small:
        notes.append(
            f"groups with fewer than {_SMALL} times at horizon {hs[0]}: {', '.join(small)}: "
            "their bootstrap intervals are unreliable"
        )
    table = pd.DataFrame(
        {
            "horizon": np.array([x["horizon"] for x in rows], dtype=np.int64),
            "group": [x["group"] for x in rows],
            "count": np.array([x["count"] for x in rows], dtype=np.int64),
            **{c: _nullable([x[c] for x in rows]) for c in ("mean", "median", "ci_low", "ci_high")},
        }
    )
    contrasts = pd.DataFrame(
        {
            "horizon": np.array([x["horizon"] for x in crows], dtype=np.int64),
            "contrast": [x["contrast"] for x in crows],
            **{c: _nullable([x[c] for x in crows]) for c in ("estimate", "ci_low", "ci_high", "share_le_0")},
            "resamples": np.array([x["resamples"] for x in crows], dtype=np.int64),
        }
    )
    return RegimeStudy(
        table=table,
        contrasts=contrasts,
        horizons=hs,
        periods_per_year=float(annual),
        periods_per_year_source=source,
        quantiles=sum(k.startswith("Q") for k in groups),
        block=int(block),
        n_boot=int(n_boot),
        seed=int(seed),
        control=control,
        control_window=window if control is not None else None,
        n_times=n,
        start=data.index[0],
        end=data.index[-1],
        notes=tuple(notes),
    )
