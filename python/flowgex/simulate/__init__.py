"""A deterministic, Deribit-like simulated option market (the embedded default data).

What is modelled, module by module:

- :mod:`.calendar` — Deribit's listing calendar (dailies, Friday weeklies,
  last-Friday monthlies, quarterlies; all at 08:00 UTC) and strike ladders;
- :mod:`.model` — assets, the spot path with jumps, the vol smile and term
  structure;
- :mod:`.universe` — the listed options and the five kinds of takers
  (noise, speculative call buyers, put sellers, hedgers, overwriters);
- :mod:`.generator` — trades hour by hour (block trades included), open
  interest consistent with the flows, chain snapshots;
- :mod:`.market` — :func:`simulate` / :func:`simulate_chunks`;
- :mod:`.writers` — Parquet datasets and Tardis.dev CSV, streamed.
"""

from __future__ import annotations

from .market import DEFAULT_START, SimulatedMarket, simulate, simulate_chunks
from .writers import write_parquet, write_tardis_csv

__all__ = ["simulate", "simulate_chunks", "SimulatedMarket", "write_parquet", "write_tardis_csv", "DEFAULT_START"]
