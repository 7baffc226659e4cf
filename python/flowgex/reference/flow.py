"""Taker-flow GEX, step by step: the rules of the other modules put together.

One loop per grid step over every live option (slow on purpose, so it catches a
wrong fast path rather than mirroring it); the output is the same typed result
form the Rust engine hands over.
"""

from __future__ import annotations

import math
from typing import Any

from .._tables import Counts, ExpiryTable, InventoryTable, Registry, ResultData, StepTable, StrikeTable, TotalTable
from ..diagnostics import Diagnostics
from ..errors import InstrumentError, OptionError
from ..options import EXPOSURES, EngineOptions
from ..rejects import bad_rows_error
from ..result import GexResult
from ..schema import canonical_chain, canonical_initial, canonical_spot, canonical_trades, uses_parts
from .aggregate import add_step, new_columns
from .asof import AsOf
from .buckets import apply_buckets, bucket_label, grid, live_options
from .greeks import first_order_exposures, gamma, gex
from .instruments import canonical_order, display_name, instrument
from .validate import Ref, read_rows, rejected_tables, validate_chain, validate_spot, validate_trades

__all__ = ["flow_gex_reference"]

YEAR_NS = 365 * 24 * 3600 * 10**9
_MAX_SEED = 1e15
_TABLES = {
    "inventory": InventoryTable,
    "by_strike": StrikeTable,
    "by_expiry": ExpiryTable,
    "total": TotalTable,
    "steps": StepTable,
}  # the core's limits::MAX_SEED: a seed must keep every GEX finite


def flow_gex_reference(
    trades: Any, chain: Any = None, spot: Any = None, *, initial: Any = None, **options: Any
) -> GexResult:
    """Same inputs, options and output as :func:`flowgex.flow_gex`, computed naively."""
    opts = EngineOptions.parse(**options)
    ref = Ref(opts)
    res = opts.resolution_ns
    t_tab = canonical_trades(trades)
    c_tab = canonical_chain(chain) if chain is not None else None
    s_tab = canonical_spot(spot) if spot is not None else None
    t_rows = read_rows(t_tab)
    c_rows = read_rows(c_tab) if c_tab is not None else []
    s_rows = read_rows(s_tab) if s_tab is not None else []

    inventory: dict[int, float] = {}
    traded: set[int] = set()
    if initial is not None:
        i_tab = canonical_initial(initial)
        for n, row in enumerate(read_rows(i_tab)):
            key = instrument(row, uses_parts(i_tab))
            if key is None:
                raise InstrumentError(f"initial row {n}: cannot parse the instrument")
            i = ref.id_of(key)
            if i in traded:
                raise OptionError(f"invalid option initial: two rows seed {display_name(*ref.keys[i])}")
            inv = row.get("inventory")
            if inv is None or not (math.isfinite(inv) and abs(inv) <= _MAX_SEED):
                raise OptionError(f"invalid option initial: row {n} has inventory {inv!r}")
            ref.multiplier(i)
            inventory[i] = float(inv)
            traded.add(i)

    tr = validate_trades(ref, t_rows, uses_parts(t_tab))
    ch = validate_chain(ref, c_rows, uses_parts(c_tab)) if c_tab is not None else []
    sp = validate_spot(ref, s_rows)
    rejected_rows = rejected_tables(ref, {"trades": t_tab, "chain": c_tab, "spot": s_tab})
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

    # Rule 16: the exposure of each greek asked beyond gamma.
    exposures = tuple(EXPOSURES[g] for g in opts.greeks if g in EXPOSURES)
    out = new_columns(exposures)
    asof = AsOf(ref.keys, ch, sp)
    active: set[str] = set()
    ti = 0
    for t in grid(first, last, res):
        ti = apply_buckets(tr, ti, t, res, inventory, traded, asof.observe_trade)
        asof.advance(t)
        live = live_options(traded, ref.keys, t, canonical_order)
        active |= {ref.keys[i][0] for i in live}
        if not live and not active:
            continue
        counts = dict.fromkeys(
            ("spot_chain", "spot_table", "spot_index", "spot_missing", "vol_chain", "vol_trade", "vol_missing"), 0
        )
        gex_of: dict[int, float] = {}
        first_of: dict[int, dict[str, float]] = {}
        inv_cols = out["inventory"]
        for i in live:
            _, _, expiry, strike, kind = ref.keys[i]
            S, src = asof.spot_of(i, t, opts.missing_spot)
            counts[src] += 1
            sigma, vsrc = asof.vol_of(i, t, opts.missing_vol)
            counts[vsrc] += 1
            T = (expiry - t) / YEAR_NS  # rule 7
            g = gamma(S, strike, T, sigma, opts.r)
            m = ref.multiplier(i)
            inv = inventory.get(i, 0.0)
            x = gex(g, inv, m, S, opts.unit)
            gex_of[i] = x
            if exposures:
                first_of[i] = first_order_exposures(
                    S, strike, T, sigma, opts.r, kind == "C", inv, m, opts.unit, exposures
                )
                for k in exposures:
                    inv_cols[k].append(first_of[i][k])
            for k, v in (
                ("time", t),
                ("inst", i),
                ("inventory", inv),
                ("spot", S),
                ("vol", sigma),
                ("gamma", g),
                ("gex", x),
            ):
                inv_cols[k].append(v)
        add_step(out, t, live, ref.keys, gex_of, first_of, exposures, active, aid, asof.asset_spot)
        out["steps"]["time"].append(t)
        for k, v in counts.items():
            out["steps"][k].append(v)

    # Retention: long replays may keep inventory / strike and expiry rows for the last step only.
    final = out["steps"]["time"][-1] if out["steps"]["time"] else None
    for table, keep in (
        ("inventory", opts.keep_inventory),
        ("by_strike", opts.keep_aggregates),
        ("by_expiry", opts.keep_aggregates),
    ):
        if keep == "last":
            idx = [n for n, t in enumerate(out[table]["time"]) if t == final]
            out[table] = {k: [v[n] for n in idx] for k, v in out[table].items()}

    # Remaining trades (after the last reported step) still make their instruments known.
    traded |= {e["id"] for e in tr}
    for key in ref.keys:
        aid(key[0])
    data = _result_data(out, ref, asset_ids, traded, last, rejected=ref.rejected, rows=(t_rows, c_rows, s_rows))
    diag = Diagnostics.from_data(data, rejected_rows=rejected_rows)
    return GexResult(
        data, unit=opts.unit, r=opts.r, method="flow-reference", diagnostics=diag, resolution_ns=res, greeks=opts.greeks
    )


def _result_data(
    out: dict[str, dict[str, list]],
    ref: Ref,
    asset_ids: dict[str, int],
    traded: set[int],
    last: int | None,
    *,
    rejected: list[list[int]],
    rows: tuple[list, list, list],
) -> ResultData:
    """The lists as the typed result form (arrays for presentation only: every number is computed above)."""
    import numpy as np

    def column(table: str, name: str, values: list) -> Any:
        ints = table == "steps" or name in ("time", "inst", "asset", "expiry")
        return np.asarray(values, dtype=np.int64 if ints else np.float64)

    tables = {t: _TABLES[t].from_columns({c: column(t, c, v) for c, v in cols.items()}) for t, cols in out.items()}
    registry = Registry.from_core(
        {
            "name": [display_name(*k) for k in ref.keys],
            "asset": [asset_ids[k[0]] for k in ref.keys],
            "quote": [k[1] for k in ref.keys],
            "expiry": [k[2] for k in ref.keys],
            "strike": [k[3] for k in ref.keys],
            "is_call": [k[4] == "C" for k in ref.keys],
            "multiplier": [ref.mult.get(i, float("nan")) for i in range(len(ref.keys))],
            "assets": [a for a, _ in sorted(asset_ids.items(), key=lambda kv: kv[1])],
        }
    )
    counts = Counts(
        rows_read=(len(rows[0]), len(rows[1]), len(rows[2])),
        rejected=tuple(tuple(r) for r in rejected),
        traded_instruments=len(traded),
        expired=sum(1 for i in traded if last is not None and ref.keys[i][2] <= last),
        chain_after_expiry=ref.chain_after_expiry,
    )
    return ResultData(registry=registry, counts=counts, **tables)  # type: ignore[arg-type]
