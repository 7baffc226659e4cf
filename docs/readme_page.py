"""Regenerates docs/report.png, the README's picture of report.html (run from the repository root).

    python docs/readme_page.py path/to/flowgex-demo/report.html

Opens the page `flowgex demo` wrote in headless Chromium (the system's), hovers
the BTC strike chart's largest bar, and saves the top of the page.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent


def main() -> None:
    page_path = Path(sys.argv[1]).resolve()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_path.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        i = page.evaluate(
            "() => { const y = document.getElementById('strikes').data[0].y;"
            " return y.reduce((b, v, k) => Math.abs(v) > Math.abs(y[b]) ? k : b, 0); }"
        )
        box = page.locator("#strikes .barlayer .point").nth(i).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator("#strikes .hoverlayer .hovertext").wait_for()
        page.screenshot(path=str(DOCS / "report.png"))
        browser.close()


if __name__ == "__main__":
    main()
