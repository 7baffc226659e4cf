"""The typed internal form of a result: frozen dataclasses of numpy columns.

Every engine (the Rust core through :mod:`flowgex.engine`, the pure-Python
:mod:`flowgex.reference`, :func:`flowgex.classic_gex`, ``flowgex.distributed``)
hands its tables over as a :class:`ResultData`; :class:`flowgex.GexResult` is a
view of one. Before this module the tables travelled as a dict with dotted keys
(``"inventory.time"``) built by hand in four places and read through
``GexResult``'s private attributes; a typo there was a ``KeyError`` at run time,
here it is a ``TypeError`` at construction.

The one grouping (:func:`group_sum`) serves both places that sum rows by key:
:func:`aggregate` (the by-strike / by-expiry / total tables of a subset of the
inventory, for expiry filters) and :func:`merge` (pieces of several engines).

Columns are kept with the dtype their producer gave (the core's ``uint16``
asset ids, the reference's ``int64``): this module moves arrays, it never
recomputes or recasts a number, so a result read through it is bit-identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np

from .errors import OptionError

__all__ = [
    "EXPOSURE_COLUMNS",
    "STEP_COUNTS",
    "Registry",
    "InventoryTable",
    "StrikeTable",
    "ExpiryTable",
    "TotalTable",
    "StepTable",
    "Counts",
    "ResultData",
    "group_sum",
    "aggregate",
    "union",
    "merge",
]

#: The exposure columns beyond GEX (DESIGN rule 16), present only for the greeks asked.
EXPOSURE_COLUMNS = ("dex", "vex", "cex")
#: Per-step source counts of the step table (what the diagnostics sum).
STEP_COUNTS = ("spot_chain", "spot_table", "spot_index", "spot_missing", "vol_chain", "vol_trade", "vol_missing")
TABLE_NAMES = ("inventory", "by_strike", "by_expiry", "total", "steps")

_T = TypeVar("_T", bound="_Columns")


class _Columns:
    """Shared behaviour of the step tables: equal-length columns, ``time`` sorted ascending."""

    time: np.ndarray

    @classmethod
    def from_columns(cls: type[_T], cols: Mapping[str, Any]) -> _T:
        """The table from named columns (the core's dict entries); unknown names are a TypeError."""
        return cls(**{k: np.asarray(v) for k, v in cols.items()})

    def columns(self) -> dict[str, np.ndarray]:
        """The present columns by name, in declaration order (absent exposures left out)."""
        out = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if v is not None:
                out[f.name] = v
        return out

    def take(self: _T, rows: np.ndarray | slice) -> _T:
        """The table restricted to ``rows`` (indices, a boolean mask or a slice)."""
        return type(self)(**{k: v[rows] for k, v in self.columns().items()})

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class InventoryTable(_Columns):
    """One row per live (instrument, grid time): the instrument is a :class:`Registry` id."""

    time: np.ndarray
    inst: np.ndarray
    inventory: np.ndarray
    spot: np.ndarray
    vol: np.ndarray
    gamma: np.ndarray
    gex: np.ndarray
    dex: np.ndarray | None = None
    vex: np.ndarray | None = None
    cex: np.ndarray | None = None


@dataclass(frozen=True)
class StrikeTable(_Columns):
    """GEX by (time, asset id, strike), maturities and legs summed."""

    time: np.ndarray
    asset: np.ndarray
    strike: np.ndarray
    call_gex: np.ndarray
    put_gex: np.ndarray
    gex: np.ndarray
    dex: np.ndarray | None = None
    vex: np.ndarray | None = None
    cex: np.ndarray | None = None


@dataclass(frozen=True)
class ExpiryTable(_Columns):
    """GEX by (time, asset id, expiry in ns)."""

    time: np.ndarray
    asset: np.ndarray
    expiry: np.ndarray
    gex: np.ndarray
    dex: np.ndarray | None = None
    vex: np.ndarray | None = None
    cex: np.ndarray | None = None


@dataclass(frozen=True)
class TotalTable(_Columns):
    """Total GEX and the asset's spot by (time, asset id)."""

    time: np.ndarray
    asset: np.ndarray
    spot: np.ndarray
    gex: np.ndarray
    dex: np.ndarray | None = None
    vex: np.ndarray | None = None
    cex: np.ndarray | None = None


@dataclass(frozen=True)
class StepTable(_Columns):
    """Every reported grid time, with the live rows' spot and vol sources (diagnostics)."""

    time: np.ndarray
    spot_chain: np.ndarray
    spot_table: np.ndarray
    spot_index: np.ndarray
    spot_missing: np.ndarray
    vol_chain: np.ndarray
    vol_trade: np.ndarray
    vol_missing: np.ndarray


_TABLE_TYPES: dict[str, type[_Columns]] = {
    "inventory": InventoryTable,
    "by_strike": StrikeTable,
    "by_expiry": ExpiryTable,
    "total": TotalTable,
    "steps": StepTable,
}


def _quote_of(name: str) -> str | None:
    """The quote currency in a Deribit name (``BTC_USDC-...`` -> ``USDC``), else None."""
    under = str(name).split("-")[0]
    return under.split("_", 1)[1] if "_" in under else None


@dataclass(frozen=True)
class Registry:
    """The instruments a result's ids refer to (id = position) and its asset names (asset id = position)."""

    assets: tuple[str, ...]
    name: np.ndarray  # object (str)
    asset: np.ndarray  # int64 asset ids
    quote: np.ndarray  # object (str or None)
    expiry: np.ndarray  # int64 ns
    strike: np.ndarray  # float64
    is_call: np.ndarray  # bool
    multiplier: np.ndarray  # float64

    @classmethod
    def from_core(cls, reg: Mapping[str, Any]) -> Registry:
        """From the core's registry dict (lists or arrays); a missing ``quote`` is read from the names."""
        name = np.asarray(reg["name"], dtype=object)
        quote = reg.get("quote")
        return cls(
            assets=tuple(str(a) for a in reg["assets"]),
            name=name,
            asset=np.asarray(reg["asset"], dtype=np.int64),
            quote=np.array(list(quote) if quote is not None else [_quote_of(n) for n in name], dtype=object),
            expiry=np.asarray(reg["expiry"], dtype=np.int64),
            strike=np.asarray(reg["strike"], dtype=np.float64),
            is_call=np.asarray(reg["is_call"], dtype=bool),
            multiplier=np.asarray(reg["multiplier"], dtype=np.float64),
        )

    def to_core(self) -> dict[str, Any]:
        """The core's registry dict (for code written against it)."""
        return {
            "assets": list(self.assets),
            "name": list(self.name),
            "asset": self.asset,
            "quote": list(self.quote),
            "expiry": self.expiry,
            "strike": self.strike,
            "is_call": self.is_call,
            "multiplier": self.multiplier,
        }

    def take(self, ids: np.ndarray) -> Registry:
        """The instruments ``ids`` (in that order; the assets kept whole)."""
        return replace(self, **{f: getattr(self, f)[ids] for f in _REGISTRY_COLUMNS})

    def canonical_order(self) -> np.ndarray:
        """The ids in the core's canonical order: asset name, strike, expiry, calls first,
        quote (none first) -- the order the core lists live instruments and sums them in."""
        keys = [
            (self.assets[a], k, e, not c, q is not None, q or "")
            for a, k, e, c, q in zip(
                self.asset.tolist(), self.strike.tolist(), self.expiry.tolist(), self.is_call.tolist(), self.quote
            )
        ]
        return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)

    def asset_id(self, asset: str) -> int | None:
        """The id of ``asset`` (case-insensitive), None when the result has no such asset."""
        up = str(asset).upper()
        return self.assets.index(up) if up in self.assets else None

    def asset_names(self, ids: np.ndarray) -> np.ndarray:
        """Asset names of ``ids`` (object array)."""
        return np.array([*self.assets, ""], dtype=object)[np.asarray(ids, dtype=np.int64)]

    def __len__(self) -> int:
        return len(self.name)


_REGISTRY_COLUMNS = ("name", "asset", "quote", "expiry", "strike", "is_call", "multiplier")


@dataclass(frozen=True)
class Counts:
    """What the diagnostics count besides the step table: rows read and rejected per input table."""

    #: Rows read of trades, chain, spot.
    rows_read: tuple[int, int, int]
    #: Per input table, rejected rows by reason index (:data:`flowgex.diagnostics.REASONS` order).
    rejected: tuple[tuple[int, ...], ...]
    traded_instruments: int
    expired: int
    chain_after_expiry: int = 0
    #: Source counts of steps already drained from a streaming engine.
    drained_sources: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_core(cls, core: Mapping[str, Any]) -> Counts | None:
        """The counts in a core dict, or None when it has none (a merged piece)."""
        if "rows_read" not in core:
            return None
        return cls(
            rows_read=tuple(int(x) for x in core["rows_read"]),  # type: ignore[arg-type]
            rejected=tuple(tuple(int(x) for x in t) for t in core["rejected"]),
            traded_instruments=int(core["traded_instruments"]),
            expired=int(core["expired"]),
            chain_after_expiry=int(core.get("chain_after_expiry", 0)),
            drained_sources=dict(core.get("drained_sources", {})),
        )

    def to_core(self) -> dict[str, Any]:
        return {
            "rows_read": list(self.rows_read),
            "rejected": [list(t) for t in self.rejected],
            "traded_instruments": self.traded_instruments,
            "expired": self.expired,
            "chain_after_expiry": self.chain_after_expiry,
            "drained_sources": dict(self.drained_sources),
        }


@dataclass(frozen=True)
class ResultData:
    """A result's registry and step tables (and, from an engine, its diagnostics counts)."""

    registry: Registry
    inventory: InventoryTable
    by_strike: StrikeTable
    by_expiry: ExpiryTable
    total: TotalTable
    steps: StepTable
    counts: Counts | None = None

    @classmethod
    def from_core(cls, core: Mapping[str, Any]) -> ResultData:
        """From the core's dict (``"registry"``, dotted columns ``"inventory.time"``, counts):
        the form the Rust bindings return, and the one older code builds."""
        cols: dict[str, dict[str, Any]] = {t: {} for t in TABLE_NAMES}
        for key, value in core.items():
            if "." in key:
                table, col = key.split(".", 1)
                if table not in cols:
                    raise TypeError(f"unknown result table {table!r} (column {key!r})")
                cols[table][col] = value
        tables = {t: _TABLE_TYPES[t].from_columns(c) for t, c in cols.items()}
        return cls(
            registry=Registry.from_core(core["registry"]),
            counts=Counts.from_core(core),
            **tables,  # type: ignore[arg-type]
        )

    def to_core(self) -> dict[str, Any]:
        """The core's dict again (columns as they are held, not copied)."""
        out: dict[str, Any] = {"registry": self.registry.to_core()}
        for name, table in self.tables().items():
            out.update({f"{name}.{c}": v for c, v in table.columns().items()})
        if self.counts is not None:
            out.update(self.counts.to_core())
        return out

    def tables(self) -> dict[str, _Columns]:
        """The step tables by name."""
        return {t: getattr(self, t) for t in TABLE_NAMES}

    def replace(self, **changes: Any) -> ResultData:
        """A copy with some tables (or the counts) replaced."""
        return replace(self, **changes)

    def with_exposures(self, exposures: Sequence[str]) -> ResultData:
        """Exactly the exposure columns ``exposures`` in every table (others dropped);
        an asked one that a table lacks is an :class:`~flowgex.errors.OptionError`."""
        out = {}
        for name in ("inventory", "by_strike", "by_expiry", "total"):
            table = getattr(self, name)
            change: dict[str, Any] = {}
            for x in EXPOSURE_COLUMNS:
                if x not in exposures:
                    change[x] = None
                elif getattr(table, x) is None:
                    raise OptionError(f"this result has no {x} column for exposures={tuple(exposures)}")
            out[name] = replace(table, **change)
        return replace(self, **out)

    def at_times(self, times: np.ndarray) -> ResultData:
        """Only the rows of grid times ``times`` (sorted, distinct), the step table kept whole.

        Tables are sorted by time, so each time is one run of rows, found by bisection."""
        out = {}
        for name in ("inventory", "by_strike", "by_expiry", "total"):
            table = getattr(self, name)
            t = table.time
            lo, hi = np.searchsorted(t, times, "left"), np.searchsorted(t, times, "right")
            rows = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(times) else np.empty(0, np.int64)
            out[name] = table.take(rows)
        return replace(self, **out)

    def inventory_asset(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """The asset id of inventory rows (all rows by default)."""
        inst = self.inventory.inst if rows is None else self.inventory.inst[rows]
        return self.registry.asset[inst] if len(inst) else np.empty(0, np.int64)


def group_sum(cols: Mapping[str, np.ndarray], keys: Sequence[str], sums: Sequence[str]) -> dict[str, np.ndarray]:
    """Rows sorted by ``keys`` (the first varies slowest), one row per distinct key:
    ``sums`` added up in that order (``np.add.reduceat``), every other column taken
    from the group's first row. A group of one keeps its values bit for bit."""
    n = len(cols[keys[0]])
    if n == 0:
        return dict(cols)
    order = np.lexsort([cols[k] for k in reversed(keys)])
    cols = {c: v[order] for c, v in cols.items()}
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in keys:
        new[1:] |= cols[k][1:] != cols[k][:-1]
    if new.all():
        return cols
    starts = np.flatnonzero(new)
    out = {c: v[starts] for c, v in cols.items()}
    for c in sums:
        out[c] = np.add.reduceat(cols[c], starts)
    return out


def aggregate(
    data: ResultData, rows: np.ndarray, exposures: Sequence[str]
) -> tuple[StrikeTable, ExpiryTable, TotalTable]:
    """The by-strike, by-expiry and total tables of the inventory ``rows`` (indices), as
    the core builds them: strike rows sum calls and puts apart, every table is in the
    core's order (time, then asset by name), totals keep every (time, asset) of
    ``data.total`` (0 where no row is kept) and its spot."""
    inv, reg = data.inventory, data.registry
    inst = inv.inst[rows]
    t, a = inv.time[rows], reg.asset[inst].astype(np.int64)
    k, e, call = reg.strike[inst], reg.expiry[inst], reg.is_call[inst]
    gex = inv.gex[rows]
    xs = {x: getattr(inv, x)[rows] for x in exposures}
    # Asset ids are in registration order; the tables sort assets by name.
    rank = np.argsort(np.argsort(np.array(reg.assets, dtype=object))) if reg.assets else np.empty(0, np.int64)
    by_rank = np.argsort(rank) if len(rank) else rank
    r = rank[a] if len(a) else a

    s = group_sum(
        {
            "time": t,
            "rank": r,
            "strike": k,
            "call_gex": np.where(call, gex, 0.0),
            "put_gex": np.where(call, 0.0, gex),
            **xs,
        },
        ["time", "rank", "strike"],
        ["call_gex", "put_gex", *xs],
    )
    by_strike = StrikeTable(
        time=s["time"],
        asset=by_rank[s["rank"]].astype(np.uint16),
        strike=s["strike"],
        call_gex=s["call_gex"],
        put_gex=s["put_gex"],
        gex=s["call_gex"] + s["put_gex"],
        **{x: s[x] for x in xs},
    )
    x_ = group_sum({"time": t, "rank": r, "expiry": e, "gex": gex, **xs}, ["time", "rank", "expiry"], ["gex", *xs])
    by_expiry = ExpiryTable(
        time=x_["time"],
        asset=by_rank[x_["rank"]].astype(np.uint16),
        expiry=x_["expiry"],
        gex=x_["gex"],
        **{x: x_[x] for x in xs},
    )
    tot = data.total
    n = len(tot.time)
    idx = _row_index(tot.time, tot.asset.astype(np.int64), t, a)

    def per_total(v: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=v, minlength=n) if len(idx) else np.zeros(n)

    total = replace(tot, gex=per_total(gex), **{x: per_total(v) for x, v in xs.items()})
    return by_strike, by_expiry, total


def _row_index(time: np.ndarray, asset: np.ndarray, t: np.ndarray, a: np.ndarray) -> np.ndarray:
    """For each (t, a), the row of the (time, asset) table holding it."""
    import pandas as pd  # the MultiIndex lookup; pandas is already loaded by any result

    idx = pd.MultiIndex.from_arrays([time, asset])
    return idx.get_indexer(pd.MultiIndex.from_arrays([t, a]))


#: The dtypes the core gives its id and time columns (a merge restores them).
_ID_DTYPES = {"time": np.int64, "inst": np.uint32, "asset": np.uint16, "expiry": np.int64}
#: How each table's rows are keyed and which columns add up when keys repeat.
_MERGE_KEYS: dict[str, tuple[list[str], list[str]]] = {
    "inventory": (["time", "inst"], []),
    "by_strike": (["time", "asset", "strike"], ["call_gex", "put_gex"]),
    "by_expiry": (["time", "asset", "expiry"], ["gex"]),
    "total": (["time", "asset"], ["gex"]),
    "steps": (["time"], list(STEP_COUNTS)),
}
#: The columns a merge carries (and the exposure columns every piece has).
_MERGE_COLUMNS = {
    "inventory": ("inst", "inventory", "spot", "vol", "gamma", "gex"),
    "by_strike": ("asset", "strike", "call_gex", "put_gex", "gex"),
    "by_expiry": ("asset", "expiry", "gex"),
    "total": ("asset", "spot", "gex"),
    "steps": STEP_COUNTS,
}


def union(registries: Sequence[Registry]) -> tuple[Registry, list[np.ndarray], list[np.ndarray]]:
    """One registry of every instrument of ``registries``, in the order :func:`merge` needs
    (assets by name, instruments canonical), and per registry the maps of its instrument
    ids and asset ids into it. An option is its identity (asset, quote, expiry, strike,
    kind), as the core keys its registry; one several registries hold is kept once,
    with the first one's name and multiplier."""
    if not registries:
        return Registry.from_core({"assets": [], **{f: [] for f in _REGISTRY_COLUMNS}}), [], []
    assets = tuple(sorted({a for r in registries for a in r.assets}))
    asset_id = {a: i for i, a in enumerate(assets)}
    asset_maps = [np.array([asset_id[a] for a in r.assets], dtype=np.int64) for r in registries]
    cat = {f: np.concatenate([getattr(r, f) for r in registries]) for f in _REGISTRY_COLUMNS}
    cat["asset"] = np.concatenate([m[r.asset] if len(r) else r.asset for m, r in zip(asset_maps, registries)])
    idents = list(
        zip(
            cat["asset"].tolist(), cat["quote"], cat["expiry"].tolist(), cat["strike"].tolist(), cat["is_call"].tolist()
        )
    )
    first: dict[tuple[Any, ...], int] = {}
    for row, ident in enumerate(idents):
        first.setdefault(ident, row)
    rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    reg = Registry(assets=assets, **{f: v[rows] for f, v in cat.items()})
    order = reg.canonical_order()
    new_id = {idents[rows[o]]: i for i, o in enumerate(order)}
    ids = np.array([new_id[ident] for ident in idents], dtype=np.int64)
    inst_maps = np.split(ids, np.cumsum([len(r) for r in registries])[:-1])
    return reg.take(order), inst_maps, asset_maps


def _has(table: _Columns, column: str) -> bool:
    v = getattr(table, column)
    return v is not None and len(v) == len(table)


def merge(
    pieces: Sequence[tuple[ResultData, np.ndarray, np.ndarray]], registry: Registry, *, last_step: int | None
) -> ResultData:
    """One result from pieces over one ``registry``: each piece comes with its map of
    instrument ids and of asset ids into ``registry`` (whose ids must be in the core's
    order: assets by name, instruments canonical). Rows are concatenated, kept up to
    ``last_step`` (None: none), put in the core's order and, where keys repeat (one
    asset spread over several engines), summed; a strike's GEX is then its call sum
    plus its put sum, as the core computes it. Exposure columns (dex, vex, cex) are carried
    when every piece has them for every row."""
    merged: dict[str, _Columns] = {}
    for name, cls in _TABLE_TYPES.items():
        xs = [
            x
            for x in EXPOSURE_COLUMNS
            if name != "steps" and pieces and all(_has(getattr(p[0], name), x) for p in pieces)
        ]
        parts: dict[str, list[np.ndarray]] = {c: [] for c in ("time", *_MERGE_COLUMNS[name], *xs)}
        for data, inst_map, asset_map in pieces:
            table = getattr(data, name)
            for c in parts:
                v = np.asarray(getattr(table, c))
                if c == "inst":
                    v = inst_map[v.astype(np.int64)] if len(v) else v.astype(np.int64)
                elif c == "asset":
                    v = asset_map[v.astype(np.int64)] if len(v) else v.astype(np.int64)
                parts[c].append(v)
        cols = {c: (np.concatenate(v) if v else np.zeros(0)) for c, v in parts.items()}
        keep = cols["time"] <= last_step if last_step is not None else np.zeros(len(cols["time"]), dtype=bool)
        keys, sums = _MERGE_KEYS[name]
        sums = [*sums, *xs] if sums else sums  # inventory rows never repeat: nothing is summed
        grouped = group_sum({c: v[keep] for c, v in cols.items()}, keys, sums)
        if name == "by_strike":
            grouped["gex"] = grouped["call_gex"] + grouped["put_gex"]
        dtypes = {c: (np.uint64 if name == "steps" and c != "time" else _ID_DTYPES.get(c, np.float64)) for c in grouped}
        merged[name] = cls.from_columns({c: v.astype(dtypes[c]) for c, v in grouped.items()})
    return ResultData(registry=registry, **merged)  # type: ignore[arg-type]
