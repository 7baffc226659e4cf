"""The job in polars, lazily: two lazy plans (the flows, then both answers).

Why it looks like this: ``scan_parquet`` with only the needed columns (no
partition columns: the asset is in the name); trades reduce to (instrument,
bucket) rows with a ``group_by`` whose "latest" values are
``sort_by("timestamp").last()`` (correct whatever the row order); inventory is
a window ``cum_sum().over("instrument")``; the dense grid is ``int_ranges``
exploded and filled with ``join_asof`` (backward, by instrument), or in the
``runs`` variant each flow row's ``int_ranges`` up to the instrument's next
traded bucket, exploded (no join); the spot is forward-filled once on the small
(asset x grid time) table with ``join_asof`` and attached with an equi-join.
Names are parsed on the unique instruments only. The (instrument, bucket) flows
are collected once and both answers are planned over them (the strike chart on
the last grid time only).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import polars as pl

from .common import EXPIRY_OFFSET_NS, MULTIPLIERS, PEER_COLUMNS, RES_NS, YEAR_NS, PeerOutput

__all__ = ["scan", "load", "plan", "run", "output"]


def scan(path: str) -> pl.LazyFrame:
    """The trades, names as categoricals: grouping by a categorical is ~2x faster than by a string."""
    return (
        pl.scan_parquet(f"{path}/**/*.parquet", hive_partitioning=False)
        .select(PEER_COLUMNS)
        .with_columns(pl.col("instrument").cast(pl.Categorical), pl.col("side").cast(pl.Categorical))
    )


def load(path: str) -> pl.DataFrame:
    """The trades in memory (the in-memory mode)."""
    return scan(path).collect()


def encode_instruments(names: pl.LazyFrame) -> pl.LazyFrame:
    parts = pl.col("instrument").cast(pl.String).str.to_uppercase().str.split("-")
    asset = parts.list.get(0).str.split("_").list.get(0)
    expiry = parts.list.get(1).str.to_date("%d%b%y").cast(pl.Datetime("ns")).cast(pl.Int64) + EXPIRY_OFFSET_NS
    return names.with_columns(
        asset=asset,
        expiry=expiry,
        strike=parts.list.get(2).str.replace("D", ".", literal=True).cast(pl.Float64),
        mult=asset.replace_strict(MULTIPLIERS, return_dtype=pl.Float64),
    )


def _grid_asof(sparse: pl.LazyFrame, inst: pl.LazyFrame, last: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(every (instrument, grid time) from its first bucket to its expiry or the last grid time,
    the same at the last grid time only), filled by ``join_asof``. ``int_ranges`` yields times
    sorted within each instrument, which is all ``join_asof`` needs with ``by`` (the flows are
    sorted by bucket within each instrument)."""
    flows = sparse.select("instrument", "bucket", "inv", "iv")
    live = inst.join(last, how="cross")
    dense = (
        live.with_columns(time=pl.int_ranges("first", pl.min_horizontal("expiry", pl.col("last") + RES_NS), RES_NS))
        .explode("time")
        .drop_nulls("time")
    )
    at_last = live.filter(pl.col("first") <= pl.col("last"), pl.col("last") < pl.col("expiry")).with_columns(
        time=pl.col("last")
    )
    return tuple(  # type: ignore[return-value]
        g.join_asof(flows, left_on="time", right_on="bucket", by="instrument", check_sortedness=False)
        for g in (dense, at_last)
    )


def _grid_runs(sparse: pl.LazyFrame, inst: pl.LazyFrame, last: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The same without a join: each (instrument, bucket) row holds until the instrument's next
    traded bucket (or expiry, or the end): ``int_ranges`` over that run, exploded."""
    runs = (
        # (the shift runs on the sorted flows, before any join reorders rows)
        sparse.select("instrument", "bucket", "inv", "iv", next=pl.col("bucket").shift(-1).over("instrument"))
        .join(inst, on="instrument")
        .join(last, how="cross")
        .with_columns(stop=pl.min_horizontal(pl.col("next").fill_null(pl.col("last") + RES_NS), "expiry"))
    )
    dense = runs.with_columns(time=pl.int_ranges("bucket", "stop", RES_NS)).explode("time").drop_nulls("time")
    at_last = runs.filter(pl.col("bucket") <= pl.col("last"), pl.col("last") < pl.col("stop")).with_columns(
        time=pl.col("last")
    )
    return dense, at_last


def flows(trades: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (instrument, bucket): net flow, latest iv and index price, inventory."""
    ts = pl.col("timestamp").dt.cast_time_unit("ns").cast(pl.Int64)
    return (
        trades.with_columns(
            bucket=(ts // RES_NS + 1) * RES_NS,
            ts=ts,
            flow=pl.when(pl.col("side") == "buy").then(pl.col("amount")).otherwise(-pl.col("amount")),
        )
        .group_by("instrument", "bucket")
        .agg(
            pl.col("flow").sum(),
            pl.col("iv").sort_by("ts").last(),
            pl.col("index_price").sort_by("ts").last().alias("px"),
            pl.col("ts").max(),
        )
        # Any fixed instrument order will do: the categorical codes sort faster than the names.
        .sort(pl.col("instrument").to_physical(), "bucket")
        .with_columns(inv=-pl.col("flow").cum_sum().over("instrument"))
    )


def plan(sparse: pl.LazyFrame, dense_by: str = "asof") -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """(totals, by strike at the last grid time, the last grid time) as lazy frames over the
    flows; ``dense_by="asof"`` fills the dense grid with ``join_asof``, ``"runs"`` expands each
    flow row over the grid times it holds (no join)."""
    inst = encode_instruments(sparse.group_by("instrument").agg(first=pl.col("bucket").min()))
    bounds = sparse.select(first=pl.col("bucket").min(), last=pl.col("bucket").max())
    last = bounds.select("last")
    # Each asset's latest index price at every grid time: a small (asset x grid time) table.
    observed = (
        sparse.join(inst.select("instrument", "asset"), on="instrument")
        .group_by("asset", "bucket")
        .agg(pl.col("px").sort_by("ts").last().alias("spot"))
        .sort("bucket")
    )
    spot = (
        inst.select(pl.col("asset").unique())
        .join(bounds, how="cross")
        .with_columns(time=pl.int_ranges("first", pl.col("last") + RES_NS, RES_NS))
        .explode("time")
        .sort("time")
        .join_asof(observed, left_on="time", right_on="bucket", by="asset", check_sortedness=False)
        .select("asset", "time", "spot")
    )
    dense, at_last = (_grid_runs if dense_by == "runs" else _grid_asof)(sparse, inst, last)
    s, k, inv = pl.col("spot"), pl.col("strike"), pl.col("inv")
    sig_sqrt_t = pl.col("iv") * ((pl.col("expiry") - pl.col("time")) / YEAR_NS).sqrt()
    d1 = ((s / k).log() + 0.5 * sig_sqrt_t**2) / sig_sqrt_t
    gamma = (-0.5 * d1 * d1).exp() / (math.sqrt(2 * math.pi) * s * sig_sqrt_t)
    sums = [pl.col("gex").sum(), pl.col("gex").abs().sum().alias("gex_abs")]
    answers = []
    for grid, key in ((dense, "time"), (at_last, "strike")):
        gex = grid.join(spot, on=["asset", "time"]).select(
            "asset", key, gex=gamma * inv * pl.col("mult") * s * s * 0.01
        )
        answers.append(gex.group_by("asset", key).agg(sums))
    return answers[0], answers[1], last


def run(source: Any, dense_by: str = "asof") -> list[pl.DataFrame]:
    """From a dataset path (end to end) or a polars DataFrame already loaded (in memory).

    The flows are collected once: ``collect_all`` does not share the common sub-plan
    in polars 2's streaming engine (it recomputed it per answer: 12 s instead of 7.5 s
    at 10M trades).
    """
    trades = scan(source) if isinstance(source, str) else source.lazy()
    sparse = flows(trades).collect().lazy()
    return pl.collect_all(list(plan(sparse, dense_by)))


def output(native: list[pl.DataFrame]) -> PeerOutput:
    total, by_strike, last = native
    t = total.to_pandas()
    return PeerOutput(
        total=pd.DataFrame(
            {"asset": t["asset"].astype(object), "time": t["time"], "gex": t["gex"], "gex_abs": t["gex_abs"]}
        ),
        by_strike=by_strike.to_pandas().astype({"asset": object}),
        last=int(last["last"][0]),
    )
