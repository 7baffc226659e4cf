"""Bad rows, shared by the engines: the reasons and the error that names them.

The Rust engine (:mod:`flowgex.engine`), the pure-Python reference
(:mod:`flowgex.reference`) and :func:`flowgex.classic_gex` all raise the same
:class:`~flowgex.errors.BadRowsError` for the same rows, so the message is
built in one place, below the engines (the reference must not import the fast
path it checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from . import _core
from .diagnostics import REASONS
from .errors import BadRowsError, FlowgexError

__all__ = [
    "REASONS",
    "TABLES",
    "bad_rows_error",
    "reject_tables",
    "AMOUNT_MAX",
    "PRICE_BOUNDS",
    "IV_BOUNDS",
    "OPEN_INTEREST_MAX",
    "GAMMA_MAX",
]

# DESIGN section 5, amended: values outside these bounds are bad rows, so that no
# gamma or GEX can overflow (with a multiplier <= 1e12, |GEX| stays below ~1e60).
#: A trade's amount: 0 < amount <= AMOUNT_MAX.
AMOUNT_MAX = 1e12
#: Index, underlying and spot prices.
PRICE_BOUNDS = (1e-12, 1e12)
#: Volatilities (decimals): a trade's iv, a chain's mark_iv.
IV_BOUNDS = (1e-4, 1e3)
#: Open interest: 0 <= oi <= OPEN_INTEREST_MAX.
OPEN_INTEREST_MAX = 1e12
#: A venue's gamma: |gamma| <= GAMMA_MAX.
GAMMA_MAX = 1e12

#: The columns shown next to each reason in error messages (those the table has).
REASON_COLUMNS = {
    "bad_timestamp": ("timestamp",),
    "outlier_timestamp": ("timestamp",),
    "unparseable_instrument": ("instrument", "asset", "expiry", "strike", "kind"),
    "unknown_multiplier": ("instrument", "asset"),
    "unknown_side": ("side",),
    "bad_amount": ("amount",),
    "bad_price": ("index_price", "underlying_price", "price"),
    "bad_iv": ("iv", "mark_iv"),
    "bad_open_interest": ("open_interest",),
    "bad_gamma": ("gamma",),
    "bad_asset": ("asset",),
    "expired": ("instrument", "timestamp"),
    "late": ("timestamp",),
    "duplicate_trade_id": ("trade_id",),
}
_SHOWN = 5
#: The input tables, in the order the core numbers them (a reject's ``table`` code).
TABLES = ("trades", "chain", "spot")


def _describe(table: str, row: Mapping[str, Any]) -> str:
    reason = row["reason"]
    where = f"{table} row {row['row']}"
    if row.get("source_file") is not None:
        where += f" ({row['source_file']}"
        where += f", line {row['source_row']})" if row.get("source_row") is not None else ")"
    shown = [f"{c}={row[c]!r}" for c in REASON_COLUMNS.get(reason, ()) if c in row]
    detail = ""
    if reason == "unparseable_instrument" and isinstance(row.get("instrument"), str):
        try:
            _core.parse_instrument(row["instrument"])
        except FlowgexError as exc:
            detail = f": {exc}"
    return f"{where}: {reason} ({', '.join(shown)}){detail}"


def bad_rows_error(rejected: Mapping[str, pa.Table]) -> BadRowsError:
    """The error for bad rows under ``errors="raise"``: counts by table and reason,
    and the first few rows with the values that made them bad."""
    counts: dict[str, int] = {}
    lines: list[str] = []
    total = 0
    for name, table in rejected.items():
        total += table.num_rows
        for r in table.column("reason").to_pylist():
            counts[f"{name}.{r}"] = counts.get(f"{name}.{r}", 0) + 1
        for row in table.slice(0, max(0, _SHOWN - len(lines))).to_pylist():
            lines.append("  " + _describe(name, row))
    more = f"\n  ... and {total - len(lines)} more" if total > len(lines) else ""
    summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
    msg = (
        f"{total} bad input row(s) ({summary}); nothing was applied. Fix them, or pass "
        f"errors='quarantine' to set them aside (counted in diagnostics):\n" + "\n".join(lines) + more
    )
    return BadRowsError(msg, rejected=dict(rejected), counts=counts)


def reject_tables(report: Mapping[str, Any], tables: Mapping[str, Any]) -> dict[str, pa.Table]:
    """The rejected rows of each input table (a ``pa.Table``, or anything with its
    ``take``), with their input ``row`` and ``reason``."""
    out: dict[str, pa.Table] = {}
    which = np.asarray(report["table"])
    for code, name in enumerate(TABLES):
        mask = which == code
        table = tables.get(name)
        if not mask.any() or table is None:
            continue
        rows = np.asarray(report["row"])[mask].astype(np.int64)
        reasons = [REASONS[r] for r in np.asarray(report["reason"])[mask]]
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        reasons = [reasons[i] for i in order]
        taken = table.take(pa.array(rows))
        out[name] = taken.append_column("row", pa.array(rows, pa.int64())).append_column(
            "reason", pa.array(reasons, pa.string())
        )
    return out
