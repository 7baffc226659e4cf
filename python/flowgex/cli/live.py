"""``flowgex live``: follow Deribit's option market, write flow GEX at every final 10-minute step."""

from __future__ import annotations

from pathlib import Path

import click

from ..io.fetch import DEFAULT_BASE_URL
from ..live import live as run_live
from ..live.api import DEFAULT_WS_URL


@click.command(name="live", short_help="Follow Deribit live; write flow GEX at every final grid step.")
@click.option("--currency", "currencies", required=True, help="BTC,ETH; SOL, XRP... or USDC for linear options.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
@click.option("--ws-url", default=DEFAULT_WS_URL, show_default=True, help="Deribit websocket API.")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="Deribit history API (gaps).")
@click.option("--backfill", default="1d", show_default=True, help="History to load on a first start.")
@click.option("--until", default=None, metavar="TIME", help="Stop once this grid time is final.")
@click.option("--resolution", default="10min", show_default=True, help="Grid step.")
@click.option(
    "--interval", default="100ms", show_default=True, type=click.Choice(["100ms", "raw"]),
    help="Trade notifications: every trade batched per 100 ms (no account), or raw (needs authentication).",
)  # fmt: skip
@click.option("--max-reconnects", default=None, type=click.IntRange(min=0), help="Give up after this many.")
@click.option(
    "--html-window", default="1D", show_default=True, help="Steps shown in OUT/report.html (rewritten each commit)."
)
@click.option("--no-html", "no_html", is_flag=True, help="Do not write OUT/report.html.")
def live_cmd(
    currencies: str,
    out: Path,
    ws_url: str,
    base_url: str,
    backfill: str,
    until: str | None,
    resolution: str,
    interval: str,
    max_reconnects: int | None,
    html_window: str,
    no_html: bool,
) -> None:
    """Subscribe to Deribit's option trades, mark IVs and index prices and write flow GEX to OUT.

    Prints one line per asset at each final step and rewrites OUT/report.html (the
    interactive page, needs plotly) over the last --html-window of final steps.
    Ctrl-C or SIGTERM stops after writing what is final and a checkpoint; the same
    command resumes, back-filling the gap from the history API.
    """
    s = run_live(
        currencies, out, ws_url=ws_url, base_url=base_url, backfill=backfill, until=until,
        resolution=resolution, interval=interval, max_reconnects=max_reconnects, echo=click.echo,
        html=not no_html, html_window=html_window,
    )  # fmt: skip
    c = s.counts
    click.echo(
        f"stopped; final through {s.final_through}; {c.get('trades', 0)} trades, {c.get('chain', 0)} chain and "
        f"{c.get('spot', 0)} spot rows fed; {s.counts.get('quarantined', 0)} message(s) quarantined; "
        f"{c.get('reconnects', 0)} reconnect(s); output in {s.out}",
        err=True,
    )
