"""``flowgex demo``: the whole product on a built-in market."""

from __future__ import annotations

import click

from .._example import example_trades
from ..engine import flow_gex


@click.command()
def demo() -> None:
    """Run on the built-in example market and print the strike chart at the last step."""
    res = flow_gex(example_trades())
    table = res.by_strike(asset="BTC", at="last")
    click.echo(f"BTC flow GEX by strike at {table.time.iloc[0]} (USD per 1% move)")
    click.echo(
        table[["strike", "call_gex", "put_gex", "gex"]].to_string(index=False, float_format=lambda x: f"{x:,.0f}")
    )
