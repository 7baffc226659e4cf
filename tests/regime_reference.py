"""An independent, plain-loop computation of the regime study (DESIGN rule 18), for the tests.

Written from the rule and the documented resampling protocol only (no code of
``flowgex.analytics.regime``): prices as of each signal time by walking both
lists, returns with ``math.log``, forward volatility with ``statistics``,
every resample built index by index, percentiles interpolated by hand.
The only shared pieces are the definition's own ``pandas.qcut`` and the
random draw ``numpy.random.default_rng(seed).integers(0, n - block + 1,
size=(n_boot, k))`` that the docstring of ``Resamples`` fixes.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd


def as_of(signal_times: list, price_times: list, prices: list) -> list:
    """For each signal time, the latest price at or before it (None when there is none)."""
    out = []
    j = -1
    for t in signal_times:
        while j + 1 < len(price_times) and price_times[j + 1] <= t:
            j += 1
        out.append(prices[j] if j >= 0 else None)
    return out


def forward_vol(prices: list[float], h: int, annual: float) -> list[float | None]:
    n = len(prices)
    r = [0.0] + [math.log(prices[i] / prices[i - 1]) for i in range(1, n)]
    out: list[float | None] = []
    for t in range(n):
        if t + h > n - 1:
            out.append(None)
        elif h == 1:
            out.append(abs(r[t + 1]) * math.sqrt(annual))
        else:
            out.append(statistics.stdev(r[t + 1 : t + h + 1]) * math.sqrt(annual))
    return out


def trailing_vol(prices: list[float], w: int, annual: float) -> list[float | None]:
    n = len(prices)
    r = [0.0] + [math.log(prices[i] / prices[i - 1]) for i in range(1, n)]
    return [statistics.stdev(r[t - w + 1 : t + 1]) * math.sqrt(annual) if t >= w else None for t in range(n)]


def groups(signal: list[float], quantiles: int) -> dict[str, list[bool]]:
    n = len(signal)
    out = {
        "all": [True] * n,
        "positive": [s > 0 for s in signal],
        "negative": [s <= 0 for s in signal],
        "flip": [i > 0 and signal[i - 1] > 0 and signal[i] <= 0 for i in range(n)],
    }
    codes = pd.qcut(pd.Series(signal), quantiles, labels=False, duplicates="drop")
    if codes.isna().any():
        codes = pd.Series([0] * n)
    for q in range(int(codes.max()) + 1):
        out[f"Q{q + 1}"] = [int(c) == q for c in codes]
    return out


def resample_indices(n: int, block: int, n_boot: int, seed: int) -> list[list[int]]:
    k = -(-n // block)
    starts = np.random.default_rng(seed).integers(0, n - block + 1, size=(n_boot, k))
    out = []
    for b in range(n_boot):
        idx: list[int] = []
        for j in range(k):
            idx.extend(range(int(starts[b, j]), int(starts[b, j]) + block))
        out.append(idx[:n])
    return out


def percentile(values: list[float], q: float) -> float:
    x = sorted(values)
    pos = q * (len(x) - 1)
    lo = math.floor(pos)
    if lo + 1 >= len(x):
        return x[lo]
    return x[lo] + (pos - lo) * (x[lo + 1] - x[lo])


def mean_of(idx: list[int], rv: list[float | None], member: list[bool]) -> float | None:
    vals = [rv[i] for i in idx if member[i] and rv[i] is not None]
    return sum(vals) / len(vals) if vals else None


def study(
    signal: list[float],
    prices: list[float],
    *,
    horizons: tuple[int, ...],
    annual: float,
    quantiles: int,
    block: int,
    n_boot: int,
    seed: int,
) -> tuple[dict, dict]:
    """(table, contrasts): {(h, group): (count, mean, median, lo, hi)}, {(h, name): (est, lo, hi, share, used)}."""
    n = len(signal)
    gs = groups(signal, quantiles)
    qn = f"Q{sum(g.startswith('Q') for g in gs)}"
    reps = resample_indices(n, block, n_boot, seed)
    table, contrasts = {}, {}
    for h in horizons:
        rv = forward_vol(prices, h, annual)
        boot = {g: [mean_of(idx, rv, m) for idx in reps] for g, m in gs.items()}
        point = {}
        for g, m in gs.items():
            vals = [rv[i] for i in range(n) if m[i] and rv[i] is not None]
            point[g] = sum(vals) / len(vals) if vals else None
            got = [x for x in boot[g] if x is not None]
            ci = (percentile(got, 0.025), percentile(got, 0.975)) if got else (None, None)
            table[(h, g)] = (len(vals), point[g], statistics.median(vals) if vals else None, *ci)
        pairs = [("negative", "positive"), ("flip", "all")] + ([("Q1", qn)] if qn != "Q1" else [])
        for a, b in pairs:
            diffs, ratios, le_d, le_r = [], [], [], []
            for x, y in zip(boot[a], boot[b]):
                if x is None or y is None:
                    continue
                tie = x - y <= 1e-12 * max(abs(x), abs(y))  # rounding-size differences are ties
                diffs.append(x - y)
                le_d.append(tie)
                if y > 0:
                    ratios.append(x / y)
                    le_r.append(tie)
            est = None if point[a] is None or point[b] is None else point[a] - point[b]
            contrasts[(h, f"{a} - {b}")] = _row(est, diffs, le_d)
            if b != "all":
                est_r = None if est is None or not point[b] else point[a] / point[b]
                contrasts[(h, f"{a} / {b}")] = _row(est_r, ratios, le_r)
    return table, contrasts


def _row(est: float | None, boot: list[float], le: list[bool]) -> tuple:
    if not boot:
        return (est, None, None, None, 0)
    return (est, percentile(boot, 0.025), percentile(boot, 0.975), sum(le) / len(le), len(boot))


def controlled_ratio(
    signal: list[float], prices: list[float], *, h: int, window: int, annual: float, bins: int
) -> float | None:
    """Negative / positive at equal trailing RV, point estimate, by loops over the bins."""
    rv = forward_vol(prices, h, annual)
    tv = trailing_vol(prices, window, annual)
    where = [t for t in range(len(signal)) if tv[t] is not None]
    codes = pd.qcut(pd.Series([tv[t] for t in where]), bins, labels=False, duplicates="drop")
    bin_of = {t: (0 if codes.isna().any() else int(c)) for t, c in zip(where, codes)}
    num = den = 0.0
    for b in sorted(set(bin_of.values())):
        neg = [rv[t] for t in where if bin_of[t] == b and signal[t] <= 0 and rv[t] is not None]
        pos = [rv[t] for t in where if bin_of[t] == b and signal[t] > 0 and rv[t] is not None]
        if neg and pos:
            num += sum(neg)
            den += len(neg) * (sum(pos) / len(pos))
    return num / den if den > 0 else None
