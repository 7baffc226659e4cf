"""report.html: how long it takes to write, how big it is, how fast Chromium opens it.

    python benches/html_page.py            # the demo's page (flowgex demo's defaults), opened 5 times
    python benches/html_page.py --year     # also a simulated year of 10-minute BTC steps

"Open" is the wall time from Playwright's ``goto(file://...)`` to the page's
``data-ready`` mark (set after every chart is drawn), in headless Chromium
from the distribution, with a fresh page each time after one warm-up open.
``domInteractive`` is when the browser finished parsing and running the
inline scripts (plotly.js, the data, the drawing); ``draw`` is the page's own
script (decode and the first Plotly.react calls). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import flowgex as fg
from flowgex.cli._pipeline import compute_classic


def open_times(path: Path, repeats: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    walls, interactive, draw = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for i in range(repeats + 1):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            wall = time.perf_counter() - t
            nav = json.loads(page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])"))
            ms = float(page.get_attribute("body", "data-draw-ms") or "nan")
            page.close()
            if i:  # the first open warms the browser's caches
                walls.append(wall)
                interactive.append(nav["domInteractive"] / 1e3)
                draw.append(ms / 1e3)
        browser.close()
    return {
        "open_best": min(walls),
        "open_median": statistics.median(walls),
        "dom_interactive_median": statistics.median(interactive),
        "draw_median": statistics.median(draw),
    }


def measure(name: str, flow: fg.GexResult, classic: fg.GexResult | None, folder: Path, repeats: int) -> None:
    path = folder / f"{name}.html"
    t = time.perf_counter()
    fg.write_html(flow, path, classic=classic)
    written = time.perf_counter() - t
    size = path.stat().st_size
    from plotly.offline import get_plotlyjs

    js = len(get_plotlyjs().encode())
    opened = open_times(path, repeats)
    print(
        f"{name}: {len(flow.times):,} steps, assets {flow.assets}; write_html {written:.1f} s; "
        f"{size / 1e6:.2f} MB ({js / 1e6:.2f} MB plotly.js + {(size - js) / 1e6:.2f} MB data and page); "
        + ", ".join(f"{k} {v:.2f} s" for k, v in opened.items())
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", action="store_true", help="also a simulated year of 10-minute BTC steps")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowgex-html-bench-") as tmp:
        folder = Path(tmp)
        # flowgex demo's defaults: 7 days of BTC and ETH, 5,000 trades/day/asset, seed 7.
        m = fg.simulate(days=7, assets=("BTC", "ETH"), seed=7, trades_per_day=5_000)
        flow = fg.flow_gex(m.trades, spot=m.spot)
        classic, _ = compute_classic(m.chain, at=flow.times[-1])
        measure("demo", flow, classic, folder, args.repeats)
        if args.year:
            del m, flow, classic
            m = fg.simulate(days=365, assets=("BTC",), seed=7, trades_per_day=1_000)
            flow = fg.flow_gex(m.trades, spot=m.spot)
            measure("year", flow, None, folder, args.repeats)


if __name__ == "__main__":
    main()
