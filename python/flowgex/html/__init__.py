"""``report.html``: one interactive page per run that opens from disk, with no
server and no network.

The page is built with plotly.js, which ships inside the ``plotly`` Python
package (``pip install 'flowgex[html]'``). The script is inlined, so the report
is one file that can be mailed, archived or opened offline; plotly.js is
~4.8 MB of the file and Chromium parses it in a fraction of a second from disk
(see benches/README.md). The numbers travel as one JSON blob (see
:mod:`flowgex.html._data`) and a small script draws them; the time control,
asset switch and expiry filter re-draw with ``Plotly.react`` from that blob.

The file is written atomically (a temporary file beside it, then
``os.replace``), so a page refreshed at every step of a live run is never seen
half written.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..analytics.book import check_asset
from ..errors import OptionError
from ..result import GexResult
from ._data import build_data

__all__ = ["write_html", "page_data"]

_SLOTS = re.compile(r"\{(title|css|meta|plotly|data|js)\}")


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:  # an optional dependency: say how to get it
        raise ImportError("write_html needs plotly: pip install 'flowgex[html]'") from exc
    return str(get_plotlyjs())


def _check(res: Any, classic: Any, assets: Any, max_days: Any, max_steps: Any) -> tuple[list[str], tuple[float, ...]]:
    if not isinstance(res, GexResult):
        raise OptionError(f"write_html: expected a GexResult (from flow_gex), found {type(res).__name__}")
    if classic is not None and not isinstance(classic, GexResult):
        raise OptionError(f"invalid option classic: expected a GexResult (from classic_gex), found {classic!r}")
    if not res.assets:
        raise OptionError("write_html: the result has no rows, so there is nothing to show")
    if assets is None:
        names = list(res.assets)
    elif isinstance(assets, str) or not isinstance(assets, Sequence):
        raise OptionError(f"invalid option assets: expected a list of names such as ['BTC'], found {assets!r}")
    else:
        names = list(dict.fromkeys(check_asset(res, a) for a in assets))
        if not names:
            raise OptionError("invalid option assets: expected at least one asset, found an empty list")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise OptionError(f"invalid option max_steps: expected an int >= 1, found {max_steps!r}")
    days = (max_days,) if isinstance(max_days, (int, float)) and not isinstance(max_days, bool) else max_days
    if not isinstance(days, Sequence) or isinstance(days, str):
        raise OptionError(f"invalid option max_days: expected numbers of days, found {max_days!r}")
    return names, tuple(days)


def page_data(
    res: GexResult,
    *,
    classic: GexResult | None = None,
    assets: Sequence[str] | None = None,
    max_days: float | Sequence[float] = (7,),
    max_steps: int = 300,
    title: str = "flowgex report",
) -> dict[str, Any]:
    """The data blob :func:`write_html` embeds (arguments as there)."""
    names, days = _check(res, classic, assets, max_days, max_steps)
    return build_data(res, classic=classic, assets=names, max_days=days, max_steps=int(max_steps), title=title)


def _meta(data: dict[str, Any]) -> str:
    steps = ", ".join(
        f"{a}: {v['steps']:,} steps" + (f", every {v['stride']}th shown" if v["stride"] > 1 else "")
        for a, v in data["assets"].items()
    )
    res_s = data["resolution_s"]
    grid = f"{res_s / 60:g}-minute grid" if res_s else "one time"
    return html.escape(
        f"flowgex {data['version']} \u00b7 {data['method']} GEX in {data['unit']} \u00b7 {grid} \u00b7 {steps}"
    )


def render(data: dict[str, Any]) -> str:
    """The page's HTML for a data blob."""
    pkg = resources.files(__name__)
    # "<" escaped inside the JSON so that no name in the data can close the <script> element.
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    slots = {
        "title": html.escape(data["title"]),
        "css": (pkg / "page.css").read_text(encoding="utf-8"),
        "meta": _meta(data),
        "plotly": _plotly_js(),
        "data": blob,
        "js": (pkg / "page.js").read_text(encoding="utf-8"),
    }
    template = (pkg / "page.html").read_text(encoding="utf-8")
    return _SLOTS.sub(lambda m: slots[m.group(1)], template)


def write_html(
    res: GexResult,
    path: str | os.PathLike[str],
    *,
    classic: GexResult | None = None,
    assets: Sequence[str] | None = None,
    max_days: float | Sequence[float] = (7,),
    max_steps: int = 300,
    title: str = "flowgex report",
) -> Path:
    """Writes the interactive report of ``res`` to ``path`` and returns the path.

    Per asset: the strike chart, the spot profile (with ``classic``'s curve and
    flip when given), the strike × time heatmap with spot and flip, the levels
    over time and the flow-vs-classic comparison. Controls: asset, expiry
    filter (all, next expiry excluded, and one "expiring within d days" per
    value of ``max_days``) and a time control over at most ``max_steps`` grid
    times (all of them when the result has no more, else every k-th step
    counted back from the last). ``assets`` restricts the assets shown.

    Safe to call again on the same path (a live run refreshing its page): the
    file is replaced atomically.
    """
    target = Path(path)
    if target.is_dir():
        raise OptionError(f"write_html: {str(target)!r} is a folder; expected a file path such as report.html")
    page = render(page_data(res, classic=classic, assets=assets, max_days=max_days, max_steps=max_steps, title=title))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
