"""The words of :meth:`RegimeStudy.summary <flowgex.RegimeStudy.summary>`: one paragraph a reader can quote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .regime import RegimeStudy

__all__ = ["summary_text"]


def _num(x: Any) -> float | None:
    return None if x is None or x is pd.NA else float(x)


def _ratio_sentence(row: pd.Series, h: int, what: str) -> str:
    est, lo, hi = _num(row["estimate"]), _num(row["ci_low"]), _num(row["ci_high"])
    if est is None:
        return f"at {h} step(s) the {what} ratio cannot be formed (a group is empty or has zero volatility)"
    interval = (
        f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else " (no interval: no resample had both groups)"
    )
    notes = []
    if lo is not None and hi is not None:
        notes.append("interval excludes 1" if lo > 1 or hi < 1 else "interval includes 1: no clear difference")
    share = _num(row["share_le_0"])
    if share is not None:
        notes.append(f"{share:.1%} of resamples not higher")
    tail = f" ({'; '.join(notes)})" if notes else ""
    return f"forward {h}-step volatility was {est:.2f}\u00d7 as high {what}{interval}{tail}"


def summary_text(study: RegimeStudy) -> str:
    """Times and annualisation, then per horizon the regime ratio (and Q1/Qn, trailing-RV control), then the notes."""
    t, c = study.table, study.contrasts
    first = t[t["horizon"] == study.horizons[0]].set_index("group")["count"]
    parts = [
        f"Over {study.n_times:,} times from {study.start:%Y-%m-%d %H:%M} to {study.end:%Y-%m-%d %H:%M} "
        f"(A = {study.periods_per_year:g} periods per year: {study.periods_per_year_source}), "
        f"the signal was positive at {int(first['positive']):,} times, negative (<= 0) at "
        f"{int(first['negative']):,}, and flipped from positive to negative {int(first['flip']):,} time(s)."
    ]
    sentences = []
    last_q = f"Q{study.quantiles}"
    for h in study.horizons:
        ch = c[c["horizon"] == h].set_index("contrast")
        sentences.append(_ratio_sentence(ch.loc["negative / positive"], h, "in the negative regime as in the positive"))
        if f"Q1 / {last_q}" in ch.index:
            sentences.append(
                _ratio_sentence(
                    ch.loc[f"Q1 / {last_q}"], h, f"in the lowest signal quantile (Q1) as in the highest ({last_q})"
                )
            )
        if "negative / positive at equal trailing RV" in ch.index:
            sentences.append(
                _ratio_sentence(
                    ch.loc["negative / positive at equal trailing RV"],
                    h,
                    "in the negative regime as in the positive at equal trailing realized volatility",
                )
            )
    parts.append("; ".join(s[0].upper() + s[1:] if i == 0 else s for i, s in enumerate(sentences)) + ".")
    parts.append(
        f"Intervals are 95% moving-block bootstrap intervals (blocks of {study.block} times, "
        f"{study.n_boot:,} resamples, seed {study.seed})."
    )
    if study.control is None:
        parts.append(
            "Regimes go with the level of volatility itself; "
            "control='trailing_rv' compares them at equal trailing volatility."
        )
    if study.notes:
        parts.append("Note: " + "; ".join(study.notes) + ".")
    return " ".join(parts)
