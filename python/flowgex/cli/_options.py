"""Options shared by several commands (expiry filters, market parameters)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ._pipeline import Filters

__all__ = ["filter_options", "filters_from", "market_options", "split_assets"]


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--max-days, --exclude-next, --expiry: the classic tools' expiry filters."""
    fn = click.option("--expiry", metavar="DATE", help="Only the options expiring on this UTC date (2024-12-27).")(fn)
    fn = click.option("--exclude-next", is_flag=True, help="Drop each asset's nearest expiry at every grid time.")(fn)
    fn = click.option(
        "--max-days", type=click.FloatRange(min=0), metavar="DAYS", help="Only options expiring within DAYS days."
    )(fn)
    return fn


def filters_from(max_days: float | None, exclude_next: bool, expiry: str | None) -> Filters:
    return Filters(max_days=max_days, exclude_next=exclude_next, expiry=expiry)


def split_assets(value: str) -> tuple[str, ...]:
    return tuple(a.strip().upper() for a in value.split(",") if a.strip())


def market_options(days: int, tpd: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--days, --assets, --seed, --trades-per-day for the simulated market."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option(
            "--trades-per-day", type=click.IntRange(min=1), default=tpd, show_default=True, help="Per asset."
        )(fn)
        fn = click.option("--seed", type=click.IntRange(min=0), default=7, show_default=True)(fn)
        fn = click.option(
            "--assets", default="BTC,ETH", show_default=True, help="Comma-separated: BTC, ETH, SOL, XRP."
        )(fn)
        fn = click.option("--days", type=click.IntRange(min=1), default=days, show_default=True)(fn)
        return fn

    return wrap
