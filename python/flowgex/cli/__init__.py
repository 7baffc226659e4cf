"""The ``flowgex`` command line: one module per command, registered here."""

from __future__ import annotations

import click

from .demo import demo
from .fetch import fetch


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowgex")
def main() -> None:
    """Taker-flow gamma exposure (GEX) for crypto options."""


main.add_command(demo)
main.add_command(fetch)

__all__ = ["main"]
