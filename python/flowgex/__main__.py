"""``python -m flowgex``: the command line (see ``flowgex --help``)."""

from .cli import main

main()
