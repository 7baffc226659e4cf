"""``flowgex simulate``: write a simulated market as Parquet or Tardis CSV, streamed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import click
from tqdm import tqdm

from ..simulate import SimulatedMarket, simulate_chunks, write_parquet, write_tardis_csv
from ..simulate.market import default_chunk_hours
from ._options import market_options, split_assets


@click.command("simulate", short_help="Write a simulated market as Parquet or Tardis CSV.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "tardis"]),
    default="parquet",
    show_default=True,
    help="parquet: hive-partitioned canonical tables; tardis: Tardis.dev gzip CSV per day.",
)
@click.option(
    "--chain-every", type=click.IntRange(min=1), default=1, show_default=True, help="Hours between chain snapshots."
)
@click.option("--chunk-hours", type=click.IntRange(min=1), default=None, help="Hours per chunk (default: ~1M trades).")
@market_options(days=7, tpd=5_000)
def simulate_cmd(
    out: Path,
    fmt: str,
    chain_every: int,
    chunk_hours: int | None,
    days: int,
    assets: str,
    seed: int,
    trades_per_day: int,
) -> None:
    """Generate a deterministic Deribit-like market (trades, chain, spot) into OUT, in bounded memory."""
    names = split_assets(assets)
    hours = chunk_hours or default_chunk_hours(trades_per_day, len(names))
    chunks = simulate_chunks(
        days=days,
        assets=names,
        seed=seed,
        trades_per_day=trades_per_day,
        chain_every=chain_every,
        chunk_hours=hours,
    )
    written = {"trades": 0}

    def stream() -> Iterator[SimulatedMarket]:
        with tqdm(total=math.ceil(days * 24 / hours), desc="simulate", unit="chunk", disable=None) as bar:
            for m in chunks:
                written["trades"] += m.trades.num_rows
                yield m
                bar.update(1)

    (write_parquet if fmt == "parquet" else write_tardis_csv)(stream(), out)
    click.echo(f"Wrote {written['trades']:,} trades of {', '.join(names)} over {days} days to {out.resolve()} ({fmt})")
