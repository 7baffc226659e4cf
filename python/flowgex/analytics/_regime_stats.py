"""The numbers behind :func:`~flowgex.regime_study` (DESIGN rule 18): forward and
trailing realized volatility, the periods-per-year inference, and the
moving-block bootstrap.

The bootstrap draws each resample once, as block start positions, and every
group, horizon and contrast is evaluated on those same resamples: that is what
lets a contrast (negative − positive) carry its own interval. A resample's
group mean is a ratio of two sums over its blocks (values of the members, and
member counts), and each block's sum is computed once per start position, so a year
of 10-minute steps with 2,000 resamples never materialises the resampled
series (2,000 × 52,560 indices) — only the block starts (2,000 × ⌈n / block⌉).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["periods_per_year", "forward_vol", "trailing_vol", "Resamples", "percentile_ci"]

_DAY_NS = 86_400 * 10**9
_YEAR_NS = 365 * _DAY_NS


def periods_per_year(index: pd.DatetimeIndex) -> tuple[float, str]:
    """A (the annualisation factor) inferred from ``index``, and how it was chosen.

    252 when the index has one row per trading day (median spacing exactly one
    day and no row on a Saturday or Sunday); otherwise 365 days divided by the
    median spacing (a 10-minute grid: 52,560).
    """
    ns = index.as_unit("ns").asi8
    spacing = int(np.median(np.diff(ns)))
    if spacing == _DAY_NS and not bool((index.day_of_week >= 5).any()):
        return 252.0, "252: one row per trading day (daily rows, none on a weekend)"
    return _YEAR_NS / spacing, f"365 days / median spacing {_spacing_text(spacing)}"


def _spacing_text(ns: int) -> str:
    """10min, 1h, 1D: the spacing as a pandas frequency string."""
    return pd.tseries.frequencies.to_offset(pd.Timedelta(ns, unit="ns")).freqstr


def forward_vol(r: np.ndarray, h: int, annual: float) -> tuple[np.ndarray, np.ndarray]:
    """RV_h(t) for every position t of the index, and where it is defined.

    ``r[t]`` is the log return into t (``r[0]`` is unused). h = 1:
    |r[t+1]|·√A; h ≥ 2: the sample standard deviation (ddof 1) of
    r[t+1..t+h] times √A. Defined for t ≤ n − 1 − h (h future returns).
    """
    n = len(r)
    out = np.zeros(n)
    ok = np.zeros(n, dtype=bool)
    m = n - h
    if m <= 0:
        return out, ok
    ok[:m] = True
    if h == 1:
        out[:m] = np.abs(r[1 : m + 1])
    else:
        windows = np.lib.stride_tricks.sliding_window_view(r[1:], h)[:m]
        out[:m] = windows.std(axis=1, ddof=1)
    return out * math.sqrt(annual), ok


def trailing_vol(r: np.ndarray, w: int, annual: float) -> tuple[np.ndarray, np.ndarray]:
    """Trailing RV over the last ``w`` returns r[t−w+1..t] (std, ddof 1, × √A); defined for t ≥ w."""
    n = len(r)
    out = np.zeros(n)
    ok = np.zeros(n, dtype=bool)
    if n - 1 < w:
        return out, ok
    windows = np.lib.stride_tricks.sliding_window_view(r[1:], w)  # window j covers r[j+1..j+w]
    out[w:] = windows.std(axis=1, ddof=1) * math.sqrt(annual)
    ok[w:] = True
    return out, ok


class Resamples:
    """``n_boot`` moving-block resamples of positions 0..n−1.

    Each resample is ⌈n / block⌉ blocks of ``block`` consecutive positions,
    starts drawn uniformly from 0..n − block with
    ``numpy.random.default_rng(seed).integers(0, n - block + 1, size=(n_boot, k))``,
    concatenated and cut to n positions (the last block keeps its first
    n − (k − 1)·block positions). Needs n ≥ block.
    """

    def __init__(self, n: int, block: int, n_boot: int, seed: int) -> None:
        self.n, self.block = n, block
        k = -(-n // block)
        self.tail = n - (k - 1) * block
        self.starts = np.random.default_rng(seed).integers(0, n - block + 1, size=(n_boot, k))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per resample, the sum of ``values`` over its positions (int64 in, int64 out; float in, float out).

        Each block's sum is summed over its own window (not a difference of
        prefix sums), so two groups holding the same values in a resample get
        bit-identical sums there, and a tie in a contrast stays a tie.
        """
        view = np.lib.stride_tricks.sliding_window_view
        full = view(values, self.block).sum(axis=1)
        part = full if self.tail == self.block else view(values, self.tail).sum(axis=1)
        return full[self.starts[:, :-1]].sum(axis=1) + part[self.starts[:, -1]]


def percentile_ci(x: np.ndarray) -> tuple[float, float] | None:
    """The 2.5% and 97.5% percentiles of ``x`` (linear interpolation), or None when ``x`` is empty."""
    if len(x) == 0:
        return None
    lo, hi = np.quantile(x, [0.025, 0.975])
    return float(lo), float(hi)
