"""Regenerates the chart images shown in the README (run from the repository root).

    python docs/readme_charts.py [path/to/data]   (default: tests/data)

The BTC charts come from the `flowgex demo` market (same defaults); the NDX
profile from the CBOE file in the vendored real data (tests/data).
"""

from __future__ import annotations

import sys
from pathlib import Path

import flowgex as fg

DOCS = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS.parent / "tests" / "data"


def main() -> None:
    m = fg.simulate(days=7, assets=("BTC", "ETH"), seed=7, trades_per_day=5_000)
    flow = fg.flow_gex(m.trades, spot=m.spot)
    classic = fg.classic_gex(m.chain)
    fg.plot_strikes(flow, "BTC", path=DOCS / "btc_strikes.png")
    fg.plot_heatmap(flow, "BTC", path=DOCS / "btc_heatmap.png")
    fg.plot_profile(flow, "BTC", others={"classic (open interest)": classic}, path=DOCS / "btc_profile.png")

    ndx_file = DATA / "ndx_cboe_2022" / "ndx_quotedata_2022-02-05.csv"
    cboe = fg.read_cboe_quotedata(ndx_file if ndx_file.is_file() else ndx_file.with_name(ndx_file.name + ".gz"))
    ndx = fg.classic_gex(cboe.chain, multipliers=cboe.multipliers, errors="quarantine")
    fg.plot_profile(
        ndx.filter(exclude_next=True),
        "NDX",
        label="classic GEX, next expiry excluded",
        others={"all expiries": ndx},
        title="NDX classic GEX profile \u2014 CBOE chain of 2022-02-05 (published flip: 14,686)",
        path=DOCS / "ndx_profile.png",
    )


if __name__ == "__main__":
    main()
