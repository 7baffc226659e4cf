"""``flowgex demo``: the whole product on the built-in simulated market, in seconds."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..engine import flow_gex
from ..options import parse_greeks
from ..simulate import simulate
from ._options import market_options, split_assets
from ._pipeline import Filters, analyse, write_charts, write_page
from .inputs import Inputs
from .report import levels_table, write_report


@click.command(short_help="The whole product on a simulated market: start here.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("flowgex-demo"),
    show_default=True,
    help="Folder for the charts and the report (created if needed).",
)
@market_options(days=7, tpd=5_000)
@click.option(
    "--greeks",
    default=None,
    metavar="NAMES",
    help="Also compute delta, vanna and/or charm exposure (report.html can switch to them), e.g. 'delta,vanna,charm'.",
)
def demo(out: Path, days: int, assets: str, seed: int, trades_per_day: int, greeks: str | None) -> None:
    """Simulate a Deribit-like market, compute flow and classic GEX, print the levels, write charts and a report."""
    t0 = time.perf_counter()
    names = split_assets(assets)
    greek_names = parse_greeks(["gamma", *(g.strip() for g in greeks.split(",") if g.strip())] if greeks else ())
    click.echo(
        f"Simulating {days} days of {', '.join(names)} options ({trades_per_day:,} trades/day/asset, seed {seed})"
    )
    market = simulate(days=days, assets=names, seed=seed, trades_per_day=trades_per_day)
    inputs = Inputs(market.trades, market.chain, market.spot, f"simulated market, seed {seed}")
    flow = flow_gex(market.trades, spot=market.spot, greeks=greek_names)
    a = analyse(flow, inputs, filters=Filters())
    click.echo(f"\nLevels at {max(lv.time for lv in a.levels.values()):%Y-%m-%d %H:%M} UTC ({flow.unit}):\n")
    click.echo(levels_table(a))
    click.echo("")
    for c in a.comparisons.values():
        click.echo(c.summary)
    write_charts(a, out)
    title = "flowgex demo: a simulated Deribit market"
    page = write_page(a, out, title=title)
    report = write_report(a, out, title=title, source=inputs.description)
    files = ", ".join([p.name for paths in a.charts.values() for p in paths] + ([page.name] if page else []))
    for note in a.notes:
        click.echo(f"note: {note}")
    click.echo(f"\nWrote {report.resolve()} and {files} in {out.resolve()} ({time.perf_counter() - t0:.1f} s)")
