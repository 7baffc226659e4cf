"""DESIGN section 5: which input rows are bad, and why (the first failing check, in the
engines' precedence order); the instrument ids and multipliers of the good ones.

The value bounds (section 5, amended) keep every gamma and GEX finite; they are
written here again from the text rather than imported from the fast path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..diagnostics import REASONS
from ..errors import MultiplierError
from ..multipliers import contract_multiplier
from ..options import EngineOptions
from .buckets import timestamp_limit
from .instruments import INT64_MIN, Key, instrument

__all__ = ["Ref", "read_rows", "validate_trades", "validate_chain", "validate_spot", "rejected_tables"]

AMOUNT_MAX = 1e12
PRICE_MIN, PRICE_MAX = 1e-12, 1e12
IV_MIN, IV_MAX = 1e-4, 1e3
OPEN_INTEREST_MAX = 1e12
GAMMA_MAX = 1e12
TABLES = ("trades", "chain", "spot")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _within(x: Any, lo: float, hi: float) -> bool:
    """A finite number in [lo, hi] (NaN, ±inf, null and non-numbers are not)."""
    return _number(x) and lo <= x <= hi


def _observation(x: Any, lo: float, hi: float) -> tuple[bool, Any]:
    """A trade's optional iv or index price: (valid, value or None). Null and exactly
    zero are "no observation" (valid, None); anything else must lie in [lo, hi]."""
    if x is None or (_number(x) and x == 0):
        return True, None
    return _within(x, lo, hi), x


def _bad_timestamp(ts: Any, res: int) -> bool:
    # int64 min is pandas' NaT: the fast path reads it as null, and so does the reference.
    return ts is None or ts == INT64_MIN or ts >= timestamp_limit(res)


def _side(v: Any) -> int:
    if isinstance(v, str):
        return {"buy": 1, "sell": -1}.get(v.lower(), 0)
    if isinstance(v, int) and not isinstance(v, bool) and v in (1, -1):
        return v
    return 0


def read_rows(table: Any) -> list[dict[str, Any]]:
    """Canonical rows as plain Python values, times as integer nanoseconds."""
    import pyarrow as pa  # input decoding only

    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        cols[name] = col.to_pylist()
    n = table.num_rows
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


class Ref:
    """Instrument ids (in order of first sight), their multipliers, and the rejected rows."""

    def __init__(self, opts: EngineOptions) -> None:
        self.o = opts
        self.keys: list[Key] = []
        self.index: dict[Key, int] = {}
        self.mult: dict[int, float] = {}
        self.rejected = [[0] * len(REASONS) for _ in range(3)]
        self.rejects: dict[str, list[tuple[int, str]]] = {"trades": [], "chain": [], "spot": []}
        self.chain_after_expiry = 0

    def known_multiplier(self, key: Key) -> float | None:
        """The option's multiplier (user ASSET_QUOTE, user ASSET, built-in), or None."""
        return contract_multiplier(key[0], key[1], dict(self.o.multipliers))

    def id_of(self, key: Key) -> int:
        key = (key[0].upper(), key[1].upper() if key[1] else None, key[2], key[3], key[4])
        if key not in self.index:
            self.index[key] = len(self.keys)
            self.keys.append(key)
        return self.index[key]

    def multiplier(self, i: int) -> float:
        if i not in self.mult:
            asset = self.keys[i][0]
            m = self.known_multiplier(self.keys[i])
            if m is None:  # only a seeded option gets here: rows are checked first
                raise MultiplierError(
                    f"no contract multiplier for asset {asset!r}: pass multipliers={{{asset!r}: ...}}"
                )
            self.mult[i] = m
        return self.mult[i]

    def reject(self, table: str, row: int, reason: str) -> None:
        self.rejects[table].append((row, reason))
        self.rejected[TABLES.index(table)][REASONS.index(reason)] += 1


def validate_trades(ref: Ref, rows: list[dict[str, Any]], parts: bool) -> list[dict[str, Any]]:
    """The good trades sorted by (time, row), duplicates of a trade id (per asset) rejected."""
    ok = []
    for n, row in enumerate(rows):
        inst = instrument(row, parts)
        ts = row.get("timestamp")
        px_ok, px = _observation(row.get("index_price"), PRICE_MIN, PRICE_MAX)
        iv_ok, iv = _observation(row.get("iv"), IV_MIN, IV_MAX)
        amount = row.get("amount")
        if _bad_timestamp(ts, ref.o.resolution_ns):
            reason = "bad_timestamp"
        elif inst is None:
            reason = "unparseable_instrument"
        elif ref.known_multiplier(inst) is None:
            reason = "unknown_multiplier"
        elif _side(row.get("side")) == 0:
            reason = "unknown_side"
        elif not (_within(amount, 0.0, AMOUNT_MAX) and amount > 0):
            reason = "bad_amount"
        elif not px_ok:
            reason = "bad_price"
        elif not iv_ok:
            reason = "bad_iv"
        elif ts >= inst[2]:
            reason = "expired"
        else:
            ok.append(
                {
                    "n": n,
                    "ts": ts,
                    "id": ref.id_of(inst),
                    "q": _side(row["side"]) * row["amount"],
                    "px": px,
                    "iv": iv,
                    "trade_id": row.get("trade_id"),
                }
            )
            continue
        ref.reject("trades", n, reason)
    ok.sort(key=lambda e: (e["ts"], e["n"]))
    # Trade ids are per asset (venues number trades per currency).
    seen: set[Any] = set()
    kept = []
    for e in ok:
        tid = e["trade_id"]
        if tid is not None:
            key = (ref.keys[e["id"]][0], tid)
            if key in seen:
                ref.reject("trades", e["n"], "duplicate_trade_id")
                continue
            seen.add(key)
        kept.append(e)
    return kept


def validate_chain(ref: Ref, rows: list[dict[str, Any]], parts: bool) -> list[dict[str, Any]]:
    """The good chain rows sorted by (time, row); rows at or after expiry are counted, not kept."""
    ok = []
    for n, row in enumerate(rows):
        inst = instrument(row, parts)
        ts = row.get("timestamp")
        under, iv, oi, g = (row.get(c) for c in ("underlying_price", "mark_iv", "open_interest", "gamma"))
        if _bad_timestamp(ts, ref.o.resolution_ns):
            reason = "bad_timestamp"
        elif inst is None:
            reason = "unparseable_instrument"
        elif ref.known_multiplier(inst) is None:
            reason = "unknown_multiplier"
        elif under is not None and not _within(under, PRICE_MIN, PRICE_MAX):
            reason = "bad_price"
        elif iv is not None and not _within(iv, IV_MIN, IV_MAX):
            reason = "bad_iv"
        elif oi is not None and not _within(oi, 0.0, OPEN_INTEREST_MAX):
            reason = "bad_open_interest"
        elif g is not None and not _within(g, -GAMMA_MAX, GAMMA_MAX):
            reason = "bad_gamma"
        elif ts >= inst[2]:
            # Not bad input (venues publish expiring options): ignored for the option, counted.
            ref.chain_after_expiry += 1
            continue
        else:
            ok.append({"n": n, "ts": ts, "id": ref.id_of(inst), "under": under, "iv": iv})
            continue
        ref.reject("chain", n, reason)
    ok.sort(key=lambda e: (e["ts"], e["n"]))
    return ok


def validate_spot(ref: Ref, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The good spot rows sorted by (time, row), assets upper-cased."""
    ok = []
    for n, row in enumerate(rows):
        asset = row.get("asset")
        if _bad_timestamp(row.get("timestamp"), ref.o.resolution_ns):
            ref.reject("spot", n, "bad_timestamp")
        elif not isinstance(asset, str) or not asset.strip():
            ref.reject("spot", n, "bad_asset")
        elif not _within(row.get("price"), PRICE_MIN, PRICE_MAX):
            ref.reject("spot", n, "bad_price")
        else:
            ok.append({"n": n, "ts": row["timestamp"], "asset": asset.strip().upper(), "price": row["price"]})
    ok.sort(key=lambda e: (e["ts"], e["n"]))
    return ok


def rejected_tables(ref: Ref, tables: Mapping[str, Any]) -> dict[str, Any]:
    """The rejected rows of each input table, with their ``row`` and ``reason``."""
    import pyarrow as pa

    out = {}
    for name, rows in ref.rejects.items():
        if rows and tables.get(name) is not None:
            rows = sorted(rows)
            idx = [r for r, _ in rows]
            t = tables[name].take(pa.array(idx, pa.int64()))
            out[name] = t.append_column("row", pa.array(idx, pa.int64())).append_column(
                "reason", pa.array([r for _, r in rows], pa.string())
            )
    return out
