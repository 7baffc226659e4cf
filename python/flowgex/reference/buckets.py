"""Rules 1–4: time buckets, taker flow into dealer inventory, and which options are live.

A trade at τ belongs to the bucket labelled by its right edge (⌊τ/Δ⌋+1)·Δ; at
grid time t every bucket labelled <= t has been applied (rule 2), a bucket's
flow being the signed sum of its trades (buy +, sell −, rule 3), and the dealer
holds minus the cumulative flow. An option is live at t while t < expiry (rule 4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .instruments import INT64_MAX, Key

__all__ = ["bucket_label", "timestamp_limit", "grid", "apply_buckets", "live_options"]


def bucket_label(ts: int, res: int) -> int:
    """Rule 1: a trade at τ is labelled by the right edge (⌊τ/Δ⌋+1)·Δ."""
    return (ts // res + 1) * res


def timestamp_limit(res: int) -> int:
    """The first bad timestamp at resolution Δ: (⌊(2⁶³−1)/Δ⌋ − 2)·Δ, so that a bucket
    label (⌊τ/Δ⌋+1)·Δ and one more step still fit in int64."""
    return ((INT64_MAX // res) - 2) * res


def grid(first: int | None, last: int | None, res: int) -> range:
    """The reported grid times first, first+Δ, ..., last (none without a first or last)."""
    return range(first, last + 1, res) if first is not None and last is not None and first <= last else range(0)


def apply_buckets(
    trades: list[dict[str, Any]],
    start: int,
    t: int,
    res: int,
    inventory: dict[int, float],
    traded: set[int],
    observe: Callable[[dict[str, Any]], None],
) -> int:
    """Applies every bucket of ``trades[start:]`` (sorted by time) whose trades are before ``t``:
    each bucket's flow per option, summed in time order, is subtracted from the inventory.
    ``observe`` sees every trade (its iv and index price feed the as-of registers).
    Returns the index of the first trade not applied."""
    ti = start
    while ti < len(trades) and trades[ti]["ts"] < t:
        label = bucket_label(trades[ti]["ts"], res)
        flow: dict[int, float] = {}
        while ti < len(trades) and bucket_label(trades[ti]["ts"], res) == label:
            e = trades[ti]
            flow[e["id"]] = flow.get(e["id"], 0.0) + e["q"]
            observe(e)
            ti += 1
        for i, f in flow.items():
            inventory[i] = inventory.get(i, 0.0) + (-f)
            traded.add(i)
    return ti


def live_options(traded: set[int], keys: list[Key], t: int, order: Callable[[Key], Any]) -> list[int]:
    """Rule 4: the traded (or seeded) options with t < expiry, in ``order``."""
    live = [i for i in traded if keys[i][2] > t]
    live.sort(key=lambda i: order(keys[i]))
    return live
