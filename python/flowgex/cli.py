"""The ``flowgex`` command line."""

from __future__ import annotations

import sys

import click

from ._example import example_trades
from .engine import flow_gex


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Taker-flow gamma exposure (GEX) for crypto options."""


@main.command()
def demo() -> None:
    """Run on the built-in example market and print the strike chart at the last step."""
    res = flow_gex(example_trades())
    table = res.by_strike(asset="BTC", at="last")
    click.echo(f"BTC flow GEX by strike at {table.time.iloc[0]} (USD per 1% move)")
    click.echo(
        table[["strike", "call_gex", "put_gex", "gex"]].to_string(index=False, float_format=lambda x: f"{x:,.0f}")
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
