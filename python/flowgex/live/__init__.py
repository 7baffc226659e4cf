"""Live flow GEX from Deribit's websocket (DESIGN rule 19): :func:`live`.

One concern a module: :mod:`.channels` (currencies → channels), :mod:`.session`
(websocket JSON-RPC, heartbeats), :mod:`.intake` (messages → tables, quarantine),
:mod:`.gate` (dedupe, late rows), :mod:`.backfill` (history API gaps),
:mod:`.recorded` (what was fed, on disk), :mod:`.outputs` (final steps), :mod:`.page`
(report.html over a window of final steps),
:mod:`.checkpoint`, :mod:`.runner` (feed / clock / commit), :mod:`.loop`
(the asyncio loop, reconnects), :mod:`.api`.
"""

from __future__ import annotations

from .api import LIVE_DEFAULTS, LiveSummary, live
from .outputs import read_levels
from .recorded import read_recorded

__all__ = ["live", "LiveSummary", "LIVE_DEFAULTS", "read_levels", "read_recorded"]
