"""``flowgex fetch``: download Deribit trades into raw responses and daily Parquet."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FetchError, FlowgexError, OptionError
from ..io.fetch import DEFAULT_BASE_URL, KINDS, fetch_deribit_trades
from ..options import to_ns


def _date(value: str, param: str) -> str:
    try:
        to_ns(value, name=param)
    except OptionError as exc:
        raise click.BadParameter(f"expected a date such as 2025-12-01, found {value!r}", param_hint=param) from exc
    return value


@click.command()
@click.option("--currency", required=True, help="Deribit currency: BTC, ETH, USDC (linear options), ...")
@click.option("--start", required=True, help="First UTC day, e.g. 2025-12-01.")
@click.option("--end", required=True, help="Day after the last one (exclusive), e.g. 2025-12-02.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
@click.option("--kind", default="option", show_default=True, type=click.Choice(KINDS), help="Instrument kind.")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="Deribit API root.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.001), help="Seconds a try.")
@click.option(
    "--deadline", default=300.0, show_default=True, type=click.FloatRange(min=0.001),
    help="Seconds a whole request may take, however slowly the server answers.",
)  # fmt: skip
@click.option(
    "--max-pages-per-day", default=None, type=click.IntRange(min=1),
    help="Stop a day that pages longer than this (default: ten million trades' worth).",
)  # fmt: skip
@click.option("--retries", default=8, show_default=True, type=click.IntRange(min=0), help="Retries per request.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def fetch(
    currency: str,
    start: str,
    end: str,
    out: Path,
    kind: str,
    base_url: str,
    timeout: float,
    deadline: float,
    max_pages_per_day: int | None,
    retries: int,
    progress: bool,
) -> None:
    """Download every Deribit trade of a currency for the days from START up to END.

    Raw responses and one canonical Parquet file per day are written under OUT;
    run it again to resume an interrupted download.
    """
    _date(start, "--start")
    _date(end, "--end")
    if to_ns(end, name="end") <= to_ns(start, name="start"):
        raise click.BadParameter(f"--end ({end}) must be after --start ({start})", param_hint="--end")
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"expected an http(s) URL, found {base_url!r}", param_hint="--base-url")
    try:
        s = fetch_deribit_trades(
            currency, start, end, kind=kind, out=out, base_url=base_url, timeout=timeout, deadline=deadline,
            max_retries=retries, max_pages_per_day=max_pages_per_day, progress=progress,
        )  # fmt: skip
    except OptionError as exc:
        raise click.UsageError(str(exc)) from exc
    except (FetchError, FlowgexError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{s.trades} trades over {len(s.days)} day(s) in {s.dataset} "
        f"({s.requests} requests, {s.retries} retries, {s.days_already_done} day(s) already done)"
    )
    if s.rejected_total:
        reasons = ", ".join(f"{k}: {v}" for k, v in s.rejected.items() if v)
        click.echo(
            f"warning: {s.rejected_total} trade(s) from the server rejected ({reasons}); "
            f"listed in {s.out / 'raw' / kind}/<currency>/<day>/_rejected.json",
            err=True,
        )
