"""Pure-Python reference implementation of taker-flow GEX.

Written from DESIGN.md section 1 (definitions) and section 5 (bad input)
alone, in plain Python with the ``math`` module: no numpy, no Rust, no shared
helpers with the fast path beyond reading the canonical input tables, the
contract-multiplier table (data, not logic), the wording of the bad-rows error
and wrapping the output in a :class:`GexResult`. It is slow on purpose (one loop
per grid step over every live option) so that it can catch a wrong fast path
rather than mirror it. Select it with ``flow_gex(..., engine="reference")``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from .diagnostics import REASONS, Diagnostics
from .errors import InstrumentError, MissingSpotError, MissingVolError, MultiplierError, OptionError
from .multipliers import contract_multiplier
from .options import EXPOSURES, EngineOptions
from .rejects import bad_rows_error
from .result import GexResult
from .schema import canonical_chain, canonical_initial, canonical_spot, canonical_trades, uses_parts

__all__ = ["flow_gex_reference", "gamma", "first_order", "parse_name", "bucket_label", "timestamp_limit"]

YEAR_NS = 365 * 24 * 3600 * 10**9
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# DESIGN section 5, amended: the value bounds that keep every GEX and gamma finite.
AMOUNT_MAX = 1e12
PRICE_MIN, PRICE_MAX = 1e-12, 1e12
IV_MIN, IV_MAX = 1e-4, 1e3
OPEN_INTEREST_MAX = 1e12
GAMMA_MAX = 1e12
_NAME = re.compile(r"^([A-Z0-9]+)(?:_([A-Z0-9]+))?-(\d{1,2})([A-Z]{3})(\d{2})-(\d+(?:[D.]\d+)?)-([CP])$")


# -- definitions ---------------------------------------------------------------
def bucket_label(ts: int, res: int) -> int:
    """Rule 1: a trade at τ is labelled by the right edge (⌊τ/Δ⌋+1)·Δ."""
    return (ts // res + 1) * res


def timestamp_limit(res: int) -> int:
    """The first bad timestamp at resolution Δ: (⌊(2⁶³−1)/Δ⌋ − 2)·Δ, so that a bucket
    label (⌊τ/Δ⌋+1)·Δ and one more step still fit in int64."""
    return ((INT64_MAX // res) - 2) * res


def gamma(S: float, K: float, T: float, sigma: float, r: float = 0.0) -> float:
    """Rule 8: Black-76 gamma; 0.0 for degenerate inputs."""
    for x in (S, K, T, sigma):
        if not (math.isfinite(x) and x > 0):
            return 0.0
    try:
        d1 = (math.log(S / K) + sigma * sigma * T / 2.0) / (sigma * math.sqrt(T))
        g = math.exp(-r * T) * math.exp(-d1 * d1 / 2.0) / math.sqrt(2.0 * math.pi) / (S * sigma * math.sqrt(T))
    except (OverflowError, ZeroDivisionError, ValueError):
        return 0.0
    return g if math.isfinite(g) and g > 0 else 0.0


def first_order(S: float, K: float, T: float, sigma: float, r: float, is_call: bool) -> tuple[float, float, float]:
    """Rule 15: Black-76 (delta, vanna, charm); (0, 0, 0) for degenerate inputs.

    Δ_C = D·N(d1), Δ_P = D·(N(d1) − 1) = −D·N(−d1) (D = e^{−rT}; N by erfc, accurate in
    both tails); vanna = −D·φ(d1)·d2/σ; charm = −∂Δ/∂T = D·φ(d1)·d2/(2T) + r·Δ, since
    ∂d1/∂T = −d2/(2T) and ∂D/∂T = −r·D.
    """
    for x in (S, K, T, sigma):
        if not (math.isfinite(x) and x > 0):
            return 0.0, 0.0, 0.0
    try:
        vst = sigma * math.sqrt(T)
        d1 = (math.log(S / K) + sigma * sigma * T / 2.0) / vst
        d2 = d1 - vst
        disc = math.exp(-r * T)
        pdf = math.exp(-d1 * d1 / 2.0) / math.sqrt(2.0 * math.pi)
        if is_call:
            delta = disc * 0.5 * math.erfc(-d1 / math.sqrt(2.0))
        else:
            delta = -disc * 0.5 * math.erfc(d1 / math.sqrt(2.0))
        vanna = -disc * pdf * d2 / sigma
        charm = disc * pdf * d2 / (2.0 * T) + r * delta
    except (OverflowError, ZeroDivisionError, ValueError):
        return 0.0, 0.0, 0.0
    out = tuple(v if math.isfinite(v) else 0.0 for v in (delta, vanna, charm))
    return out[0], out[1], out[2]


def parse_name(name: str) -> tuple[str, str | None, int, float, str] | None:
    """(asset, quote, expiry_ns, strike, kind) of a Deribit name, or None."""
    m = _NAME.match(name.upper()) if isinstance(name, str) else None
    if m is None:
        return None
    asset, quote, day, mon, yy, strike, kind = m.groups()
    if mon not in MONTHS:
        return None
    try:
        expiry = dt.datetime(2000 + int(yy), MONTHS.index(mon) + 1, int(day), 8, tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    k = float(strike.replace("D", "."))
    if not (math.isfinite(k) and k > 0):
        return None
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return asset, quote, (expiry - epoch) // dt.timedelta(microseconds=1) * 1000, k, kind


def display_name(asset: str, quote: str | None, expiry_ns: int, strike: float, kind: str) -> str:
    day = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=expiry_ns // 1000)
    k = str(int(strike)) if strike.is_integer() else repr(strike).replace(".", "d")
    under = asset if quote is None else f"{asset}_{quote}"
    return f"{under}-{day.day}{MONTHS[day.month - 1]}{day.year % 100:02d}-{k}-{kind}"


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _positive(x: Any) -> bool:
    return _number(x) and x > 0


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


# -- reading -------------------------------------------------------------------
def _rows(table: Any) -> list[dict[str, Any]]:
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


def _instrument(row: Mapping[str, Any], parts: bool) -> tuple[str, str | None, int, float, str] | None:
    if not parts:
        return parse_name(row.get("instrument"))
    asset, expiry, strike, kind = row.get("asset"), row.get("expiry"), row.get("strike"), row.get("kind")
    if not isinstance(asset, str) or not (asset.isascii() and asset.isalnum()) or expiry in (None, INT64_MIN):
        return None
    if not _positive(strike):
        return None
    k = str(kind).upper() if kind is not None else ""
    k = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}.get(k)
    return (asset.upper(), None, int(expiry), float(strike), k) if k else None


def _side(v: Any) -> int:
    if isinstance(v, str):
        return {"buy": 1, "sell": -1}.get(v.lower(), 0)
    if isinstance(v, int) and not isinstance(v, bool) and v in (1, -1):
        return v
    return 0


# -- the engine ----------------------------------------------------------------
class _Ref:
    def __init__(self, opts: EngineOptions) -> None:
        self.o = opts
        self.keys: list[tuple[str, str | None, int, float, str]] = []
        self.index: dict[tuple[str, str | None, int, float, str], int] = {}
        self.mult: dict[int, float] = {}
        self.rejected = [[0] * len(REASONS) for _ in range(3)]
        self.rejects: dict[str, list[tuple[int, str]]] = {"trades": [], "chain": [], "spot": []}
        self.chain_after_expiry = 0

    def known_multiplier(self, key: tuple[str, str | None, int, float, str]) -> float | None:
        """The option's multiplier (user ASSET_QUOTE, user ASSET, built-in), or None."""
        return contract_multiplier(key[0], key[1], dict(self.o.multipliers))

    def id_of(self, key: tuple[str, str | None, int, float, str]) -> int:
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
        self.rejected[("trades", "chain", "spot").index(table)][REASONS.index(reason)] += 1


def _validate_trades(ref: _Ref, rows: list[dict[str, Any]], parts: bool) -> list[dict[str, Any]]:
    ok = []
    for n, row in enumerate(rows):
        inst = _instrument(row, parts)
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


def _validate_chain(ref: _Ref, rows: list[dict[str, Any]], parts: bool) -> list[dict[str, Any]]:
    ok = []
    for n, row in enumerate(rows):
        inst = _instrument(row, parts)
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


def _validate_spot(ref: _Ref, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def flow_gex_reference(
    trades: Any, chain: Any = None, spot: Any = None, *, initial: Any = None, **options: Any
) -> GexResult:
    """Same inputs, options and output as :func:`flowgex.flow_gex`, computed naively."""
    opts = EngineOptions.parse(**options)
    ref = _Ref(opts)
    res = opts.resolution_ns
    t_tab = canonical_trades(trades)
    c_tab = canonical_chain(chain) if chain is not None else None
    s_tab = canonical_spot(spot) if spot is not None else None
    t_rows = _rows(t_tab)
    c_rows = _rows(c_tab) if c_tab is not None else []
    s_rows = _rows(s_tab) if s_tab is not None else []

    inventory: dict[int, float] = {}
    traded: set[int] = set()
    if initial is not None:
        i_tab = canonical_initial(initial)
        for n, row in enumerate(_rows(i_tab)):
            key = _instrument(row, uses_parts(i_tab))
            if key is None:
                raise InstrumentError(f"initial row {n}: cannot parse the instrument")
            i = ref.id_of(key)
            if i in traded:
                raise OptionError(f"invalid option initial: two rows seed {display_name(*ref.keys[i])}")
            inv = row.get("inventory")
            if inv is None or not (math.isfinite(inv) and abs(inv) <= 1e15):  # the core's MAX_SEED
                raise OptionError(f"invalid option initial: row {n} has inventory {inv!r}")
            ref.multiplier(i)
            inventory[i] = float(inv)
            traded.add(i)

    tr = _validate_trades(ref, t_rows, uses_parts(t_tab))
    ch = _validate_chain(ref, c_rows, uses_parts(c_tab)) if c_tab is not None else []
    sp = _validate_spot(ref, s_rows)
    rejected_rows = _rejected_tables(ref, {"trades": t_tab, "chain": c_tab, "spot": s_tab})
    if opts.errors == "raise" and rejected_rows:
        raise bad_rows_error(rejected_rows)
    for e in tr:
        ref.multiplier(e["id"])

    labels = [bucket_label(e["ts"], res) for e in tr]
    first = opts.start_ns if opts.start_ns is not None else (min(labels) if labels else None)
    last = opts.end_ns if opts.end_ns is not None else (max(labels) if labels else None)

    asset_ids: dict[str, int] = {}

    def aid(a: str) -> int:
        return asset_ids.setdefault(a, len(asset_ids))

    # Rule 16: the exposure of each greek asked beyond gamma, and its scale.
    exposures = tuple(EXPOSURES[g] for g in opts.greeks if g in EXPOSURES)
    scales = {"dex": 1.0, "vex": 0.01, "cex": 1.0 / 365.0}
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "inventory.time",
            "inventory.inst",
            "inventory.inventory",
            "inventory.spot",
            "inventory.vol",
            "inventory.gamma",
            "inventory.gex",
            "by_strike.time",
            "by_strike.asset",
            "by_strike.strike",
            "by_strike.call_gex",
            "by_strike.put_gex",
            "by_strike.gex",
            "by_expiry.time",
            "by_expiry.asset",
            "by_expiry.expiry",
            "by_expiry.gex",
            "total.time",
            "total.asset",
            "total.spot",
            "total.gex",
            *(f"{table}.{x}" for table in ("inventory", "by_strike", "by_expiry", "total") for x in exposures),
            "steps.time",
            "steps.spot_chain",
            "steps.spot_table",
            "steps.spot_index",
            "steps.spot_missing",
            "steps.vol_chain",
            "steps.vol_trade",
            "steps.vol_missing",
        )
    }

    # As-of registers, advanced step by step (rules 5 and 6: strictly before t).
    chain_under: dict[int, float] = {}
    chain_iv: dict[int, float] = {}
    trade_iv: dict[int, float] = {}
    spot_tab: dict[str, float] = {}
    index_px: dict[str, float] = {}
    chain_any: dict[str, float] = {}
    active: set[str] = set()
    ti = ci = si = 0

    steps = range(first, last + 1, res) if first is not None and last is not None and first <= last else range(0)
    for t in steps:
        # Buckets with label <= t: flows (rule 2, 3) summed per bucket in time order.
        while ti < len(tr) and tr[ti]["ts"] < t:
            label = bucket_label(tr[ti]["ts"], res)
            flow: dict[int, float] = {}
            while ti < len(tr) and bucket_label(tr[ti]["ts"], res) == label:
                e = tr[ti]
                flow[e["id"]] = flow.get(e["id"], 0.0) + e["q"]
                if e["iv"] is not None:
                    trade_iv[e["id"]] = e["iv"]
                if e["px"] is not None:
                    index_px[ref.keys[e["id"]][0]] = e["px"]
                ti += 1
            for i, f in flow.items():
                inventory[i] = inventory.get(i, 0.0) + (-f)
                traded.add(i)
        while ci < len(ch) and ch[ci]["ts"] < t:
            e = ch[ci]
            if e["iv"] is not None:
                chain_iv[e["id"]] = e["iv"]
            if e["under"] is not None:
                chain_under[e["id"]] = e["under"]
                chain_any[ref.keys[e["id"]][0]] = e["under"]
            ci += 1
        while si < len(sp) and sp[si]["ts"] < t:
            spot_tab[sp[si]["asset"]] = sp[si]["price"]
            si += 1

        live = [i for i in traded if ref.keys[i][2] > t]  # rule 4
        live.sort(
            key=lambda i: (
                ref.keys[i][0],
                ref.keys[i][3],
                ref.keys[i][2],
                ref.keys[i][4],
                (0, "") if ref.keys[i][1] is None else (1, ref.keys[i][1]),
            )
        )
        active |= {ref.keys[i][0] for i in live}
        if not live and not active:
            continue
        counts = dict.fromkeys(
            ("spot_chain", "spot_table", "spot_index", "spot_missing", "vol_chain", "vol_trade", "vol_missing"), 0
        )
        gex_of: dict[int, float] = {}
        first_of: dict[int, dict[str, float]] = {}
        for i in live:
            asset, _, expiry, strike, _ = ref.keys[i]
            if i in chain_under:
                S, src = chain_under[i], "spot_chain"
            elif asset in spot_tab:
                S, src = spot_tab[asset], "spot_table"
            elif asset in index_px:
                S, src = index_px[asset], "spot_index"
            elif opts.missing_spot == "error":
                raise MissingSpotError(f"no underlying price for {display_name(*ref.keys[i])} at {t}")
            else:
                S, src = 0.0, "spot_missing"
            counts[src] += 1
            if i in chain_iv:
                sigma, vsrc = chain_iv[i], "vol_chain"
            elif i in trade_iv:
                sigma, vsrc = trade_iv[i], "vol_trade"
            elif opts.missing_vol == "error":
                raise MissingVolError(f"no volatility for {display_name(*ref.keys[i])} at {t}")
            else:
                sigma = 0.0 if opts.missing_vol == "skip" else float(opts.missing_vol)
                vsrc = "vol_missing"
            counts[vsrc] += 1
            T = (expiry - t) / YEAR_NS  # rule 7
            g = gamma(S, strike, T, sigma, opts.r)
            m = ref.multiplier(i)
            inv = inventory.get(i, 0.0)
            if opts.unit == "usd_per_1pct":  # rule 10
                x = g * inv * m * S**2 * 0.01
            elif opts.unit == "usd_per_point":
                x = g * inv * m * S
            else:
                x = g * inv * m
            gex_of[i] = x
            if exposures:
                dl, va, chm = first_order(S, strike, T, sigma, opts.r, ref.keys[i][4] == "C")
                greek = {"dex": dl, "vex": va, "cex": chm}
                per_unit = {k: greek[k] * inv * m * scales[k] for k in exposures}
                first_of[i] = {k: v if opts.unit == "underlying" else v * S for k, v in per_unit.items()}
                for k in exposures:
                    out[f"inventory.{k}"].append(first_of[i][k])
            for k, v in (
                ("time", t),
                ("inst", i),
                ("inventory", inv),
                ("spot", S),
                ("vol", sigma),
                ("gamma", g),
                ("gex", x),
            ):
                out[f"inventory.{k}"].append(v)
        # Rule 11: by strike (both legs, all maturities), by expiry, total.
        strikes: dict[tuple[str, float], list[float]] = {}
        for i in live:
            slot = strikes.setdefault((ref.keys[i][0], ref.keys[i][3]), [0.0, 0.0])
            slot[0 if ref.keys[i][4] == "C" else 1] += gex_of[i]
        strike_first: dict[tuple[str, float], dict[str, float]] = {}
        expiry_first: dict[tuple[str, int], dict[str, float]] = {}
        asset_first: dict[str, dict[str, float]] = {}
        for i in live:
            a, _, e, k_, _ = ref.keys[i]
            for key, acc in (((a, k_), strike_first), ((a, e), expiry_first), (a, asset_first)):
                slot2 = acc.setdefault(key, dict.fromkeys(exposures, 0.0))  # type: ignore[arg-type]
                for x in exposures:
                    slot2[x] += first_of[i][x]
        for (asset, strike), (c, p) in sorted(strikes.items()):
            for x in exposures:
                out[f"by_strike.{x}"].append(strike_first[(asset, strike)][x])
            for k, v in (
                ("time", t),
                ("asset", aid(asset)),
                ("strike", strike),
                ("call_gex", c),
                ("put_gex", p),
                ("gex", c + p),
            ):
                out[f"by_strike.{k}"].append(v)
        expiries: dict[tuple[str, int], float] = {}
        for i in live:
            key = (ref.keys[i][0], ref.keys[i][2])
            expiries[key] = expiries.get(key, 0.0) + gex_of[i]
        for (asset, expiry), v in sorted(expiries.items()):
            for x in exposures:
                out[f"by_expiry.{x}"].append(expiry_first[(asset, expiry)][x])
            for k, x in (("time", t), ("asset", aid(asset)), ("expiry", expiry), ("gex", v)):
                out[f"by_expiry.{k}"].append(x)
        for asset in sorted(active):
            total = 0.0
            for i in live:
                if ref.keys[i][0] == asset:
                    total += gex_of[i]
            s = spot_tab.get(asset, index_px.get(asset, chain_any.get(asset, 0.0)))
            for x in exposures:
                out[f"total.{x}"].append(asset_first.get(asset, dict.fromkeys(exposures, 0.0))[x])
            for k, x in (("time", t), ("asset", aid(asset)), ("spot", s), ("gex", total)):
                out[f"total.{k}"].append(x)
        out["steps.time"].append(t)
        for k, v in counts.items():
            out[f"steps.{k}"].append(v)

    # Retention: long replays may keep inventory / strike and expiry rows for the last step only.
    final = out["steps.time"][-1] if out["steps.time"] else None
    for table, keep in (
        ("inventory", opts.keep_inventory),
        ("by_strike", opts.keep_aggregates),
        ("by_expiry", opts.keep_aggregates),
    ):
        if keep == "last":
            idx = [n for n, t in enumerate(out[f"{table}.time"]) if t == final]
            for k in [k for k in out if k.startswith(table + ".")]:
                out[k] = [out[k][n] for n in idx]

    # Remaining trades (after the last reported step) still make their instruments known.
    traded |= {e["id"] for e in tr}
    for key in ref.keys:
        aid(key[0])
    assets = [a for a, _ in sorted(asset_ids.items(), key=lambda kv: kv[1])]
    core: dict[str, Any] = dict(out)
    core["registry"] = {
        "name": [display_name(*k) for k in ref.keys],
        "asset": [asset_ids[k[0]] for k in ref.keys],
        "quote": [k[1] for k in ref.keys],
        "expiry": [k[2] for k in ref.keys],
        "strike": [k[3] for k in ref.keys],
        "is_call": [k[4] == "C" for k in ref.keys],
        "multiplier": [ref.mult.get(i, float("nan")) for i in range(len(ref.keys))],
        "assets": assets,
    }
    core["rows_read"] = [len(t_rows), len(c_rows), len(s_rows)]
    core["rejected"] = ref.rejected
    core["traded_instruments"] = len(traded)
    core["chain_after_expiry"] = ref.chain_after_expiry
    core["expired"] = sum(1 for i in traded if last is not None and ref.keys[i][2] <= last)
    import numpy as np  # presentation only: GexResult holds arrays

    for k in list(core):
        if "." in k:
            core[k] = np.asarray(
                core[k],
                dtype=np.float64
                if not k.endswith(("time", "inst", "asset", "expiry")) and not k.startswith("steps.")
                else np.int64,
            )
    diag = Diagnostics.from_core(core, rejected_rows=rejected_rows)
    return GexResult(
        core, unit=opts.unit, r=opts.r, method="flow-reference", diagnostics=diag, resolution_ns=res, greeks=opts.greeks
    )


def _rejected_tables(ref: _Ref, tables: Mapping[str, Any]) -> dict[str, Any]:
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
