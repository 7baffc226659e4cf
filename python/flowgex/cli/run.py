"""``flowgex run``: your files in; results, levels, charts and a report out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.parquet as pq

from ..options import parse_greeks, to_ns
from ..result import GexResult
from ._options import filter_options, filters_from
from ._pipeline import analyse, compute_flow, levels_frame, stream_flow, write_charts, write_page
from .changes import changes_frame, changes_text, parse_lookbacks
from .inputs import FORMATS, load_inputs
from .report import levels_table, write_report

_PATHS = click.Path(path_type=Path)
#: Parquet trades from which ``flowgex run`` streams unless told otherwise (about 0.5 GB held by the one-shot call).
STREAM_ROWS = 10_000_000


def input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """INPUTS..., --chain, --spot, --format, --resolution: shared with ``flowgex plot``."""
    fn = click.option("--resolution", default="10min", show_default=True, help="Grid step.")(fn)
    fn = click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True, help="Input format."
    )(fn)
    fn = click.option("--spot", multiple=True, type=_PATHS, help="Spot table file(s) (timestamp, asset, price).")(fn)
    fn = click.option("--chain", multiple=True, type=_PATHS, help="Option chain file(s): vols, prices, open interest.")(
        fn
    )
    fn = click.argument("inputs", nargs=-1, type=_PATHS)(fn)
    return fn


@click.command(short_help="Your files in; tables, levels, charts and a report out.")
@input_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("flowgex-out"), show_default=True)
@click.option("--asset", "assets", multiple=True, help="Assets to analyse (default: all).")
@click.option("--at", default=None, metavar="TIME", help="Grid time for levels and charts (default: the last).")
@filter_options
@click.option("--quarantine", is_flag=True, help="Set bad rows aside and count them instead of stopping.")
@click.option("--anchor", is_flag=True, help="Seed censored options from the chain's open interest.")
@click.option("--series", is_flag=True, help="Also write the levels at every grid time (series_<asset>.parquet).")
@click.option(
    "--greeks",
    default=None,
    metavar="NAMES",
    help="Also compute delta, vanna and/or charm exposure (dex, vex, cex columns), e.g. 'delta,vanna,charm'.",
)
@click.option(
    "--stream/--no-stream",
    default=None,
    help="Replay chunk by chunk with fg.replay (for inputs larger than memory): a progress bar, the tables "
    f"written to OUT/replay as they complete, a checkpoint after every chunk [default: from {STREAM_ROWS:,} "
    "Parquet trades on].",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted --stream run in --out from its checkpoint.")
@click.option(
    "--chunk-rows", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Trades per --stream chunk."
)
@click.option(
    "--changes",
    "changes",
    default=None,
    metavar="LOOKBACKS",
    help="Print the strikes whose GEX changed most over each lookback, e.g. '10min,1h,4h' (changes.csv).",
)
def run(
    inputs: tuple[Path, ...],
    chain: tuple[Path, ...],
    spot: tuple[Path, ...],
    fmt: str,
    resolution: str,
    out: Path,
    assets: tuple[str, ...],
    at: str | None,
    max_days: float | None,
    exclude_next: bool,
    expiry: str | None,
    quarantine: bool,
    anchor: bool,
    series: bool,
    greeks: str | None,
    stream: bool | None,
    resume: bool,
    chunk_rows: int,
    changes: str | None,
) -> None:
    """Flow GEX of the trades in INPUTS (Parquet, CSV, or a `flowgex simulate` folder), with charts and a report.

    Writes by_strike.parquet, total.parquet, levels.csv, three PNG charts per
    asset, report.md and the interactive report.html into --out. Parquet
    inputs are read in path mode (batch by batch); with --stream they are
    replayed chunk by chunk and an interrupted run continues with --resume.
    """
    filters = filters_from(max_days, exclude_next, expiry)
    filters.check()
    if at is not None:
        to_ns(at, name="at")
    lookbacks = parse_lookbacks(changes)
    greek_names = parse_greeks(["gamma", *(g.strip() for g in greeks.split(",") if g.strip())] if greeks else ())
    data = load_inputs(inputs, chain=chain, spot=spot, fmt=fmt)
    click.echo(f"Read {data.description}")
    if stream is None and data.parquet_trades and data.trade_rows >= STREAM_ROWS:
        click.echo(
            f"{data.trade_rows:,} trades: replaying them chunk by chunk into {out / 'replay'} (--no-stream: in memory)"
        )
        stream = True
    if stream or resume:
        flow = stream_flow(
            data,
            out / "replay",
            resolution=resolution,
            quarantine=quarantine,
            anchor=anchor,
            greeks=greek_names,
            chunk_rows=chunk_rows,
            resume=resume,
        )
    else:
        flow = compute_flow(data, resolution=resolution, quarantine=quarantine, anchor=anchor, greeks=greek_names)
    a = analyse(flow, data, assets=assets, at=at, filters=filters)
    out.mkdir(parents=True, exist_ok=True)
    a.flow.by_strike().to_parquet(out / "by_strike.parquet", index=False)
    a.flow.total().to_parquet(out / "total.parquet", index=False)
    levels_frame(a).to_csv(out / "levels.csv", index=False)
    if series:
        for asset in a.levels:
            pq.write_table(_series_table(a.flow, asset), out / f"series_{asset.lower()}.parquet")
    click.echo(f"\nLevels ({a.flow.unit}, {a.filters.describe()}):\n")
    click.echo(levels_table(a))
    for c in a.comparisons.values():
        click.echo(c.summary)
    if lookbacks:
        frame, notes = changes_frame(a.flow, list(a.levels), lookbacks, at)
        a.notes.extend(notes)
        if not frame.empty:
            frame.to_csv(out / "changes.csv", index=False)
        click.echo(f"\nLargest changes ({a.flow.unit}):\n")
        click.echo(changes_text(frame))
    write_charts(a, out)
    page = write_page(a, out, title="flowgex report")
    for note in a.notes:
        click.echo(f"note: {note}")
    report = write_report(a, out, title="flowgex report", source=data.description)
    pages = f", {report.name} and {page.name}" if page else f" and {report.name}"
    click.echo(f"\nWrote results, charts{pages} to {out.resolve()}")


def _series_table(res: GexResult, asset: str) -> pa.Table:
    return pa.Table.from_pandas(res.levels_series(asset), preserve_index=False)
