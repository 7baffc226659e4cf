"""The terminal table and the Markdown report written next to the charts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from .._core import __version__
from .._format import price_text, value_text
from ._pipeline import Analysis, levels_frame

__all__ = ["levels_table", "write_report"]

_HEADERS = ("asset", "spot", "flip", "+ wall", "\u2212 wall", "abs-\u03b3 strike", "regime", "near spot", "total GEX")


def _price(x: Any) -> str:
    return "\u2014" if x is None or x is pd.NA else price_text(float(x))


def _rows(a: Analysis) -> list[list[str]]:
    f = levels_frame(a)
    unit = a.flow.unit
    return [
        [
            r["asset"],
            _price(r["spot"]),
            _price(r["flip"]),
            _price(r["positive_wall"]),
            _price(r["negative_wall"]),
            _price(r["abs_gamma_strike"]),
            r["regime"],
            value_text(r["near_spot_gex"], unit),
            value_text(r["total_gex"], unit),
        ]
        for r in f.to_dict("records")
    ]


def levels_table(a: Analysis) -> str:
    """A fixed-width text table of the levels per asset, for the terminal."""
    rows = [list(_HEADERS)] + _rows(a)
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADERS))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(a: Analysis) -> str:
    head = "| " + " | ".join(_HEADERS) + " |"
    rule = "|" + "|".join(["---"] + ["---:"] * (len(_HEADERS) - 1)) + "|"
    body = ["| " + " | ".join(r) + " |" for r in _rows(a)]
    return "\n".join([head, rule, *body])


#: The other exposures of the dealer book, as the report names them (DESIGN rule 16).
_EXPOSURE_TEXT = {
    "dex": "DEX (USD of underlying held)",
    "vex": "VEX (USD of delta per +1 vol point)",
    "cex": "CEX (USD of delta per day)",
}


def _dealer_book(res: Any) -> list[str]:
    """The totals of the exposures a run computed (``--greeks``), at the last grid time per asset."""
    if not res.exposures:
        return []
    unit = " (in underlying units)" if res.unit == "underlying" else ""
    head = ["asset", *(_EXPOSURE_TEXT[x] for x in res.exposures)]
    lines = ["", f"## Dealer book at the last grid time{unit}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * len(res.exposures)) + "|")
    for asset in res.assets:
        last = res.total(asset).iloc[-1]
        lines.append("| " + " | ".join([asset, *(f"{float(last[x]):,.0f}" for x in res.exposures)]) + " |")
    return lines


def write_report(a: Analysis, out: Path, *, title: str, source: str) -> Path:
    """Writes ``report.md`` in ``out`` (charts linked by relative path) and returns its path."""
    res = a.flow
    times = res.times
    when = max(lv.time for lv in a.levels.values())
    d = res.diagnostics
    flags = a.censoring
    n_cens = int(flags["censored"].sum())
    reasons = flags.loc[flags["censored"], "reason"].value_counts().to_dict()
    rejected = f" {dict(d.rejected)}" if d.rejected else ""
    lines = [
        f"# {title}",
        "",
        f"flowgex {__version__} \u00b7 {res.method} GEX in {res.unit} \u00b7 grid {times[0]:%Y-%m-%d %H:%M} .. "
        f"{times[-1]:%Y-%m-%d %H:%M} UTC ({len(times):,} steps) \u00b7 {a.filters.describe()}",
        "",
        f"Input: {source}. Trades read {d.trades_read:,}, used {d.trades_used:,}, rejected "
        f"{sum(d.rejected.values()):,}{rejected}; {d.instruments:,} options traded.",
        "",
        f"## Levels at {when:%Y-%m-%d %H:%M} UTC",
        "",
        _markdown_table(a),
        "",
        "Flip: the zero crossing of the spot profile nearest to spot. Walls: the strikes with the largest "
        "positive and most negative GEX. Regime: *sticky* when GEX within \u00b12% of spot is positive "
        "(dealer hedging dampens moves), *slippery* otherwise (it amplifies them).",
        "",
        "## Flow vs classic (open interest)",
        "",
    ]
    lines += [f"- {c.summary}" for c in a.comparisons.values()] or [f"- {n}" for n in a.notes]
    lines += _dealer_book(res)
    lines += [
        "",
        "## Left-censoring",
        "",
        f"{n_cens:,} of {len(flags):,} options have an unknown dealer inventory before the data starts "
        f"({', '.join(f'{k}: {v:,}' for k, v in reasons.items()) or 'none'}). Share of |GEX| from them: "
        + ", ".join(f"{k} {v:.0%}" for k, v in a.censored_share.items())
        + ". `flowgex run --anchor` seeds them from open interest (see README).",
        "",
        "## Charts",
    ]
    if a.page is not None:
        lines += [
            "",
            f"Interactive page (time control, asset and expiry switches, hover values): "
            f"[{a.page.name}]({os.path.relpath(a.page, out)}) — open it in a browser; it needs no network.",
        ]
    for asset, paths in a.charts.items():
        lines += ["", f"### {asset}", ""]
        lines += [f"![{p.stem.replace('_', ' ')}]({os.path.relpath(p, out)})" for p in paths]
    path = out / "report.md"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
