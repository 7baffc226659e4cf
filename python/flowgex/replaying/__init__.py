"""Replaying years of data: the orchestration above the engine.

:func:`replay` merges the input streams (read by :mod:`flowgex.io.sources`) in
time order (:mod:`.merge`), feeds an :class:`~flowgex.Engine` chunk by chunk
(:mod:`.run`), writes the completed grid steps to a Parquet dataset
(:mod:`.output`, read back by :func:`read_replay`) and checkpoints after every
chunk (:mod:`.checkpoint`), so a killed replay resumes where it stopped.

The readers stay in :mod:`flowgex.io`; this package sits above the engine and
the result (it imports them), which :mod:`flowgex.io` must not.
(Named ``replaying`` because ``flowgex.replay`` is the function users call.)
"""

from __future__ import annotations

from .output import read_replay
from .run import ReplaySummary, replay

__all__ = ["replay", "read_replay", "ReplaySummary"]
