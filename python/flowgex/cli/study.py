"""``flowgex study``: does GEX predict volatility in your results? The regime study, printed and charted.

RESULTS is the output folder of ``flowgex run`` (``total.parquet`` and
``by_strike.parquet``) or of ``fg.replay`` (the ``total/`` and ``by_strike/``
Parquet datasets). The signal (near-spot or total GEX of one asset) and the
price (the results' own spot, or ``--spot`` files) come from there; the study
is :func:`flowgex.regime_study`.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
import pyarrow.parquet as pq

from ..analytics.regime import RegimeStudy, regime_study
from ..analytics.regime_signal import SIGNALS, gex_signal
from ..errors import OptionError, ReadError
from ..io import read_parquet
from ..replaying.output import read_replay
from ..schema import canonical_spot
from .inputs import read_table

__all__ = ["study", "load_results"]


def load_results(root: Path, asset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(total, by_strike) of ``asset`` from a run folder or a replay folder."""
    name = asset.upper()
    if (root / "total.parquet").is_file():
        total = pq.read_table(root / "total.parquet").to_pandas()
        found = sorted(set(total["asset"]))
        total = total[total["asset"] == name]
        strikes = (
            pq.read_table(root / "by_strike.parquet", filters=[("asset", "=", name)]).to_pandas()
            if (root / "by_strike.parquet").is_file()
            else None
        )
    elif (root / "total").is_dir():
        found = sorted(set(read_replay(root, "total")["asset"]))
        total = read_replay(root, "total", asset=name)
        strikes = read_replay(root, "by_strike", asset=name) if (root / "by_strike").is_dir() else None
    else:
        raise ReadError(
            f"{root}: not a results folder: expected the output of `flowgex run` (total.parquet, by_strike.parquet) "
            "or of fg.replay (total/, by_strike/)"
        )
    if total.empty:
        raise OptionError(f"invalid asset: {asset!r} is not in {root} (assets: {found})")
    return total.reset_index(drop=True), strikes if strikes is None else strikes.reset_index(drop=True)


def _spot(paths: tuple[Path, ...], asset: str) -> pd.Series:
    got = read_table(paths, "auto", "spot")
    table = canonical_spot(read_parquet(got, kind="spot") if isinstance(got, list) else got).to_pandas()
    table = table[table["asset"].astype(str).str.upper() == asset.upper()]
    if table.empty:
        raise OptionError(f"invalid spot: no rows for asset {asset.upper()} in {[str(p) for p in paths]}")
    return pd.Series(table["price"].to_numpy(), index=pd.DatetimeIndex(table["timestamp"]))


def _text(frame: pd.DataFrame) -> str:
    """The frame as aligned text, 4 decimals, "-" where a value cannot exist."""
    shown = frame.astype(object).where(frame.notna(), "-")
    for c in frame.columns:
        if str(frame[c].dtype) in ("Float64", "float64"):
            shown[c] = [v if v == "-" else f"{float(v):.4f}" for v in shown[c]]
    return shown.to_string(index=False)


def _horizons(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise OptionError(f"invalid option --horizons: expected integers such as 1,5,21, found {text!r}") from None


def print_study(st: RegimeStudy) -> None:
    click.echo(f"\nForward realized volatility by group (annualised, A = {st.periods_per_year:g}):\n")
    click.echo(_text(st.table))
    click.echo("\nContrasts (estimate, 95% interval, share of resamples with difference <= 0):\n")
    click.echo(_text(st.contrasts))
    click.echo("\n" + st.summary())


@click.command(short_help="Does GEX predict volatility? Forward volatility by GEX regime.")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--asset", required=True, help="The asset to study (BTC, ETH, ...).")
@click.option("--signal", type=click.Choice(SIGNALS), default="near_spot_gex", show_default=True)
@click.option("--band", type=float, default=0.02, show_default=True, help="Near-spot band (fraction of spot).")
@click.option(
    "--spot", multiple=True, type=click.Path(path_type=Path), help="Price file(s) instead of the results' spot."
)
@click.option("--horizons", default="1,5,21", show_default=True, help="Forward horizons in grid steps.")
@click.option("--quantiles", type=int, default=5, show_default=True)
@click.option("--block", type=int, default=21, show_default=True, help="Bootstrap block length (grid steps).")
@click.option("--n-boot", type=int, default=2000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--periods-per-year", type=float, default=None, help="Annualisation (default: inferred).")
@click.option("--control", type=click.Choice(["none", "trailing_rv"]), default="none", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Chart PNG path.")
def study(
    results: Path,
    asset: str,
    signal: str,
    band: float,
    spot: tuple[Path, ...],
    horizons: str,
    quantiles: int,
    block: int,
    n_boot: int,
    seed: int,
    periods_per_year: float | None,
    control: str,
    out: Path | None,
) -> None:
    """Forward volatility by GEX regime in RESULTS (a `flowgex run` or `fg.replay` output folder).

    Prints the group table, the contrasts and a summary, and writes the chart
    (default: RESULTS/<asset>_regime.png).
    """
    total, strikes = load_results(results, asset)
    sig, price = gex_signal(total, strikes, signal=signal, band=band)
    if spot:
        price = _spot(spot, asset)
    st = regime_study(
        sig,
        price,
        horizons=_horizons(horizons),
        periods_per_year=periods_per_year,
        quantiles=quantiles,
        block=block,
        n_boot=n_boot,
        seed=seed,
        control=None if control == "none" else control,
    )
    click.echo(f"{asset.upper()} {signal} from {results}: {st.n_times:,} grid times")
    print_study(st)
    path = out or results / f"{asset.lower()}_regime.png"
    st.plot(path=path, title=f"{asset.upper()}: forward volatility by {signal} regime")
    click.echo(f"\nWrote {path.resolve()}")
