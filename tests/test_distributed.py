"""flowgex.distributed on a real (local, 2-process) Dask cluster, against the single-machine engine.

Every test runs the same data through :func:`flowgex.flow_gex` and through the
cluster (one engine per asset) and compares every table bit for bit
(``assert_identical``), and diagnostics and rejected-row numbers exactly
(``assert_close``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import flowgex as fg
import flowgex.distributed as fgd
from compare import assert_close, assert_identical
from simmarket import market

OPTS = {"missing_vol": 0.6, "errors": "quarantine", "threads": 1}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        # ":0": a free port, so another cluster on the machine (8787) cannot make this one fail.
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_dask_is_an_optional_extra():
    code = textwrap.dedent(
        """
        import sys
        import flowgex
        assert "dask" not in sys.modules, "import flowgex must not import dask"
        sys.modules["dask"] = None
        try:
            import flowgex.distributed
        except ImportError as exc:
            assert "flowgex[dask]" in str(exc), exc
        else:
            raise AssertionError("flowgex.distributed imported without dask")
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("nparts", [1, 4])
def test_asset_partitioning_equals_one_machine_bit_for_bit(client, nparts):
    m = market(1, 3000, bad=True)
    one = fg.flow_gex(m.trades, **OPTS)
    got = fgd.flow_gex(dd.from_pandas(m.trades, npartitions=nparts), client=client, **OPTS)
    assert_identical(got, one)
    assert_close(got, one)  # diagnostics, rejected rows and their input row numbers
    # One re-delivery is a duplicate; the id repeated on another asset is another trade (ids are per asset).
    assert got.diagnostics.duplicates == 1


def test_parquet_dataset_path_with_chain_and_spot(client, tmp_path):
    m = market(2, 2500, bad=True, chain=True, spot=True)
    table = pa.Table.from_pandas(m.trades, preserve_index=False)
    iv = table.column("iv").to_numpy(zero_copy_only=False).copy()
    iv[5] = np.nan  # a real NaN (bad_iv), which must not turn into a null (no observation) on the way
    table = table.set_column(table.schema.get_field_index("iv"), "iv", pa.array(iv, from_pandas=False))
    table = table.append_column("asset", pa.array([s.split("-")[0].split("_")[0].upper() for s in m.trades.instrument]))
    table = table.append_column("date", pa.array(m.trades.timestamp.dt.strftime("%Y-%m-%d").fillna("none")))
    pq.write_to_dataset(table, tmp_path / "trades", partition_cols=["asset", "date"])
    path = str(tmp_path / "trades")
    opts = {**OPTS, "missing_vol": "error"}
    one = fg.flow_gex(pq.read_table(path), m.chain, m.spot, **opts)
    got = fgd.flow_gex(path, m.chain, m.spot, client=client, **opts)
    assert pc.any(pc.is_nan(pq.read_table(path).column("iv"))).as_py()
    assert_identical(got, one)
    assert_close(got, one)


def _parts_form(trades: pd.DataFrame) -> pd.DataFrame:
    """Options named by asset/expiry/strike/kind, as equity chains name them (kinds in lower case)."""
    t = trades.copy()
    parsed = [
        fg.parse_instrument(n) if isinstance(n, str) and "PERPETUAL" not in n else None for n in t.pop("instrument")
    ]
    t["asset"] = [p.asset if p else "BTC" for p in parsed]
    t["expiry"] = pd.to_datetime([p.expiry if p else None for p in parsed], utc=True)
    t["strike"] = [p.strike if p else -1.0 for p in parsed]
    t["kind"] = [p.kind.lower() if p else "x" for p in parsed]
    return t


def _variant(name: str) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    m = market(11, 1200, bad=True, chain=name == "keep_last")
    t = m.trades.copy()
    if name.startswith("paxg"):  # an asset without a contract multiplier
        t.loc[t.index[:5], "instrument"] = "PAXG_USDC-27DEC24-2600-C"
    if name == "int_ids_categorical":
        t["trade_id"] = t["trade_id"].str.extract(r"(\d+)$")[0].fillna("-1").astype("int64")
        t["instrument"] = t["instrument"].astype("category")  # spellings of one option in one dictionary
    if name == "parts_form":
        t = _parts_form(t)
    opts = {
        "paxg_quarantine": OPTS,
        "paxg_raise": {"missing_vol": 0.6, "threads": 1},
        "keep_last": {**OPTS, "keep_inventory": "last", "keep_aggregates": "last"},
        "units": {**OPTS, "unit": "usd_per_point", "r": 0.05, "resolution": "7min"},
        "no_good_trades": {**OPTS, "end": "2024-12-02", "initial": {"BTC-27DEC24-100000-C": 1.0}},
    }.get(name, OPTS)
    if name == "no_good_trades":
        t["side"] = "hold"
    return t, m.chain, opts


@pytest.mark.parametrize(
    "name",
    ["paxg_quarantine", "paxg_raise", "int_ids_categorical", "parts_form", "keep_last", "units", "no_good_trades"],
)
def test_input_forms_options_and_errors(client, name):
    trades, chain, opts = _variant(name)
    try:
        one = fg.flow_gex(trades, chain, **opts)
    except fg.FlowgexError as exc:
        with pytest.raises(type(exc)) as got:
            fgd.flow_gex(dd.from_pandas(trades, npartitions=3), chain, **opts)  # the default client
        assert str(got.value) == str(exc)
        return
    got = fgd.flow_gex(dd.from_pandas(trades, npartitions=3), chain, **opts)
    assert_identical(got, one)
    assert_close(got, one)


def test_bad_rows_raise_as_on_one_machine(client):
    m = market(5, 800, bad=True)
    with pytest.raises(fg.BadRowsError) as one:
        fg.flow_gex(m.trades, missing_vol=0.6)
    with pytest.raises(fg.BadRowsError) as got:
        fgd.flow_gex(dd.from_pandas(m.trades, npartitions=3), client=client, missing_vol=0.6)
    assert str(got.value) == str(one.value)
    assert got.value.counts == one.value.counts
    assert (
        got.value.rejected["trades"].column("row").to_pylist() == one.value.rejected["trades"].column("row").to_pylist()
    )


def test_missing_volatility_raises_the_same_error(client):
    m = market(6, 600)
    upper = m.trades.instrument.str.upper()
    m.trades.loc[upper.str.startswith("ETH") | upper.str.startswith("SOL"), "iv"] = np.nan  # two engines fail
    with pytest.raises(fg.MissingVolError) as one:
        fg.flow_gex(m.trades)
    with pytest.raises(fg.MissingVolError) as got:
        fgd.flow_gex(m.trades, client=client, threads=1)
    assert str(got.value) == str(one.value)


def test_seed_start_end_and_keep_last(client):
    m = market(7, 1500, chain=True)
    opts = {
        **OPTS,
        "initial": {"BTC-27DEC24-100000-C": -30.0, "ETH-6DEC24-3500-P": 12.0, "XRP_USDC-27DEC24-2d5-P": 5.0},
        "start": "2024-11-30T20:00Z",
        "end": "2024-12-02T13:05Z",
        "missing_spot": "skip",  # the seeds are live before any price arrives
    }
    for keep in ("all", "last"):
        one = fg.flow_gex(m.trades, m.chain, keep_inventory=keep, keep_aggregates=keep, **opts)
        got = fgd.flow_gex(m.trades, m.chain, client=client, keep_inventory=keep, keep_aggregates=keep, **opts)
        assert_identical(got, one)
        assert_close(got, one)


def _periods(frame: pd.DataFrame, cuts: list[pd.Timestamp]) -> list[pd.DataFrame]:
    """Consecutive pieces [cut_k, cut_k+1) of a table in input order (rows without a time go first)."""
    ts = frame["timestamp"]
    edges = [pd.Timestamp.min.tz_localize("UTC"), *cuts, pd.Timestamp.max.tz_localize("UTC")]
    return [frame[(ts >= lo) & (ts < hi) | (ts.isna() & (k == 0))] for k, (lo, hi) in enumerate(zip(edges, edges[1:]))]


def test_period_replay_carries_state_and_concatenates_to_one_run(client):
    # (a trade id repeated on another asset *in a later period* is, as in a streaming Engine, not a duplicate)
    m = market(8, 3000, bad=True, chain=True, spot=True, cross=False)
    cuts = [pd.Timestamp("2024-12-01T11:00Z"), pd.Timestamp("2024-12-01T19:07Z"), pd.Timestamp("2024-12-02T08:00Z")]
    trades, chain, spot = (_periods(t, cuts) for t in (m.trades, m.chain, m.spot))
    opts = {**OPTS, "initial": {"BTC-27DEC24-100000-P": 7.0}}
    rep = fgd.Replay(client=client, **opts)
    pieces = []
    for k in range(len(cuts) + 1):
        until = cuts[k] if k < len(cuts) else None
        pieces.append(rep.run(dd.from_pandas(trades[k], npartitions=2), chain[k], spot[k], until=until))
        if k == 1:  # a replay survives a snapshot (e.g. between monthly jobs)
            rep = fgd.Replay.restore(rep.snapshot(), client=client)
    assert rep.finished
    last = pieces[1].times[-1]
    assert last == pd.Timestamp("2024-12-01T19:00Z") and pieces[2].times[0] == last + pd.Timedelta("10min")
    one = fg.flow_gex(pd.concat(trades), pd.concat(chain), pd.concat(spot), **opts)
    got = fgd.concat_results(pieces)
    assert_close(got, one)
    assert_identical(got, one)


def test_period_rows_must_be_before_until(client):
    m = market(9, 300)
    rep = fgd.Replay(client=client, **OPTS)
    with pytest.raises(fg.OptionError, match="until"):
        rep.run(m.trades, until="2024-12-01T12:00Z")


def test_options_are_checked_before_any_work():
    m = market(10, 50)
    with pytest.raises(fg.OptionError, match="npartitions"):
        fgd.flow_gex(m.trades, npartitions=0)
    with pytest.raises(fg.OptionError, match="greeks"):
        fgd.flow_gex(m.trades, greeks=("theta",))
    with pytest.raises(fg.OptionError, match="engine"):
        fgd.flow_gex(m.trades, engine="reference")
    with pytest.raises(fg.OptionError, match="unit"):  # the single-machine checks, same messages
        fgd.flow_gex(m.trades, unit="eur")
    with pytest.raises(fg.SnapshotError):
        fgd.Replay.restore(b"not a replay")
    seed = {"PAXG_USDC-27DEC24-2600-C": 1.0}  # no contract multiplier: one machine refuses the seed first
    with pytest.raises(fg.MultiplierError) as one:
        fg.flow_gex(m.trades, initial=seed)
    with pytest.raises(fg.MultiplierError) as got:
        fgd.Replay(initial=seed)
    assert str(got.value) == str(one.value)


def test_empty_input(client):
    m = market(10, 50)
    one = fg.flow_gex(m.trades.iloc[:0], **OPTS)
    got = fgd.flow_gex(dd.from_pandas(m.trades.iloc[:0], npartitions=1), client=client, **OPTS)
    assert_identical(got, one)
    assert_close(got, one)


ALL_GREEKS = ("gamma", "delta", "vanna", "charm")


def test_greeks_columns_equal_one_machine_bit_for_bit(client):
    m = market(12, 2500, bad=True, chain=True, spot=True)
    opts = {**OPTS, "greeks": ALL_GREEKS, "r": 0.03}
    one = fg.flow_gex(m.trades, m.chain, m.spot, **opts)
    got = fgd.flow_gex(dd.from_pandas(m.trades, npartitions=3), m.chain, m.spot, client=client, **opts)
    assert got.exposures == ("dex", "vex", "cex")
    assert_identical(got, one)  # every table, dex/vex/cex columns included
    for table in ("inventory", "by_strike", "by_expiry", "total"):
        g, o = getattr(got, table)(), getattr(one, table)()
        assert {"dex", "vex", "cex"} <= set(g.columns)
        assert g["vex"].abs().sum() > 0
        pd.testing.assert_frame_equal(g, o, check_exact=True)
    gamma_only = fgd.flow_gex(dd.from_pandas(m.trades, npartitions=3), m.chain, m.spot, client=client, **OPTS, r=0.03)
    assert "dex" not in gamma_only.by_strike().columns
    pd.testing.assert_frame_equal(gamma_only.total(), one.total().drop(columns=["dex", "vex", "cex"]))


def test_period_replay_with_greeks_concatenates_to_one_run(client):
    m = market(13, 1500, chain=True, spot=True, cross=False)
    cuts = [pd.Timestamp("2024-12-01T15:00Z")]
    trades, chain, spot = (_periods(t, cuts) for t in (m.trades, m.chain, m.spot))
    opts = {**OPTS, "greeks": ("gamma", "charm")}
    rep = fgd.Replay(client=client, **opts)
    pieces = [rep.run(trades[0], chain[0], spot[0], until=cuts[0]), rep.run(trades[1], chain[1], spot[1])]
    got = fgd.concat_results(pieces)
    with pytest.raises(fg.OptionError, match="consecutive"):
        fgd.concat_results(pieces[::-1])
    one = fg.flow_gex(pd.concat(trades), pd.concat(chain), pd.concat(spot), **opts)
    assert got.exposures == ("cex",)
    assert_identical(got, one)
    assert_close(got, one)


def test_missing_data_at_one_time_in_two_engines_raises_what_one_machine_raises(client):
    # ETH comes first in the input, BTC first in the core's order: the error is the one machine's, by attributes.
    trades = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-12-01 00:03"] * 2, utc=True),
            "instrument": ["ETH-27DEC24-3500-C", "BTC-27DEC24-100000-C"],
            "side": ["buy", "sell"],
            "amount": [1.0, 2.0],
            "index_price": [3_600.0, 95_000.0],
        }
    )
    with pytest.raises(fg.MissingVolError) as one:
        fg.flow_gex(trades)
    with pytest.raises(fg.MissingVolError) as got:
        fgd.flow_gex(dd.from_pandas(trades, npartitions=2), client=client)
    assert str(got.value) == str(one.value)
    assert (got.value.instrument, got.value.time_ns) == (one.value.instrument, one.value.time_ns)
    assert one.value.instrument.startswith("BTC")


def test_combining_two_pieces_that_hold_one_time_and_asset_is_refused():
    """The merge would add up the two (time, asset) rows; combining must refuse instead
    (an asset lives in one engine, periods do not overlap), and keep one piece as it is."""
    from flowgex.distributed._combine import combine

    m = market(7, 600, chain=True, spot=True)
    data = fg.flow_gex(m.trades, m.chain, m.spot, **OPTS).data
    last = int(data.steps.time[-1])
    with pytest.raises(RuntimeError, match="same \\(time, asset\\)"):
        combine([data, data], last_step=last)
    alone = combine([data], last_step=last)
    for name, table in data.tables().items():
        for c, v in table.columns().items():
            got = getattr(getattr(alone, name), c)
            assert got.dtype == v.dtype, (name, c)
            if c == "inst":  # ids renumbered in canonical order: the same instruments
                got, v = alone.registry.name[got], data.registry.name[v]
            elif c == "asset":  # asset ids renumbered in name order: the same assets
                got, v = alone.registry.asset_names(got), data.registry.asset_names(v)
            assert np.array_equal(got, v), (name, c)


def test_chain_rows_after_expiry_are_counted_as_on_one_machine(client):
    """Chain rows at or after their option's expiry are ignored and counted (DESIGN section 5);
    each engine counts its own and the driver adds them up, for one run and for periods."""
    m = market(11, 2000, chain=True, spot=True)
    late = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-12-01T08:00Z", "2024-12-01T09:30Z", "2024-12-02T08:00Z"]),
            "instrument": ["BTC-1DEC24-95000-C", "BTC-1DEC24-95000-P", "BTC-2DEC24-100000-C"],
            "mark_iv": [0.5, 0.55, 0.6],
            "underlying_price": [96_000.0, 96_100.0, 97_000.0],
            "open_interest": [10.0, 11.0, 12.0],
        }
    )
    chain = pd.concat([m.chain, late], ignore_index=True)
    one = fg.flow_gex(m.trades, chain, m.spot, **OPTS)
    assert one.diagnostics.chain_after_expiry == 3
    got = fgd.flow_gex(dd.from_pandas(m.trades, npartitions=2), chain, m.spot, client=client, **OPTS)
    assert got.diagnostics.chain_after_expiry == 3
    assert_close(got, one)
    assert_identical(got, one)

    cut = pd.Timestamp("2024-12-01T12:00Z")
    rep = fgd.Replay(client=client, **OPTS)
    pieces = [
        rep.run(
            dd.from_pandas(m.trades[m.trades["timestamp"] < cut], npartitions=2),
            chain[chain["timestamp"] < cut],
            m.spot[m.spot["timestamp"] < cut],
            until=cut,
        ),
        rep.run(
            dd.from_pandas(m.trades[m.trades["timestamp"] >= cut], npartitions=2),
            chain[chain["timestamp"] >= cut],
            m.spot[m.spot["timestamp"] >= cut],
        ),
    ]
    assert [p.diagnostics.chain_after_expiry for p in pieces] == [2, 1]
    assert fgd.concat_results(pieces).diagnostics.chain_after_expiry == 3
