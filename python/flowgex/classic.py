"""Classic (equity-heuristic) GEX from open interest, for comparison with flow GEX.

DESIGN rule 13: GEX_classic(i,t) = s·OI·Γ·m·S²·0.01 with s = +1 for calls and
−1 for puts, i.e. dealers assumed long calls and short puts. It runs through
the same Rust evaluation as the flow engine, with that heuristic inventory, so
``by_strike``, ``total``, ``profile`` and ``levels`` work identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from . import _core
from ._encode import NULL_TS, dictionary, floats, timestamps
from .diagnostics import REASONS, Diagnostics
from .errors import OptionError, SchemaError
from .options import UNITS, to_ns
from .rejects import bad_rows_error as _bad_rows_error
from .result import GexResult
from .schema import canonical_chain, uses_parts

__all__ = ["classic_gex"]


def _select_latest(ts: np.ndarray, codes: np.ndarray, at: int) -> np.ndarray:
    """Row indices of each option's latest row at or before ``at`` (ties: the later row)."""
    rows = np.flatnonzero((ts != NULL_TS) & (ts <= at) & (codes >= 0))
    order = rows[np.lexsort((rows, ts[rows], codes[rows]))]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = codes[order][1:] != codes[order][:-1]
    return order[last]


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
) -> GexResult:
    """Open-interest GEX as of ``at`` from each option's latest chain row at or before it.

    ``at`` defaults to the chain's last timestamp. ``spot`` (a number, or a
    mapping asset -> number) overrides every ``underlying_price``.
    ``gamma="chain"`` uses the chain's own gamma column for the GEX at spot
    (profiles and flips still use the model). Bad rows (negative or missing
    open interest, non-positive prices or vols, unparseable names) raise
    :class:`~flowgex.errors.BadRowsError`, or are set aside and counted with
    ``errors="quarantine"``.
    """
    if unit not in UNITS:
        raise OptionError(f"invalid option unit: expected one of {UNITS}, found {unit!r}")
    if gamma not in ("model", "chain"):
        raise OptionError(f"invalid option gamma: expected 'model' or 'chain', found {gamma!r}")
    if errors not in ("raise", "quarantine"):
        raise OptionError(f"invalid option errors: expected 'raise' or 'quarantine', found {errors!r}")
    table = canonical_chain(chain)
    need = (
        ["open_interest"]
        + (["gamma"] if gamma == "chain" else ["mark_iv"])
        + ([] if spot is not None else ["underlying_price"])
    )
    missing = [c for c in need if c not in table.column_names]
    if missing:
        raise SchemaError(f"classic_gex: the chain needs column(s) {missing}; found {table.column_names}")

    ts = timestamps(table.column("timestamp"))
    if at is None:
        valid = ts[ts != NULL_TS]
        if len(valid) == 0:
            raise OptionError("invalid option at: the chain has no timestamps, so at= is required")
        at_ns = int(valid.max())
    else:
        at_ns = to_ns(at, name="at")

    enc: dict[str, Any] = {}
    if uses_parts(table):
        from ._encode import _instruments

        _instruments(table, enc)
        codes = enc["inst"]
    else:
        codes, names = dictionary(table.column("instrument"))
        enc["names"] = names
    pick = _select_latest(ts, codes, at_ns)
    oi = floats(table.column("open_interest"))
    under = (
        floats(table.column("underlying_price"))
        if "underlying_price" in table.column_names
        else np.full(len(ts), np.nan)
    )
    vol = floats(table.column("mark_iv")) if "mark_iv" in table.column_names else np.full(len(ts), np.nan)
    chain_gamma = floats(table.column("gamma")) if gamma == "chain" else None

    # Parse each selected option's name once, to learn its asset and kind.
    reasons: dict[int, str] = {}
    parsed: dict[int, tuple[str, bool, int]] = {}
    dict_values = enc.get("names") or []
    for row in pick:
        code = int(codes[row])
        if code not in parsed:
            try:
                if enc.get("names") is not None:
                    asset, _, expiry, _, kind = _core.parse_instrument(dict_values[code])
                else:
                    p = enc["parts"]
                    asset, kind, expiry = p["asset"][code].upper(), p["kind"][code].upper()[:1], p["expiry"][code]
                    if kind not in ("C", "P"):
                        raise ValueError(kind)
                parsed[code] = (asset, kind == "C", int(expiry))
            except (ValueError, TypeError):
                parsed[code] = ("", False, 0)
        asset = parsed[code][0]
        if not asset:
            reasons[row] = "unparseable_instrument"
        elif not (np.isfinite(oi[row]) and oi[row] >= 0):
            reasons[row] = "bad_open_interest"
        elif spot is None and not (np.isfinite(under[row]) and under[row] > 0):
            reasons[row] = "bad_price"
        elif gamma == "model" and not (np.isfinite(vol[row]) and vol[row] > 0):
            reasons[row] = "bad_iv"
        elif chain_gamma is not None and not np.isfinite(chain_gamma[row]):
            reasons[row] = "bad_gamma"
    rejected: dict[str, pa.Table] = {}
    if reasons:
        rows = np.array(sorted(reasons), dtype=np.int64)
        rejected["chain"] = (
            table.take(pa.array(rows))
            .append_column("row", pa.array(rows))
            .append_column("reason", pa.array([reasons[int(i)] for i in rows], pa.string()))
        )
        if errors == "raise":
            raise _bad_rows_error(rejected)
    good = np.array([r for r in pick if int(r) not in reasons], dtype=np.int64)

    sign = np.array([1.0 if parsed[int(codes[r])][1] else -1.0 for r in good])
    if spot is None:
        s = under[good]
        spot_source = "chain"
    elif isinstance(spot, Mapping):
        by_asset = {str(k).upper(): float(v) for k, v in spot.items()}
        try:
            s = np.array([by_asset[parsed[int(codes[r])][0]] for r in good], dtype=np.float64)
        except KeyError as exc:
            raise OptionError(f"invalid option spot: no value for asset {exc.args[0]!r}") from None
        spot_source = "spot"
    else:
        s = np.full(len(good), float(spot))
        spot_source = "spot"
    # The asset's spot in the totals (the centre of profiles and levels): the override,
    # else the underlying price of its nearest live expiry — on a futures curve the
    # closest thing to spot a chain carries (latest row on ties).
    asset_spot: dict[str, float] = {}
    nearest: dict[str, tuple[int, int, int]] = {}
    for pos, row in enumerate(good):
        a, _, expiry = parsed[int(codes[row])]
        if expiry <= at_ns:
            continue
        key = (-expiry, int(ts[row]), int(row))
        if a not in nearest or key > nearest[a]:
            nearest[a] = key
            asset_spot[a] = float(s[pos])
    book = {
        **{k: v for k, v in enc.items() if k in ("names", "parts")},
        "inst": np.ascontiguousarray(codes[good], dtype=np.int32),
        "inventory": np.ascontiguousarray(sign * oi[good]),
        "spot": np.ascontiguousarray(s, dtype=np.float64),
        "vol": np.ascontiguousarray(np.nan_to_num(vol[good], nan=0.0)),
        "gamma": None if chain_gamma is None else np.ascontiguousarray(chain_gamma[good]),
    }
    core = dict(
        _core.evaluate_point(
            at_ns,
            book,
            unit=unit,
            rate=float(r),
            multipliers=[(str(k).upper(), float(v)) for k, v in (multipliers or {}).items()],
            asset_spot=sorted(asset_spot.items()),
            threads=threads,
        )
    )
    n_rows = len(ts)
    rej_counts = [0] * len(REASONS)
    for reason in reasons.values():
        rej_counts[REASONS.index(reason)] += 1
    core.update(
        rows_read=[0, n_rows, 0],
        rejected=[[0] * len(REASONS), rej_counts, [0] * len(REASONS)],
        traded_instruments=len(good),
    )
    diag = Diagnostics.from_core(core, rejected_rows=rejected)
    if spot_source == "spot":
        used = diag.spot_source.get("chain", 0)
        diag = Diagnostics(
            **{
                **{k: getattr(diag, k) for k in diag.__dataclass_fields__},
                "spot_source": {"chain": 0, "spot": used, "index_price": 0},
            }
        )
    return GexResult(core, unit=unit, r=float(r), method="classic", diagnostics=diag)
