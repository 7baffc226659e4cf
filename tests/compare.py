"""Comparing two GexResults: exactly (chunking, threads, snapshots) or to the
DESIGN tolerance (fast path vs reference: 1e-9 relative, where sums are
judged relative to the sum of the absolute values of their terms)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import flowgex as fg

REL = 1e-9
ABS = 1e-12
TABLES = ("inventory", "by_strike", "by_expiry", "total")


def frames(res: fg.GexResult) -> dict[str, pd.DataFrame]:
    return {
        "inventory": res.inventory(),
        "by_strike": res.by_strike(),
        "by_expiry": res.by_expiry(),
        "total": res.total(),
    }


def assert_identical(a: fg.GexResult, b: fg.GexResult) -> None:
    """Bit-for-bit equality of every table."""
    fa, fb = frames(a), frames(b)
    for name in TABLES:
        pd.testing.assert_frame_equal(fa[name], fb[name], check_exact=True, obj=name)
        for col in fa[name].columns:
            if fa[name][col].dtype == np.float64:
                assert np.array_equal(
                    fa[name][col].to_numpy().view(np.int64), fb[name][col].to_numpy().view(np.int64)
                ), (name, col)
    assert list(a.times) == list(b.times)


def _close(x: np.ndarray, y: np.ndarray, scale: np.ndarray | float, what: str) -> None:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    assert x.shape == y.shape, what
    assert np.isfinite(x).all() and np.isfinite(y).all(), f"{what}: non-finite value"
    tol = REL * np.maximum(np.maximum(np.abs(x), np.abs(y)), scale) + ABS
    bad = np.abs(x - y) > tol
    assert not bad.any(), f"{what}: {np.flatnonzero(bad)[:5]} fast={x[bad][:3]} ref={y[bad][:3]}"


def assert_close(fast: fg.GexResult, ref: fg.GexResult) -> None:
    """Fast path == reference to the DESIGN tolerance, same rows, same keys."""
    fa, fb = frames(fast), frames(ref)
    inv_a, inv_b = fa["inventory"], fb["inventory"]
    keys = ["asset", "time", "instrument", "expiry", "strike", "kind"]
    pd.testing.assert_frame_equal(
        inv_a[keys].reset_index(drop=True), inv_b[keys].reset_index(drop=True), obj="inventory keys"
    )
    for col in ("inventory", "spot", "vol", "gamma", "gex"):
        _close(inv_a[col], inv_b[col], 0.0, f"inventory.{col}")
    # A sum is only as exact as the sum of its terms' magnitudes.
    mag = inv_b.assign(m=inv_b["gex"].abs()).groupby(["asset", "time"])["m"].sum()
    for name, key in (
        ("by_strike", ["asset", "time", "strike"]),
        ("by_expiry", ["asset", "time", "expiry"]),
        ("total", ["asset", "time"]),
    ):
        a, b = fa[name], fb[name]
        pd.testing.assert_frame_equal(a[key].reset_index(drop=True), b[key].reset_index(drop=True), obj=f"{name} keys")
        scale = b.join(mag, on=["asset", "time"])["m"].fillna(0.0).to_numpy()
        for col in [c for c in a.columns if c.endswith("gex") or c == "spot"]:
            _close(a[col], b[col], scale if col != "spot" else 0.0, f"{name}.{col}")
    # DEX, VEX, CEX (when computed): the same columns on both sides, each sum judged
    # relative to the sum of its own terms' magnitudes.
    exposures = [c for c in ("dex", "vex", "cex") if c in inv_b.columns]
    assert exposures == [c for c in ("dex", "vex", "cex") if c in inv_a.columns]
    for x in exposures:
        _close(inv_a[x], inv_b[x], 0.0, f"inventory.{x}")
        mag = inv_b.assign(m=inv_b[x].abs()).groupby(["asset", "time"])["m"].sum()
        for name in ("by_strike", "by_expiry", "total"):
            a, b = fa[name], fb[name]
            scale = b.join(mag, on=["asset", "time"])["m"].fillna(0.0).to_numpy()
            _close(a[x], b[x], scale, f"{name}.{x}")
    assert list(fast.times) == list(ref.times)
    da, db = fast.diagnostics.as_dict(), ref.diagnostics.as_dict()
    assert da == db, (da, db)
    for table, rows in ref.diagnostics.rejected_rows.items():
        got = fast.diagnostics.rejected_rows[table]
        assert got.column("row").to_pylist() == rows.column("row").to_pylist(), table
        assert got.column("reason").to_pylist() == rows.column("reason").to_pylist(), table
    assert set(fast.diagnostics.rejected_rows) == set(ref.diagnostics.rejected_rows)
