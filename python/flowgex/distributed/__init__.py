"""flowgex on a Dask cluster: the same flow-GEX, one Rust engine per asset.

``flowgex.distributed.flow_gex(ddf_or_path, ...)`` takes the options of
:func:`flowgex.flow_gex` and returns the same :class:`~flowgex.GexResult`;
:class:`Replay` runs consecutive periods, each starting from the previous
one's engine state. Needs the ``dask`` extra: ``pip install flowgex[dask]``.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import dask.dataframe  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        f"flowgex.distributed needs dask[dataframe] and distributed: pip install 'flowgex[dask]' (import failed: {exc})"
    ) from exc

from .api import concat_results, flow_gex
from .replay import Replay

__all__ = ["flow_gex", "Replay", "concat_results"]
