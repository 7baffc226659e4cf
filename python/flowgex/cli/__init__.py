"""The ``flowgex`` command line: one module per command, registered here.

Errors: a user mistake prints one line and exits with code 2, a bug one line
and code 1; ``flowgex --debug ...`` shows tracebacks (see ``_app``).
"""

from __future__ import annotations

import click

from ._app import FlowgexGroup
from .demo import demo
from .fetch import fetch
from .live import live_cmd
from .plot import plot
from .run import run
from .simulate import simulate_cmd
from .study import study


@click.group(cls=FlowgexGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="flowgex")
def main(debug: bool) -> None:
    """Taker-flow gamma exposure (GEX) for crypto options.

    Start with `flowgex demo`.
    """


main.add_command(demo)
main.add_command(fetch)
main.add_command(run)
main.add_command(plot)
main.add_command(simulate_cmd)
main.add_command(study)
main.add_command(live_cmd)

__all__ = ["main"]
