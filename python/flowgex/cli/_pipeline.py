"""What ``flowgex demo`` and ``flowgex run`` share: inputs in, results, levels,
comparison, censoring flags and charts out, with progress bars on the long parts.

The flow GEX comes from the library: :func:`flowgex.flow_gex` in one call
(Parquet trades in path mode), or :func:`flowgex.replay` chunk by chunk for
``--stream`` (its progress bar and checkpoint), read back as a result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from ..analytics import Comparison, Levels, anchor_initial, censored_share, censoring, compare, levels
from ..analytics.expiries import expiry_day
from ..classic import classic_gex
from ..engine import flow_gex
from ..errors import OptionError
from ..io import read_parquet
from ..options import EngineOptions
from ..plot import plot_heatmap, plot_profile, plot_strikes
from ..replaying import replay
from ..result import GexResult
from ..schema import canonical_chain
from ._replayed import result_from_replay
from .inputs import Inputs

__all__ = [
    "Analysis",
    "Filters",
    "compute_flow",
    "anchored",
    "stream_flow",
    "compute_classic",
    "analyse",
    "write_charts",
    "write_page",
]


@dataclass(frozen=True)
class Filters:
    """Expiry filters from the command line (see :meth:`GexResult.filter`)."""

    max_days: float | None = None
    exclude_next: bool = False
    expiry: str | None = None

    def active(self) -> bool:
        return self.max_days is not None or self.exclude_next or self.expiry is not None

    def check(self) -> None:
        """Fails early on a bad filter value (before any data is read)."""
        if self.expiry is not None:
            expiry_day(self.expiry)

    def apply(self, res: GexResult) -> GexResult:
        if not self.active():
            return res
        return res.filter(max_days=self.max_days, exclude_next=self.exclude_next, expiry=self.expiry)

    def describe(self) -> str:
        parts = []
        if self.max_days is not None:
            parts.append(f"expiring within {self.max_days:g} days")
        if self.exclude_next:
            parts.append("next expiry excluded")
        if self.expiry is not None:
            parts.append(f"expiry {self.expiry} only")
        return ", ".join(parts) or "all expiries"


@dataclass
class Analysis:
    flow: GexResult
    classic: GexResult | None
    levels: dict[str, Levels]
    comparisons: dict[str, Comparison]
    censoring: pd.DataFrame
    censored_share: dict[str, float]
    filters: Filters
    notes: list[str] = field(default_factory=list)
    charts: dict[str, list[Path]] = field(default_factory=dict)
    #: The results before the expiry filters: the HTML page offers its own filters.
    all_flow: GexResult | None = None
    all_classic: GexResult | None = None
    #: report.html, once written.
    page: Path | None = None


def compute_flow(
    inputs: Inputs,
    *,
    resolution: str = "10min",
    quarantine: bool = False,
    anchor: bool = False,
    greeks: tuple[str, ...] = ("gamma",),
) -> GexResult:
    """Flow GEX of the inputs in one engine call (a Parquet dataset in path mode: encoded batch by batch)."""
    chain, spot = inputs.chain_table, inputs.spot_table
    trades = inputs.trades
    if inputs.parquet_trades:
        trades = trades[0] if len(trades) == 1 else read_parquet(trades)
    return flow_gex(
        trades,
        chain,
        spot,
        resolution=resolution,
        errors="quarantine" if quarantine else "raise",
        initial=anchored(inputs, chain) if anchor else None,
        greeks=greeks,
    )


def stream_flow(
    inputs: Inputs,
    out: Path,
    *,
    resolution: str = "10min",
    quarantine: bool = False,
    anchor: bool = False,
    greeks: tuple[str, ...] = ("gamma",),
    chunk_rows: int = 1_000_000,
    resume: bool = False,
) -> GexResult:
    """Flow GEX by :func:`flowgex.replay` into ``out`` (progress bar, checkpoint after every chunk), read back.

    ``resume``: continue the interrupted replay in ``out`` (same inputs and options), else start afresh.
    The result equals :func:`compute_flow`'s (a replay equals one engine call, DESIGN rule 19).
    """
    if resume and (not inputs.trade_files or any(isinstance(x, pa.Table) for x in (inputs.chain, inputs.spot))):
        raise OptionError("--resume needs input files fg.replay can re-read (Parquet, Tardis CSV, Deribit JSON)")
    trades = _source(list(inputs.trade_files)) if inputs.trade_files else inputs.trades
    chain, spot = _source(inputs.chain), _source(inputs.spot)  # files, so the replay can keep a checkpoint
    errors = "quarantine" if quarantine else "raise"
    summary = replay(
        trades,
        out=out,
        chain=chain,
        spot=spot,
        chunk_rows=chunk_rows,
        inventory=True,
        overwrite=not resume,
        resolution=resolution,
        errors=errors,
        greeks=greeks,
        initial=anchored(inputs, inputs.chain_table) if anchor else None,
    )
    if summary.resumed:
        click.echo(f"Resumed the replay in {out} from its checkpoint")
    opts = EngineOptions.parse(resolution=resolution, greeks=greeks)
    return result_from_replay(
        out, summary, unit=opts.unit, r=opts.r, resolution_ns=opts.resolution_ns, greeks=opts.greeks
    )


def _source(x: Any) -> Any:
    """A list of paths as fg.replay takes it (one path, or the list); a table as is."""
    return (x[0] if len(x) == 1 else x) if isinstance(x, list) else x


def anchored(inputs: Inputs, chain: pa.Table | None) -> pa.Table:
    """The censored options' inventories seeded from the chain's open interest (``--anchor``)."""
    if chain is None or "open_interest" not in canonical_chain(chain).column_names:
        raise OptionError("--anchor needs a chain with open_interest (pass --chain)")
    return anchor_initial(inputs.light_trades, canonical_chain(chain))


def compute_classic(chain: pa.Table | None, *, at: pd.Timestamp) -> tuple[GexResult | None, str | None]:
    """Classic GEX as of ``at``, or (None, why not) when the chain cannot give it."""
    if chain is None:
        return None, "no chain given: classic (open-interest) GEX skipped"
    table = canonical_chain(chain)
    missing = [c for c in ("open_interest", "mark_iv", "underlying_price") if c not in table.column_names]
    if missing:
        return None, f"the chain lacks {missing}: classic (open-interest) GEX skipped"
    return classic_gex(table, at=at, errors="quarantine"), None


def analyse(
    flow: GexResult,
    inputs: Inputs,
    *,
    assets: Sequence[str] = (),
    at: Any = None,
    filters: Filters = Filters(),
) -> Analysis:
    """Levels, flow-vs-classic comparison and censoring flags for each asset."""
    flow_f = filters.apply(flow)
    names = [a.upper() for a in assets] or flow_f.assets
    missing = [a for a in names if a not in flow_f.assets]
    if missing:
        raise OptionError(f"invalid asset: {missing} not in the data (assets: {flow_f.assets})")
    lv = {a: levels(flow_f, a, at=at) for a in names}
    when = max(x.time for x in lv.values()) if lv else flow_f.times[-1]
    chain = inputs.chain_table
    classic, note = compute_classic(chain, at=when)
    all_classic = classic
    notes = [note] if note else []
    comparisons: dict[str, Comparison] = {}
    if classic is not None:
        classic = filters.apply(classic)
        for a in names:
            if a in classic.assets:
                comparisons[a] = compare(flow_f, classic, a, at=lv[a].time)
    flags = censoring(inputs.light_trades, chain=chain)
    share = {a: censored_share(flow_f, flags, asset=a, at=lv[a].time) for a in names}
    return Analysis(
        flow_f, classic, lv, comparisons, flags, share, filters, notes, all_flow=flow, all_classic=all_classic
    )


def write_page(a: Analysis, out: Path, *, title: str) -> Path | None:
    """``report.html`` in ``out`` (None, with a note, when plotly is not installed)."""
    from ..html import write_html

    flow = a.all_flow if a.all_flow is not None else a.flow
    days = (a.filters.max_days,) if a.filters.max_days is not None else (7.0,)
    try:
        a.page = write_html(
            flow, out / "report.html", classic=a.all_classic, assets=list(a.levels), max_days=days, title=title
        )
    except ImportError as exc:
        a.notes.append(f"report.html skipped: {exc}")
        return None
    return a.page


def write_charts(a: Analysis, out: Path, *, progress: bool = True) -> None:
    """Strike chart, heatmap and profile per asset, as PNGs in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(asset, kind) for asset in a.levels for kind in ("strikes", "heatmap", "profile")]
    for asset, kind in tqdm(jobs, desc="charts", unit="chart", disable=None if progress else True):
        path = out / f"{asset.lower()}_{kind}.png"
        lv = a.levels[asset]
        if kind == "strikes":
            plot_strikes(a.flow, asset, at=lv.time, lv=lv, path=path)
        elif kind == "heatmap":
            plot_heatmap(a.flow, asset, path=path)
        else:
            others = {"classic (open interest)": a.classic} if asset in a.comparisons and a.classic else None
            plot_profile(a.flow, asset, at=lv.time, others=others, path=path)
        a.charts.setdefault(asset, []).append(path)


def levels_frame(a: Analysis) -> pd.DataFrame:
    """One row per asset: the levels the command line prints and the report shows (<NA>: none)."""
    lv = list(a.levels.values())

    def opt(name: str) -> pd.arrays.FloatingArray:
        return pd.array([getattr(x, name) for x in lv], dtype="Float64")

    return pd.DataFrame(
        {
            "asset": [x.asset for x in lv],
            "time": pd.Series([x.time for x in lv], dtype="datetime64[ns, UTC]"),
            "spot": [x.spot for x in lv],
            "flip": opt("flip"),
            "positive_wall": opt("positive_wall"),
            "negative_wall": opt("negative_wall"),
            "abs_gamma_strike": opt("abs_gamma_strike"),
            "regime": [x.regime for x in lv],
            "near_spot_gex": [x.near_spot_gex for x in lv],
            "total_gex": [x.total_gex for x in lv],
        }
    )
