"""Pure-Python reference implementation of taker-flow GEX.

Written from DESIGN.md section 1 (definitions) and section 5 (bad input)
alone, in plain Python with the ``math`` module, one module per group of rules
(the shape of py_vollib's ``ref_python``):

- :mod:`.instruments` — instrument names and the canonical order of options;
- :mod:`.validate` — bad rows and their reasons (section 5), instrument ids;
- :mod:`.buckets` — rules 1–4: bucket labels, flow into inventory, live options;
- :mod:`.asof` — rules 5–6: spot and volatility as of a grid time;
- :mod:`.greeks` — rules 8, 10, 15, 16: Black-76 gamma, delta/vanna/charm, exposures;
- :mod:`.aggregate` — rule 11: by strike, by expiry, per asset;
- :mod:`.flow` — the step loop that puts them together.

It imports nothing from the engine: only the canonical input tables, the
contract-multiplier table (data, not logic), the wording of the bad-rows error
(:mod:`flowgex.rejects`) and the result types. It is slow on purpose so that
it can catch a wrong fast path rather than mirror it. Select it with
``flow_gex(..., engine="reference")``.
"""

from __future__ import annotations

from .buckets import bucket_label, timestamp_limit
from .flow import flow_gex_reference
from .greeks import first_order, gamma
from .instruments import display_name, parse_name

__all__ = [
    "flow_gex_reference",
    "gamma",
    "first_order",
    "parse_name",
    "display_name",
    "bucket_label",
    "timestamp_limit",
]
