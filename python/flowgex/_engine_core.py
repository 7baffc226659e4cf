"""The Rust state machine for a set of parsed options: the one place that maps
:class:`~flowgex.options.EngineOptions` onto the core's constructor.

:class:`flowgex.Engine` wraps one; ``flowgex.distributed`` builds them per key
(to validate rows and to evaluate). Keeping the mapping here, below both, means
a new option is wired once.
"""

from __future__ import annotations

from . import _core
from .options import EngineOptions

__all__ = ["core_engine"]


def core_engine(opts: EngineOptions) -> _core.CoreEngine:
    """A fresh core engine configured by ``opts``."""
    return _core.CoreEngine(
        resolution_ns=opts.resolution_ns,
        unit=opts.unit,
        start=opts.start_ns,
        end=opts.end_ns,
        multipliers=list(opts.multipliers),
        missing_vol=opts.missing_vol,
        missing_spot=opts.missing_spot,
        rate=opts.r,
        keep=opts.keep_inventory,
        keep_aggregates=opts.keep_aggregates,
        threads=opts.threads,
        grid_limit=opts.grid_limit,
        outlier_gap=opts.outlier_gap_ns,
        greeks=list(opts.greeks),
    )
