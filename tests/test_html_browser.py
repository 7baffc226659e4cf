"""report.html in a real browser: headless Chromium from the distribution, driven by Playwright.

The page is opened from file:// with every non-file request blocked and
recorded; the tests then use it as a person would (keyboard on the time
control, the asset menu, the mouse over a bar) and compare what plotly drew
with the library's tables. Chromium missing is a failure, not a skip: .ci/run
installs it (apt-get install chromium).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from tests.html_page import market_results, read_blob

import flowgex as fg

WINDOW = 0.15


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium not found: install it (apt-get install -y chromium); .ci/run does so when it is missing")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    flow, classic = market_results()
    folder = tmp_path_factory.mktemp("html_browser")
    path = fg.write_html(flow, folder / "report.html", classic=classic, max_steps=60)
    return flow, classic, path, read_blob(path), folder


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield b
        b.close()


class Opened:
    """A page opened from file:// with its console errors and network requests recorded."""

    def __init__(self, browser, path: Path):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.blocked: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []

        def block(route):
            self.blocked.append(route.request.url)
            route.abort()

        self.context.route(re.compile(r"^(?!file:).*"), block)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=60_000)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def opened(browser, written):
    o = Opened(browser, written[2])
    yield o
    o.close()


def _bars_library(flow: fg.GexResult, asset: str, at: pd.Timestamp) -> pd.DataFrame:
    lv = fg.levels(flow, asset, at=at)
    t = flow.by_strike(asset=asset, at=at)
    return t[(t["strike"] - lv.spot).abs() <= WINDOW * lv.spot].reset_index(drop=True)


def _drawn_bars(page) -> tuple[list[float], list[float], int]:
    """(x, y) of the strike chart's bar trace as plotly holds it, and the number of bar elements drawn."""
    x, y = page.evaluate("() => { const d = document.getElementById('strikes').data[0]; return [d.x, d.y]; }")
    return x, y, page.locator("#strikes .barlayer .point").count()


def _not_blank(path: Path) -> None:
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    assert img.shape[0] > 200 and img.shape[1] > 300
    assert img.std() > 20, f"{path.name} looks blank (pixel std {img.std():.1f})"
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    assert colours > 50, f"{path.name} has only {colours} colours"


def test_opens_from_disk_without_network_or_console_errors(opened, written):
    path = written[2]
    assert opened.errors == []
    assert opened.blocked == []
    assert opened.requests == [path.as_uri()]


def test_every_chart_renders(opened, written):
    flow, _, _, data, folder = written
    page = opened.page
    last = pd.Timestamp(data["assets"]["BTC"]["t"][-1], unit="s", tz="UTC")
    assert page.locator("#strikes .barlayer .point").count() == len(_bars_library(flow, "BTC", last))
    assert page.locator("#profile .scatterlayer .trace").count() == 2  # flow and classic curves
    assert page.locator("#heatmap .heatmaplayer image").count() == 1
    assert page.locator("#heatmap .scatterlayer .trace").count() == 2  # spot and flip
    rows = page.locator("#levels tbody tr")
    assert rows.count() == len(data["assets"]["BTC"]["t"])
    assert "sticky" in rows.first.inner_text() or "slippery" in rows.first.inner_text()
    assert "flow vs classic" in page.locator("#compare").inner_text()
    for name in ("strikes", "profile", "heatmap"):
        shot = folder / f"{name}.png"
        page.locator(f"#{name}").screenshot(path=str(shot))
        _not_blank(shot)
    page.screenshot(path=str(folder / "page.png"), full_page=True)
    _not_blank(folder / "page.png")


def test_time_control_moves_the_strike_chart_to_that_step(opened, written):
    flow, _, _, data, _ = written
    page = opened.page
    times = data["assets"]["BTC"]["t"]
    slider = page.locator("#time")
    assert int(slider.input_value()) == len(times) - 1  # the latest step is selected
    slider.focus()
    for key, j in (("Home", 0), ("ArrowRight", 1), ("End", len(times) - 1), ("ArrowLeft", len(times) - 2)):
        page.keyboard.press(key)
        assert page.get_attribute("body", "data-step") == str(j)
        at = pd.Timestamp(times[j], unit="s", tz="UTC")
        expected = _bars_library(flow, "BTC", at)
        x, y, drawn = _drawn_bars(page)
        np.testing.assert_array_equal(x, expected["strike"])
        np.testing.assert_array_equal(y, expected["gex"])
        assert drawn == len(expected)
        assert f"{at:%Y-%m-%d %H:%M} UTC" in page.locator("#time-label").inner_text()
        # The profile moves too: the flow curve is fg.profile at that step.
        px, py = page.evaluate("() => { const d = document.getElementById('profile').data[0]; return [d.x, d.y]; }")
        spot = fg.levels(flow, "BTC", at=at).spot
        curve = fg.profile(flow, "BTC", at=at, spots=np.linspace(0.8, 1.2, 81) * spot)
        np.testing.assert_array_equal(px, curve["spot"])
        np.testing.assert_array_equal(py, curve["gex"])
        assert page.locator("#levels tr.sel").count() == 1
    first = _bars_library(flow, "BTC", pd.Timestamp(times[0], unit="s", tz="UTC"))["gex"].to_numpy()
    last = _bars_library(flow, "BTC", pd.Timestamp(times[-1], unit="s", tz="UTC"))["gex"].to_numpy()
    assert len(first) != len(last) or not np.array_equal(first, last)  # the steps do differ


def test_asset_switch_and_expiry_filter(opened, written):
    flow, _, _, data, _ = written
    page = opened.page
    page.select_option("#asset", "ETH")
    last = pd.Timestamp(data["assets"]["ETH"]["t"][-1], unit="s", tz="UTC")
    x, y, drawn = _drawn_bars(page)
    expected = _bars_library(flow, "ETH", last)
    np.testing.assert_array_equal(x, expected["strike"])
    np.testing.assert_array_equal(y, expected["gex"])
    assert drawn == len(expected)
    assert "ETH GEX by strike" in (page.locator("#strikes .gtitle").text_content() or "")
    assert page.locator("#now").inner_text().startswith("ETH at")
    page.select_option("#filter", "ex_next")
    x, y, _ = _drawn_bars(page)
    expected = _bars_library(flow.filter(exclude_next=True), "ETH", last)
    np.testing.assert_array_equal(x, expected["strike"])
    np.testing.assert_array_equal(y, expected["gex"])
    assert opened.errors == []


def _money(text: str) -> float:
    sign = -1.0 if text.startswith("\u2212") else 1.0
    return sign * float(text.lstrip("\u2212$").replace(",", ""))


def test_hover_shows_the_strike_and_its_values(opened, written):
    flow, _, _, data, folder = written
    page = opened.page
    last = pd.Timestamp(data["assets"]["BTC"]["t"][-1], unit="s", tz="UTC")
    table = _bars_library(flow, "BTC", last)
    i = int(table["gex"].abs().idxmax())
    row = table.iloc[i]
    box = page.locator("#strikes .barlayer .point").nth(i).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator("#strikes .hoverlayer .hovertext")
    hover.wait_for(timeout=10_000)
    # SVG text: one <tspan class="line"> per line of the hover label.
    text = hover.evaluate("el => Array.from(el.querySelectorAll('tspan.line')).map(t => t.textContent).join('\\n')")
    page.screenshot(path=str(folder / "hover.png"))
    m = re.search(r"strike ([\d,.]+)\s+total GEX (\S+)\s+calls (\S+)\s+puts (\S+)", text)
    assert m, text
    assert float(m.group(1).replace(",", "")) == row["strike"]
    # Values of $1,000 and more are shown to the dollar.
    for shown, value in zip(m.groups()[1:], (row["gex"], row["call_gex"], row["put_gex"])):
        if abs(value) >= 1000:
            assert abs(_money(shown) - value) <= 0.5, (shown, value)
        else:
            assert _money(shown) == pytest.approx(value, rel=5e-4, abs=1e-12), (shown, value)


@pytest.fixture(scope="module")
def written_greeks(tmp_path_factory):
    flow, classic = market_results(greeks=fg.GREEKS)
    folder = tmp_path_factory.mktemp("html_browser_greeks")
    path = fg.write_html(flow, folder / "report.html", classic=classic, max_steps=60)
    return flow, path, read_blob(path), folder


def _heatmap_column(page, j: int) -> dict[float, float]:
    """{strike: value} of the heatmap's column ``j`` as plotly holds it (blank cells left out)."""
    z, ys = page.evaluate("() => { const d = document.getElementById('heatmap').data[0]; return [d.z, d.y]; }")
    return {k: row[j] for k, row in zip(ys, z) if row[j] is not None}


def test_the_exposure_menu_is_hidden_without_other_greeks(opened):
    assert not opened.page.locator("#exposure-box").is_visible()
    assert opened.page.get_attribute("body", "data-exposure") == "gex"


def test_exposure_switch_redraws_strikes_and_heatmap_with_units(browser, written_greeks):
    flow, path, data, folder = written_greeks
    o = Opened(browser, path)
    try:
        page = o.page
        assert page.locator("#exposure-box").is_visible()
        times = data["assets"]["BTC"]["t"]
        labels = {e["key"]: e["label"] for e in data["exposures"]}
        last = pd.Timestamp(times[-1], unit="s", tz="UTC")
        expected = _bars_library(flow, "BTC", last)
        shown = (
            ("dex", "DEX", "(USD)"),
            ("vex", "VEX", "(USD)"),
            ("cex", "CEX", "(USD)"),
            ("gex", "GEX", "USD per 1% move"),
        )
        for e, name, unit in shown:
            page.select_option("#exposure", e)
            assert page.get_attribute("body", "data-exposure") == e
            x, y, drawn = _drawn_bars(page)
            np.testing.assert_array_equal(x, expected["strike"])
            np.testing.assert_array_equal(y, expected[e])  # the library's by_strike column, bit for bit
            assert drawn == len(expected)
            assert page.locator("#strikes .ytitle").text_content() == labels[e]
            assert unit in labels[e]
            assert f"BTC {name} by strike" in (page.locator("#strikes .gtitle").text_content() or "")
            # The heatmap's last column is the same rows.
            assert _heatmap_column(page, len(times) - 1) == dict(zip(expected["strike"], expected[e]))
            assert f"BTC {name} by strike over time" in (page.locator("#heatmap .gtitle").text_content() or "")
            assert unit.strip("()") in (page.locator("#heatmap .cbtitle").text_content() or "")
            if e != "gex":
                # Switching really changes the numbers: the exposure is not GEX relabelled.
                assert not np.array_equal(y, expected["gex"])
                page.locator("#strikes").screenshot(path=str(folder / f"strikes_{e}.png"))
                _not_blank(folder / f"strikes_{e}.png")
        # The time control and the asset menu keep the chosen exposure.
        page.select_option("#exposure", "vex")
        page.locator("#time").focus()
        page.keyboard.press("Home")
        first = pd.Timestamp(times[0], unit="s", tz="UTC")
        x, y, _ = _drawn_bars(page)
        np.testing.assert_array_equal(y, _bars_library(flow, "BTC", first)["vex"])
        page.select_option("#asset", "ETH")
        eth_last = pd.Timestamp(data["assets"]["ETH"]["t"][-1], unit="s", tz="UTC")
        x, y, _ = _drawn_bars(page)
        np.testing.assert_array_equal(y, _bars_library(flow, "ETH", eth_last)["vex"])
        page.screenshot(path=str(folder / "page_vex.png"), full_page=True)
        _not_blank(folder / "page_vex.png")
        assert o.errors == []
    finally:
        o.close()
