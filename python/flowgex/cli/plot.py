"""``flowgex plot``: one chart of your data, as a PNG."""

from __future__ import annotations

from pathlib import Path

import click

from ..analytics.levels import levels
from ..plot import plot_heatmap, plot_profile, plot_strikes
from ._options import filter_options, filters_from
from ._pipeline import compute_flow
from .inputs import load_inputs
from .run import input_options


@click.command(short_help="One chart of your data, as a PNG.")
@input_options
@click.option(
    "--chart",
    type=click.Choice(["strikes", "heatmap", "profile"]),
    default="strikes",
    show_default=True,
    help="strikes: GEX by strike; heatmap: strike x time; profile: GEX vs hypothetical spot.",
)
@click.option("--asset", required=True, help="The asset to draw (BTC, ETH, ...).")
@click.option("--at", default=None, metavar="TIME", help="Grid time (default: the last).")
@filter_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="PNG path.")
def plot(
    inputs: tuple[Path, ...],
    chain: tuple[Path, ...],
    spot: tuple[Path, ...],
    fmt: str,
    resolution: str,
    chart: str,
    asset: str,
    at: str | None,
    max_days: float | None,
    exclude_next: bool,
    expiry: str | None,
    out: Path | None,
) -> None:
    """Draw one chart of the flow GEX of INPUTS (default file: <asset>_<chart>.png)."""
    data = load_inputs(inputs, chain=chain, spot=spot, fmt=fmt)
    res = filters_from(max_days, exclude_next, expiry).apply(compute_flow(data, resolution=resolution))
    path = out or Path(f"{asset.lower()}_{chart}.png")
    if chart == "strikes":
        plot_strikes(res, asset, at=at, path=path)
    elif chart == "heatmap":
        plot_heatmap(res, asset, path=path)
    else:
        plot_profile(res, asset, at=at, path=path)
    lv = levels(res, asset, at=at)
    click.echo(f"Wrote {path.resolve()} ({lv.asset} at {lv.time:%Y-%m-%d %H:%M} UTC)")
