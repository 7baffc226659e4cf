"""What happened to the input: rows read, rejected by reason, duplicates,
instruments, expiries, chain rows after expiry, missing volatility and where
the spot came from.

Nothing is dropped without being counted (DESIGN section 5): every row read is
either used or appears in ``rejected`` (and, under ``errors="quarantine"``, in
``rejected_rows`` with its reason), or in ``excluded`` when the user asked to
leave a class of trades out (block trades, combo legs, liquidations).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from ._tables import ResultData

__all__ = ["Diagnostics", "REASONS"]

#: Rejection reasons, in the precedence order the engines apply them.
REASONS = (
    "bad_timestamp",
    "outlier_timestamp",
    "unparseable_instrument",
    "unknown_multiplier",
    "unknown_side",
    "bad_amount",
    "bad_price",
    "bad_iv",
    "bad_open_interest",
    "bad_gamma",
    "bad_asset",
    "expired",
    "late",
    "duplicate_trade_id",
)


@dataclass(frozen=True)
class Diagnostics(Mapping[str, Any]):
    """Counts describing one result; also readable as a mapping (``d["expired"]``)."""

    trades_read: int = 0
    trades_used: int = 0
    chain_rows_read: int = 0
    spot_rows_read: int = 0
    #: Rejected trade rows by reason (only reasons that occurred).
    rejected: Mapping[str, int] = field(default_factory=dict)
    chain_rejected: Mapping[str, int] = field(default_factory=dict)
    spot_rejected: Mapping[str, int] = field(default_factory=dict)
    #: Trades left out on request (block trades, combo legs, liquidations), by class.
    excluded: Mapping[str, int] = field(default_factory=dict)
    #: Trade rows rejected as repeats of an earlier trade id (the first is kept).
    duplicates: int = 0
    #: Distinct instruments that traded or were seeded.
    instruments: int = 0
    #: Of those, how many expired at or before the last reported grid time.
    expired: int = 0
    #: Chain rows stamped at or after their option's expiry: not bad input (venues keep
    #: publishing expiring options), but ignored for that option (no vol, underlying or
    #: open interest), so counted here rather than in ``chain_rejected``.
    chain_after_expiry: int = 0
    #: Live (instrument, step) rows with no volatility (skipped or filled per ``missing_vol``).
    missing_vol: int = 0
    #: Live (instrument, step) rows with no underlying price.
    missing_spot: int = 0
    #: Live (instrument, step) rows by underlying-price source: chain, spot, index_price.
    spot_source: Mapping[str, int] = field(default_factory=dict)
    #: Live (instrument, step) rows by volatility source: chain, trade.
    vol_source: Mapping[str, int] = field(default_factory=dict)
    #: Rejected rows with ``row`` and ``reason`` columns, by input table (quarantine mode).
    rejected_rows: Mapping[str, pa.Table] = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    @classmethod
    def _keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "rejected_rows")

    def as_dict(self) -> dict[str, Any]:
        """Plain counts (no tables), e.g. for JSON."""
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in ((k, getattr(self, k)) for k in self._keys())}

    @classmethod
    def from_data(
        cls,
        data: ResultData,
        *,
        rejected_rows: Mapping[str, pa.Table] | None = None,
        excluded: Mapping[str, int] | None = None,
    ) -> Diagnostics:
        """The diagnostics of an engine's :class:`~flowgex._tables.ResultData` (which has counts)."""
        if data.counts is None:
            raise TypeError("Diagnostics.from_data: the result data carries no counts (a merged piece)")
        steps = {f"steps.{k}": v for k, v in data.steps.columns().items()}
        return cls.from_core({**steps, **data.counts.to_core()}, rejected_rows=rejected_rows, excluded=excluded)

    @classmethod
    def from_core(
        cls,
        core: Mapping[str, Any],
        *,
        rejected_rows: Mapping[str, pa.Table] | None = None,
        excluded: Mapping[str, int] | None = None,
    ) -> Diagnostics:
        rows = [int(x) for x in core["rows_read"]]
        rej = [[int(x) for x in t] for t in core["rejected"]]
        by_reason = [{REASONS[i]: n for i, n in enumerate(t) if n} for t in rej]
        # Source counts: the steps held, plus those already drained from a streaming engine.
        s = {k[len("steps.") :]: int(v.sum()) for k, v in core.items() if k.startswith("steps.") and k != "steps.time"}
        for name, v in core.get("drained_sources", {}).items():
            s[name] = s.get(name, 0) + int(v)
        return cls(
            trades_read=rows[0],
            trades_used=rows[0] - sum(rej[0]),
            chain_rows_read=rows[1],
            spot_rows_read=rows[2],
            rejected=by_reason[0],
            chain_rejected=by_reason[1],
            spot_rejected=by_reason[2],
            excluded=dict(excluded or {}),
            duplicates=by_reason[0].get("duplicate_trade_id", 0),
            instruments=int(core["traded_instruments"]),
            expired=int(core["expired"]),
            chain_after_expiry=int(core.get("chain_after_expiry", 0)),
            missing_vol=s.get("vol_missing", 0),
            missing_spot=s.get("spot_missing", 0),
            spot_source={
                "chain": s.get("spot_chain", 0),
                "spot": s.get("spot_table", 0),
                "index_price": s.get("spot_index", 0),
            },
            vol_source={"chain": s.get("vol_chain", 0), "trade": s.get("vol_trade", 0)},
            rejected_rows=dict(rejected_rows or {}),
        )
