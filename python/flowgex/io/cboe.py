"""CBOE option chain exports ("Download CSV" on cboe.com's delayed quotes page).

The file starts with a few header lines (the index and its last price, the
quote date and time in US Eastern time) and then one row per expiry and
strike with the call's and the put's columns side by side. It becomes a
canonical chain in the four-column form (asset, expiry, strike, kind), one
row per option, for :func:`flowgex.classic_gex` with ``multipliers={asset: 100}``.

Expiry time of day (CBOE names no time): PM-settled series (roots ending in W
or P such as SPXW and NDXP, and the other roots in ``PM_ROOTS``) expire at the
16:00 New York close of the expiry date; AM-settled series (the standard
third-Friday SPX, NDX, RUT roots) settle on the next morning's opening prints,
so their expiry is 09:30 New York time on the expiry date. Both follow US
daylight saving time.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ReadError, SchemaError
from ..schema import TIMESTAMP
from .files import read_bytes

__all__ = ["CboeChain", "read_cboe_quotedata", "PM_ROOTS", "CBOE_MULTIPLIER"]

#: Roots settled at the 16:00 close, and the index each one tracks.
PM_ROOTS = {"SPXW": "SPX", "SPXPM": "SPX", "NDXP": "NDX", "RUTW": "RUT", "XSP": "XSP", "VIXW": "VIX", "DJX": "DJX"}
#: Index options: 100 × the index per contract.
CBOE_MULTIPLIER = 100.0
_NY = "America/New_York"
_DATE = re.compile(r"Date:\s*([A-Za-z]+\s+\d{1,2},?\s+\d{4})(?:,|\s+at)?\s*(\d{1,2}:\d{2}\s*[AP]M)?\s*(E[SD]T)?")
_ROOT = re.compile(r"^([A-Z]+?)(\d{6})([CP])(\d{8})$")


@dataclass(frozen=True)
class CboeChain:
    """A CBOE chain as canonical rows, with the index's last price and the quote time (UTC)."""

    chain: pa.Table
    spot: float
    time: pd.Timestamp
    asset: str

    @property
    def multipliers(self) -> dict[str, float]:
        """``{asset: 100}``, for ``classic_gex(..., multipliers=...)``."""
        return {self.asset: CBOE_MULTIPLIER}


def _header(lines: list[list[str]], path: Path) -> tuple[float, pd.Timestamp, int]:
    spot: float | None = None
    when: pd.Timestamp | None = None
    for i, row in enumerate(lines):
        text = ",".join(row)
        if spot is None and "Last:" in text:
            m = re.search(r"Last:\s*([-\d.,]+)", text)
            spot = _float(m.group(1).replace(",", "")) if m else None
        if when is None and "Date:" in text:
            m = _DATE.search(text)
            if m:
                day = m.group(1).replace(",", "")
                clock = m.group(2) or "4:00 PM"
                try:
                    when = pd.Timestamp(pd.to_datetime(f"{day} {clock}", format="%B %d %Y %I:%M %p"))
                    when = when.tz_localize(_NY).tz_convert("UTC")
                except (ValueError, OverflowError) as exc:
                    raise ReadError(f"{path}: the quote date {day} {clock} is not a date ({exc})") from exc
        if row and row[0].strip() == "Expiration Date":
            if spot is None or when is None:
                break
            return spot, when, i
    raise SchemaError(
        f"{path}: not a CBOE quote export (expected 'Last: <price>' and 'Date: <Month D YYYY, H:MM PM ET>' "
        "lines before an 'Expiration Date,Calls,...' header)"
    )


def _float(text: str) -> float:
    """A number, NaN when the cell is not one (the engine counts the row), never an exception."""
    try:
        return float(text)
    except (ValueError, TypeError):
        return float("nan")


def _floats(cells: np.ndarray) -> np.ndarray:
    return np.array([_float(x) for x in cells], dtype=np.float64)


def _blocks(header: list[str], path: Path) -> dict[str, dict[str, int]]:
    names = [h.strip() for h in header]
    if "Strike" not in names:
        raise SchemaError(f"{path}: the column header has no Strike column: {names}")
    k = names.index("Strike")
    out = {}
    for kind, lo, hi in (("C", 1, k), ("P", k + 1, len(names))):
        cols = {names[j]: j for j in range(lo, hi)}
        need = ["IV", "Gamma", "Open Interest"]
        if [c for c in need if c not in cols] or ("Calls" not in cols and "Puts" not in cols):
            raise SchemaError(f"{path}: the {kind} block lacks one of {need + ['Calls/Puts']}: {names[lo:hi]}")
        cols["symbol"] = cols.get("Calls", cols.get("Puts", -1))
        out[kind] = cols
    out["strike"] = {"Strike": k}
    return out


def read_cboe_quotedata(path: str | Path, *, asset: str | None = None) -> CboeChain:
    """Reads a CBOE "quotedata" CSV into a canonical chain (one row per call and per put).

    Columns: ``timestamp`` (the quote time, UTC), ``asset`` (the index: NDX
    for NDX and NDXP series, or ``asset=``), ``expiry`` (see the module
    docstring), ``strike``, ``kind``, ``mark_iv`` (decimal, CBOE's IV),
    ``underlying_price`` (the index's last price), ``open_interest``,
    ``gamma`` (CBOE's), ``symbol`` and ``settlement`` ("AM"/"PM"). Rows are
    kept as they are: zero IVs and zero open interest included.
    """
    p = Path(path)
    if not p.is_file():
        raise ReadError(f"read_cboe_quotedata: no such file: {p}")
    text = read_bytes(p).decode("utf-8-sig", errors="replace")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ReadError(f"{p}: malformed CSV ({exc})") from exc
    try:
        return _chain(rows, p, asset)
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise ReadError(f"{p}: a date outside the supported range 1677-09-21 to 2262-04-11 ({exc})") from exc


def _chain(rows: list[list[str]], p: Path, asset: str | None) -> CboeChain:
    spot, when, h = _header(rows[:20], p)
    cols = _blocks(rows[h], p)
    data = [r for r in rows[h + 1 :] if len(r) == len(rows[h]) and r[0].strip()]
    if not data:
        raise SchemaError(f"{p}: no option rows after the header")
    grid = np.array(data, dtype=object)
    strike = _floats(grid[:, cols["strike"]["Strike"]])
    try:
        days = pd.to_datetime(pd.Series(grid[:, 0]).str.strip(), format="%a %b %d %Y")
    except (ValueError, OverflowError) as exc:
        raise ReadError(f"{p}: an expiration date that is not 'Fri Feb 18 2022' ({exc})") from exc
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("expiry", "kind", "iv", "oi", "gamma", "symbol", "pm", "a")}
    for kind in ("C", "P"):
        c = cols[kind]
        symbol = np.char.strip(grid[:, c["symbol"]].astype(str))
        roots = np.array([(m.group(1) if (m := _ROOT.match(x)) else x) for x in symbol], dtype=object)
        pm = np.array([r in PM_ROOTS for r in roots])
        clock = np.where(pm, pd.Timedelta(hours=16).value, pd.Timedelta(hours=9, minutes=30).value)
        local = pd.DatetimeIndex(days.to_numpy() + clock.astype("timedelta64[ns]"))
        parts["expiry"].append(local.tz_localize(_NY).tz_convert("UTC").as_unit("ns").asi8)
        parts["kind"].append(np.full(len(grid), kind, dtype=object))
        parts["iv"].append(_floats(grid[:, c["IV"]]))
        parts["oi"].append(_floats(grid[:, c["Open Interest"]]))
        parts["gamma"].append(_floats(grid[:, c["Gamma"]]))
        parts["symbol"].append(symbol.astype(object))
        parts["pm"].append(pm)
        parts["a"].append(np.array([asset.upper() if asset else PM_ROOTS.get(r, r) for r in roots], dtype=object))
    # One row per option: each strike's call, then its put.
    out = {k: np.column_stack(v).reshape(-1) for k, v in parts.items()}
    n = len(out["kind"])
    table = pa.table(
        {
            "timestamp": pa.array(np.full(n, when.value, dtype=np.int64)).cast(TIMESTAMP),
            "asset": pa.array(out["a"], pa.string()),
            "expiry": pa.array(out["expiry"].astype(np.int64)).cast(TIMESTAMP),
            "strike": pa.array(np.repeat(strike, 2), pa.float64()),
            "kind": pa.array(out["kind"], pa.string()),
            "mark_iv": pa.array(out["iv"].astype(np.float64), pa.float64()),
            "underlying_price": pa.array(np.full(n, spot), pa.float64()),
            "open_interest": pa.array(out["oi"].astype(np.float64), pa.float64()),
            "gamma": pa.array(out["gamma"].astype(np.float64), pa.float64()),
            "symbol": pa.array(out["symbol"], pa.string()),
            "settlement": pa.array(np.where(out["pm"].astype(bool), "PM", "AM"), pa.string()),
        }
    )
    assets = set(out["a"].tolist())
    if len(assets) != 1:
        raise SchemaError(f"{p}: options on several indexes {sorted(map(str, assets))}; pass asset= to name one")
    return CboeChain(chain=table, spot=spot, time=when, asset=assets.pop())
