"""Helpers for the report.html tests: a small market's results and the page's data read back out."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

import flowgex as fg
from flowgex.cli._pipeline import compute_classic

_BLOB = re.compile(r'<script type="application/json" id="fgx-data">(.*?)</script>', re.S)


def market_results(greeks: tuple[str, ...] = ("gamma",)) -> tuple[fg.GexResult, fg.GexResult]:
    """Flow GEX of a 2-day simulated BTC+ETH market (with ``greeks``) and classic GEX of its chain at the last step."""
    m = fg.simulate(days=2, assets=("BTC", "ETH"), seed=11, trades_per_day=2_000)
    flow = fg.flow_gex(m.trades, spot=m.spot, greeks=greeks)
    classic, note = compute_classic(m.chain, at=flow.times[-1])
    assert classic is not None, note
    return flow, classic


def read_blob(path: Path) -> dict[str, Any]:
    """The JSON data embedded in a written page (as the browser's script reads it)."""
    text = path.read_text(encoding="utf-8")
    found = _BLOB.findall(text)
    assert len(found) == 1
    return json.loads(found[0])


def f64(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<f8")


def i32(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<i4")


def bars(variant: dict[str, Any], j: int) -> dict[str, np.ndarray]:
    """The strike chart's bars of offered step ``j``: strike, call, put, gex (and dex, vex, cex when present)."""
    b = variant["bars"]
    off, ki, K = i32(b["off"]), i32(b["ki"]), f64(b["K"])
    sl = slice(int(off[j]), int(off[j + 1]))
    out = {"strike": K[ki[sl]], "call": f64(b["c"])[sl], "put": f64(b["p"])[sl], "gex": f64(b["g"])[sl]}
    return out | {e: f64(x)[sl] for e, x in b.get("x", {}).items()}
