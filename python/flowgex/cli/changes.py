"""``flowgex run --changes 10min,1h,4h``: which strikes gained or lost dealer
exposure over each lookback (DESIGN rule 17), printed and written as a table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import OptionError
from ..options import duration_ns
from ..result import GexResult

__all__ = ["parse_lookbacks", "changes_frame", "changes_text"]

TOP = 5


def parse_lookbacks(text: str | None) -> list[str]:
    """Comma-separated durations ("10min,1h,4h"), each checked; an empty list without the option."""
    if text is None:
        return []
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise OptionError(f"invalid option --changes: expected durations such as '10min,1h', found {text!r}")
    for s in items:
        duration_ns(s, name="--changes")
    return items


def changes_frame(res: GexResult, assets: list[str], lookbacks: list[str], at: Any) -> tuple[pd.DataFrame, list[str]]:
    """Every asset's changes per lookback in one table (``lookback`` column), and notes
    for the lookbacks that reach before the result's first grid time."""
    parts, notes = [], []
    for asset in assets:
        for lb in lookbacks:
            try:
                df = res.changes(asset, lookback=lb, at="last" if at is None else at)
            except OptionError as exc:
                notes.append(f"{asset} changes over {lb}: {exc}")
                continue
            parts.append(df.assign(lookback=lb))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return frame, notes


def changes_text(frame: pd.DataFrame, top: int = TOP) -> str:
    """The ``top`` strikes by |GEX change| per asset and lookback, as aligned text."""
    if frame.empty:
        return "(no changes to show)"
    change_cols = [c for c in frame.columns if c.endswith("_change")]
    blocks = []
    for (asset, lb), df in frame.groupby(["asset", "lookback"], sort=False):
        head = df.head(top)[["strike", "gex", *change_cols]]
        t0, t1 = df["before"].iloc[0], df["time"].iloc[0]
        blocks.append(
            f"{asset}, {lb} ({t0:%Y-%m-%d %H:%M} -> {t1:%Y-%m-%d %H:%M} UTC):\n" + head.to_string(index=False)
        )
    return "\n\n".join(blocks)
