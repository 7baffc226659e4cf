"""Is a peer's answer flowgex's answer? (checked before any time is reported)

Totals and the last-step strike chart must agree to 1e-9 relative, where a
sum is judged relative to the sum of the magnitudes of its terms (Σ|GEX|, which
the peers report). A row one side omits counts as 0: flowgex keeps a total row
for an asset at every grid time from its first live step on (0 when nothing is
live) and peers may leave such rows out; a row that is missing on one side and
non-zero on the other is a disagreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import PeerOutput

__all__ = ["REL", "ABS", "disagreements", "assert_agree"]

REL = 1e-9
ABS = 1e-12


def _compare(ref: pd.DataFrame, got: pd.DataFrame, keys: list[str], what: str) -> list[str]:
    cols = ["gex", "gex_abs"]
    a = ref.reindex(columns=keys + cols)
    b = got.reindex(columns=keys + cols)
    problems = []
    for side, frame in (("flowgex", a), ("peer", b)):
        dup = frame.duplicated(keys)
        if dup.any():
            problems.append(f"{what}: {int(dup.sum())} duplicate {keys} rows in the {side} answer")
    m = a.merge(b, on=keys, how="outer", suffixes=("_ref", "_got"), indicator=True)
    x = m["gex_ref"].fillna(0.0).to_numpy(dtype=float)
    y = m["gex_got"].fillna(0.0).to_numpy(dtype=float)
    scale = np.fmax(m["gex_abs_ref"].to_numpy(dtype=float), m["gex_abs_got"].to_numpy(dtype=float))
    scale = np.nan_to_num(scale, nan=0.0)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        problems.append(f"{what}: non-finite GEX")
    tol = REL * np.maximum(np.maximum(np.abs(x), np.abs(y)), scale) + ABS
    bad = ~(np.abs(x - y) <= tol)
    if bad.any():
        rows = m.loc[bad, keys + ["gex_ref", "gex_got", "_merge"]].head(5).to_dict("records")
        problems.append(f"{what}: {int(bad.sum())} of {len(m)} rows differ, e.g. {rows}")
    return problems


def disagreements(ref: PeerOutput, got: PeerOutput) -> list[str]:
    """Everything that differs between two answers (empty when they agree)."""
    problems = []
    if ref.last != got.last:
        problems.append(f"last grid time: flowgex {ref.last}, peer {got.last}")
    problems += _compare(ref.total, got.total, ["asset", "time"], "total")
    problems += _compare(ref.by_strike, got.by_strike, ["asset", "strike"], "by_strike at the last grid time")
    if len(got.total) == 0 or not np.any(got.total["gex"].to_numpy() != 0):
        problems.append("the peer's totals are empty or all zero")
    return problems


def assert_agree(ref: PeerOutput, got: PeerOutput, name: str = "peer") -> None:
    problems = disagreements(ref, got)
    assert not problems, f"{name} disagrees with flowgex:\n  " + "\n  ".join(problems)
