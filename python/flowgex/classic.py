"""Classic (equity-heuristic) GEX from open interest, for comparison with flow GEX.

DESIGN rule 13: GEX_classic(i,t) = s·OI·Γ·m·S²·0.01 with s = +1 for calls and
−1 for puts, i.e. dealers assumed long calls and short puts. It runs through
the same Rust evaluation as the flow engine, with that heuristic inventory, so
``by_strike``, ``total``, ``profile`` and ``levels`` work identically.

Bad input follows DESIGN section 5 as amended: every chain row is checked (a
null timestamp or instrument, an unknown multiplier, values out of bounds), and
bad rows raise or are counted; each option then uses its latest *good* row at
or before ``at``. Rows stamped at or after their option's expiry are not bad:
they are ignored and counted in ``diagnostics.chain_after_expiry``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from . import _core
from ._encode import NULL_TS, encode_instruments, floats, timestamps
from ._tables import Counts, ResultData
from .diagnostics import REASONS, Diagnostics
from .errors import FlowgexError, OptionError, SchemaError
from .multipliers import contract_multiplier
from .options import UNITS, EngineOptions, to_ns
from .rejects import GAMMA_MAX, IV_BOUNDS, OPEN_INTEREST_MAX, PRICE_BOUNDS, bad_rows_error
from .result import GexResult
from .schema import TIMESTAMP, as_table, canonical_chain

__all__ = ["classic_gex"]

_INT64_MAX = 2**63 - 1
_KINDS = {"C": True, "CALL": True, "P": False, "PUT": False}
#: (asset, quote, expiry ns, is_call) of one instrument.
Parsed = tuple[str, "str | None", int, bool]


def _select_latest(ts: np.ndarray, codes: np.ndarray, usable: np.ndarray, at: int) -> np.ndarray:
    """Row indices of each option's latest usable row at or before ``at`` (ties: the later row)."""
    rows = np.flatnonzero(usable & (ts <= at))
    order = rows[np.lexsort((rows, ts[rows], codes[rows]))]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = codes[order][1:] != codes[order][:-1]
    return order[last]


def _within(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Finite and in [lo, hi] (NaN, which also stands for null, is not)."""
    with np.errstate(invalid="ignore"):
        return (x >= lo) & (x <= hi)


def _parse_dictionary(enc: Mapping[str, Any]) -> list[Parsed | None]:
    """Each dictionary entry parsed once: a Deribit name, or the four columns
    (checked as the core checks them: alphanumeric asset, expiry, strike > 0, C/P)."""
    out: list[Parsed | None] = []
    if enc.get("names") is not None:
        for name in enc["names"]:
            try:
                asset, quote, expiry, _, kind = _core.parse_instrument(name)
            except (FlowgexError, ValueError, TypeError):
                out.append(None)
                continue
            out.append((asset.upper(), quote.upper() if quote else None, int(expiry), kind == "C"))
        return out
    p = enc["parts"]
    for asset, expiry, strike, kind in zip(p["asset"], p["expiry"], p["strike"], p["kind"]):
        is_call = _KINDS.get(kind.upper())
        ok = asset.isascii() and asset.isalnum() and expiry != NULL_TS and np.isfinite(strike) and strike > 0
        out.append((asset.upper(), None, int(expiry), is_call) if ok and is_call is not None else None)
    return out


def _chain_table(chain: Any, at_ns: int | None) -> pa.Table:
    """The canonical chain; without a timestamp column every row is taken as observed at ``at``."""
    table = as_table(chain, name="chain")
    if "timestamp" not in table.column_names:
        if at_ns is None:
            raise SchemaError(
                "classic_gex: the chain has no timestamp column, so at= is required "
                f"(every row is then taken as observed at that time); found {table.column_names}"
            )
        stamp = pa.array(np.full(table.num_rows, at_ns, dtype=np.int64)).cast(TIMESTAMP)
        table = table.append_column("timestamp", stamp)
    return canonical_chain(table)


def _spot_values(spot: Any) -> float | dict[str, float]:
    """The ``spot=`` override, checked against the price bounds."""

    def check(v: Any, what: str) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"invalid option spot: expected a number{what}, found {v!r}") from exc
        if not (PRICE_BOUNDS[0] <= x <= PRICE_BOUNDS[1]):
            raise OptionError(f"invalid option spot: expected a price in {list(PRICE_BOUNDS)}{what}, found {v!r}")
        return x

    if isinstance(spot, Mapping):
        return {str(k).upper(): check(v, f" for {k!r}") for k, v in spot.items()}
    return check(spot, "")


def classic_gex(
    chain: Any,
    *,
    at: Any = None,
    spot: float | Mapping[str, float] | None = None,
    unit: Literal["usd_per_1pct", "usd_per_point", "underlying"] = "usd_per_1pct",
    multipliers: Mapping[str, float] | None = None,
    gamma: Literal["model", "chain"] = "model",
    r: float = 0.0,
    errors: Literal["raise", "quarantine"] = "raise",
    threads: int | None = None,
    greeks: Sequence[str] = ("gamma",),
) -> GexResult:
    """Open-interest GEX as of ``at`` from each option's latest good chain row at or before it.

    ``at`` defaults to the chain's last timestamp; a chain without a
    ``timestamp`` column (equity chains) needs ``at``, and every row is then
    taken as observed at ``at``. ``spot`` (a number, or a mapping asset ->
    number) overrides every ``underlying_price``. ``gamma="chain"`` uses the
    chain's own gamma column for the GEX at spot (profiles and flips still use
    the model). Bad rows (null timestamps or instruments, unparseable names,
    assets without a multiplier, prices, vols, open interest or gammas out of
    bounds) raise :class:`~flowgex.errors.BadRowsError`, or with
    ``errors="quarantine"`` are set aside and counted, the option falling back
    to its latest good row. Rows at or after their option's expiry are ignored
    and counted in ``diagnostics.chain_after_expiry``. ``greeks`` adds DEX, VEX and
    CEX columns as in :func:`flowgex.flow_gex`, of the classic inventory s·OI (the
    model's delta, vanna and charm, also under ``gamma="chain"``).
    """
    if unit not in UNITS:
        raise OptionError(f"invalid option unit: expected one of {UNITS}, found {unit!r}")
    if gamma not in ("model", "chain"):
        raise OptionError(f"invalid option gamma: expected 'model' or 'chain', found {gamma!r}")
    if errors not in ("raise", "quarantine"):
        raise OptionError(f"invalid option errors: expected 'raise' or 'quarantine', found {errors!r}")
    opts = EngineOptions.parse(unit=unit, multipliers=multipliers, errors=errors, threads=threads, r=r, greeks=greeks)
    overrides = dict(opts.multipliers)
    spot_override = None if spot is None else _spot_values(spot)
    at_ns = None if at is None else to_ns(at, name="at")
    table = _chain_table(chain, at_ns)
    need = (
        ["open_interest"]
        + (["gamma"] if gamma == "chain" else ["mark_iv"])
        + ([] if spot is not None else ["underlying_price"])
    )
    missing = [c for c in need if c not in table.column_names]
    if missing:
        raise SchemaError(f"classic_gex: the chain needs column(s) {missing}; found {table.column_names}")

    ts = timestamps(table.column("timestamp"))
    n_rows = len(ts)
    enc: dict[str, Any] = {}
    encode_instruments(table, enc)
    codes = enc["inst"]
    parsed = _parse_dictionary(enc)
    mult = [None if p is None else contract_multiplier(p[0], p[1], overrides) for p in parsed]
    nan = np.full(n_rows, np.nan)
    under = floats(table.column("underlying_price")) if "underlying_price" in table.column_names else nan
    vol = floats(table.column("mark_iv")) if "mark_iv" in table.column_names else nan
    oi = floats(table.column("open_interest"))
    chain_gamma = floats(table.column("gamma")) if gamma == "chain" else None

    # Every row's first failing check, in the engines' precedence order (REASONS).
    known = np.array([p is not None for p in parsed] + [False], dtype=bool)[codes]  # code -1 (null) -> False
    priced = np.array([m is not None for m in mult] + [False], dtype=bool)[codes]
    checks = [
        ("bad_timestamp", ts != NULL_TS),
        ("unparseable_instrument", known),
        ("unknown_multiplier", priced),
    ]
    if spot is None:
        checks.append(("bad_price", _within(under, *PRICE_BOUNDS)))
    if gamma == "model":
        checks.append(("bad_iv", _within(vol, *IV_BOUNDS)))
    checks.append(("bad_open_interest", _within(oi, 0.0, OPEN_INTEREST_MAX)))
    if chain_gamma is not None:
        checks.append(("bad_gamma", _within(chain_gamma, -GAMMA_MAX, GAMMA_MAX)))
    reason = np.full(n_rows, -1, dtype=np.int64)
    for name, ok in checks:
        reason[(reason < 0) & ~ok] = REASONS.index(name)
    good = reason < 0
    expiry = np.array([p[2] if p is not None else 0 for p in parsed] + [0], dtype=np.int64)[codes]
    after_expiry = good & (ts >= expiry)  # not bad input: ignored for the option, counted

    bad_rows = np.flatnonzero(~good)
    rejected: dict[str, pa.Table] = {}
    if len(bad_rows):
        rejected["chain"] = (
            table.take(pa.array(bad_rows))
            .append_column("row", pa.array(bad_rows, pa.int64()))
            .append_column("reason", pa.array([REASONS[i] for i in reason[bad_rows]], pa.string()))
        )
        if errors == "raise":
            raise bad_rows_error(rejected)

    if at_ns is None:
        stamped = ts[ts != NULL_TS]
        if len(stamped) == 0:
            raise OptionError("invalid option at: the chain has no timestamps, so at= is required")
        at_ns = int(stamped.max())
    pick = _select_latest(ts, codes, good & ~after_expiry, at_ns)
    live = pick[expiry[pick] > at_ns]
    if len(live) and int(expiry[live].max()) - at_ns > _INT64_MAX:
        raise OptionError(
            f"invalid option at: {at_ns} ns is more than 292 years before an option's expiry "
            "(time to expiry would overflow)"
        )

    info = [parsed[int(codes[row])] for row in pick]
    sign = np.array([1.0 if p[3] else -1.0 for p in info])  # type: ignore[index]
    if spot_override is None:
        s = under[pick]
        spot_source = "chain"
    elif isinstance(spot_override, dict):
        try:
            s = np.array([spot_override[p[0]] for p in info], dtype=np.float64)  # type: ignore[index]
        except KeyError as exc:
            raise OptionError(f"invalid option spot: no value for asset {exc.args[0]!r}") from None
        spot_source = "spot"
    else:
        s = np.full(len(pick), spot_override)
        spot_source = "spot"
    # The asset's spot in the totals (the centre of profiles and levels): the override,
    # else the underlying price of its nearest live expiry — on a futures curve the
    # closest thing to spot a chain carries (latest row on ties).
    asset_spot: dict[str, float] = {}
    nearest: dict[str, tuple[int, int, int]] = {}
    for pos, row in enumerate(pick):
        a, exp = info[pos][0], int(expiry[row])  # type: ignore[index]
        if exp <= at_ns:
            continue
        key = (-exp, int(ts[row]), int(row))
        if a not in nearest or key > nearest[a]:
            nearest[a] = key
            asset_spot[a] = float(s[pos])
    # Python resolved every multiplier (user ASSET_QUOTE, user ASSET, built-in): pass them
    # all, so the core uses exactly those.
    resolved = {
        (p[0] if p[1] is None else f"{p[0]}_{p[1]}"): float(m)
        for p, m in zip(parsed, mult)
        if p is not None and m is not None
    }
    picked_vol = vol[pick]
    book = {
        **{k: v for k, v in enc.items() if k in ("names", "parts")},
        "inst": np.ascontiguousarray(codes[pick], dtype=np.int32),
        "inventory": np.ascontiguousarray(sign * oi[pick]),
        "spot": np.ascontiguousarray(s, dtype=np.float64),
        # gamma="chain" does not need mark_iv: without a valid one, profiles see no vol.
        "vol": np.ascontiguousarray(np.where(_within(picked_vol, *IV_BOUNDS), picked_vol, 0.0)),
        "gamma": None if chain_gamma is None else np.ascontiguousarray(chain_gamma[pick]),
    }
    core = dict(
        _core.evaluate_point(
            at_ns,
            book,
            unit=unit,
            rate=opts.r,
            multipliers=sorted({**overrides, **resolved}.items()),
            asset_spot=sorted(asset_spot.items()),
            threads=threads,
            greeks=list(opts.greeks),
        )
    )
    rej_counts = np.bincount(reason[bad_rows], minlength=len(REASONS)).tolist()
    data = ResultData.from_core(core).replace(
        counts=Counts(
            rows_read=(0, n_rows, 0),
            rejected=((0,) * len(REASONS), tuple(rej_counts), (0,) * len(REASONS)),
            traded_instruments=len(pick),
            expired=int(core["expired"]),
            chain_after_expiry=int(after_expiry.sum()),
        )
    )
    diag = Diagnostics.from_data(data, rejected_rows=rejected)
    if spot_source == "spot":
        used = diag.spot_source.get("chain", 0)
        diag = Diagnostics(
            **{
                **{k: getattr(diag, k) for k in diag.__dataclass_fields__},
                "spot_source": {"chain": 0, "spot": used, "index_price": 0},
            }
        )
    return GexResult(data, unit=unit, r=opts.r, method="classic", diagnostics=diag, greeks=opts.greeks)
