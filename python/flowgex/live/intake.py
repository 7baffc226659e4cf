"""Notifications → the three canonical tables, with every message accounted for.

A batch of notifications is read in one call of the capture reader
(:func:`flowgex.read_deribit_messages`: trades as the history API's, mark
prices' ``iv`` already a decimal, index prices as spot rows), which is both
the fast path and the very code a user would replay a capture with. A message
that reader cannot take (a notification whose data is not records, say)
would fail the whole batch, so on failure each message is read on its own
and the bad ones are *quarantined*: kept verbatim with the reason, counted,
never fed and never fatal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..errors import FlowgexError
from ..io.deribit_ws import read_deribit_messages
from .recorded import CHAIN, SPOT, TRADES, conform

__all__ = ["Intake", "Quarantined", "read_notes"]


@dataclass(frozen=True)
class Quarantined:
    """A message set aside: its text and why."""

    text: str
    reason: str


@dataclass
class Intake:
    """What a batch of notifications holds, in the recorded schemas."""

    trades: pa.Table
    chain: pa.Table
    spot: pa.Table
    quarantined: list[Quarantined] = field(default_factory=list)
    ignored: int = 0  # notifications of channels that feed no table (none are subscribed; counted anyway)


def _read(values: list[Any], multipliers: Mapping[str, float] | None) -> tuple[pa.Table, pa.Table, pa.Table, int]:
    got = read_deribit_messages(values, multipliers=multipliers)
    return conform(got.trades, TRADES), conform(got.chain, CHAIN), conform(got.spot, SPOT), sum(got.channels.values())


def _empty() -> tuple[pa.Table, pa.Table, pa.Table]:
    return TRADES.empty_table(), CHAIN.empty_table(), SPOT.empty_table()


def read_notes(notes: Sequence[tuple[Any, str]], multipliers: Mapping[str, float] | None = None) -> Intake:
    """The tables of ``notes`` (each ``(parsed message, text)``), in arrival order."""
    if not notes:
        return Intake(*_empty())
    try:
        t, c, s, ignored = _read([v for v, _ in notes], multipliers)
        return Intake(t, c, s, [], ignored)
    except (FlowgexError, pa.ArrowException, ValueError, TypeError, KeyError, OverflowError, RecursionError):
        pass
    parts: list[tuple[pa.Table, pa.Table, pa.Table]] = []
    bad: list[Quarantined] = []
    ignored = 0
    for value, text in notes:
        try:
            t, c, s, n = _read([value], multipliers)
        except (FlowgexError, pa.ArrowException, ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
            bad.append(Quarantined(text, f"{type(exc).__name__}: {str(exc)[:300]}"))
            continue
        parts.append((t, c, s))
        ignored += n
    if not parts:
        return Intake(*_empty(), bad, ignored)
    tables = [pa.concat_tables([p[k] for p in parts]) for k in range(3)]
    return Intake(tables[0], tables[1], tables[2], bad, ignored)
