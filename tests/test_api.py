"""The public API: names, typing, keyword-only options, the Engine's streaming
contract (results any time, drain, keep_inventory, snapshots, thread safety)."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flowgex as fg
from compare import assert_identical

T0 = pd.Timestamp("2024-12-01T00:00:00Z")


def market(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    names = ["BTC-27DEC24-100000-C", "BTC-27DEC24-90000-P", "BTC-6DEC24-95000-C", "ETH-27DEC24-4000-P"]
    inst = rng.choice(names, n)
    return pd.DataFrame(
        {
            "timestamp": T0 + pd.to_timedelta(np.sort(rng.integers(0, 2 * 86400, n)), unit="s"),
            "instrument": inst,
            "side": rng.choice(["buy", "sell"], n),
            "amount": rng.integers(1, 50, n) / 10.0,
            "index_price": np.where(np.char.startswith(inst.astype(str), "ETH"), 3600.0, 96_000.0)
            * rng.uniform(0.98, 1.02, n),
            "iv": rng.uniform(0.4, 0.8, n),
            "trade_id": np.arange(n),
        }
    )


def test_design_names_are_exported_and_typed():
    for name in [
        "__version__",
        "black76_gamma",
        "parse_instrument",
        "flow_gex",
        "Engine",
        "GexResult",
        "classic_gex",
        "Instrument",
        "Diagnostics",
        "FlowgexError",
    ]:
        assert name in fg.__all__ and hasattr(fg, name)
    pkg = Path(fg.__file__).parent
    assert (pkg / "py.typed").is_file() and (pkg / "_core.pyi").is_file()
    assert isinstance(fg.__version__, str) and fg.__version__.count(".") == 2


@pytest.mark.parametrize("fn", [fg.flow_gex, fg.classic_gex, fg.Engine])
def test_options_are_keyword_only(fn):
    params = inspect.signature(fn).parameters
    positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert [p.name for p in positional] in (["trades", "chain", "spot"], ["chain"], [])


def test_error_hierarchy():
    assert issubclass(fg.InstrumentError, fg.FlowgexError) and issubclass(fg.InstrumentError, ValueError)
    assert issubclass(fg.SchemaError, TypeError) and issubclass(fg.BadRowsError, ValueError)
    assert issubclass(fg.MissingVolError, fg.errors.MissingDataError)


def test_result_selection_and_frames():
    res = fg.flow_gex(market())
    last = res.times[-1]
    assert res.by_strike(at="last").time.unique().tolist() == [last]
    # `at` between grid times selects the latest grid time before it.
    mid = res.times[5] + pd.Timedelta("3min")
    assert res.by_strike(at=mid).time.unique().tolist() == [res.times[5]]
    assert set(res.by_strike(asset="eth").asset) == {"ETH"}
    assert res.by_strike(asset="DOGE").empty
    with pytest.raises(fg.OptionError, match="before the first grid time"):
        res.by_strike(at=T0 - pd.Timedelta("1D"))
    inv = res.inventory(at="last")
    assert list(inv.columns) == [
        "asset",
        "time",
        "instrument",
        "expiry",
        "strike",
        "kind",
        "inventory",
        "spot",
        "vol",
        "gamma",
        "gex",
    ]
    assert list(res.by_strike().columns) == ["asset", "time", "strike", "call_gex", "put_gex", "gex"]
    assert list(res.by_expiry().columns) == ["asset", "time", "expiry", "gex"]
    assert list(res.total().columns) == ["asset", "time", "spot", "gex"]
    assert str(res.total().time.dtype) == "datetime64[ns, UTC]"
    table = res.to_arrow()
    assert table.num_rows == len(res.inventory()) and str(table.schema.field("time").type) == "timestamp[ns, tz=UTC]"
    assert res.assets == ["BTC", "ETH"]
    assert "GexResult(" in repr(res)


def test_keep_inventory_last_keeps_every_aggregate():
    t = market()
    full = fg.flow_gex(t)
    lean = fg.flow_gex(t, keep_inventory="last")
    pd.testing.assert_frame_equal(lean.by_strike(), full.by_strike())
    pd.testing.assert_frame_equal(lean.total(), full.total())
    pd.testing.assert_frame_equal(lean.inventory(), full.inventory(at="last").reset_index(drop=True))
    eng = fg.Engine(keep_inventory="last")
    for k in range(0, len(t), 37):
        eng.update(t.iloc[k : k + 37])
    pd.testing.assert_frame_equal(eng.result().inventory(), full.inventory(at="last").reset_index(drop=True))


def test_drain_streams_out_final_steps():
    t = market()
    whole = fg.flow_gex(t)
    eng = fg.Engine()
    parts = []
    for k in range(0, len(t), 50):
        eng.update(t.iloc[k : k + 50])
        parts.append(eng.drain().by_strike())
    parts.append(eng.result().by_strike())
    streamed = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(streamed, whole.by_strike())


def test_snapshot_restore_and_bad_blobs():
    t = market()
    eng = fg.Engine(errors="quarantine", resolution="5min")
    eng.update(t.iloc[:200])
    eng.update(t.iloc[[3]].assign(trade_id=-1))  # late: quarantined, kept in the snapshot
    restored = fg.Engine.restore(eng.snapshot())
    assert restored.options == eng.options
    restored.update(t.iloc[200:])
    eng.update(t.iloc[200:])
    assert_identical(restored.result(), eng.result())
    assert restored.result().diagnostics.rejected == {"late": 1}
    assert restored.result().diagnostics.rejected_rows["trades"].num_rows == 1
    with pytest.raises(fg.SnapshotError, match="bad magic"):
        fg.Engine.restore(b"not a snapshot")
    blob = eng.snapshot()
    with pytest.raises(fg.SnapshotError):
        fg.Engine.restore(blob[:-10])
    with pytest.raises(fg.SnapshotError, match="version"):
        fg.Engine.restore(blob[:8] + (99).to_bytes(4, "little") + blob[12:])


def test_engine_is_safe_under_concurrent_threads():
    t = market(2000)
    eng = fg.Engine()
    errors: list[BaseException] = []
    chunks = [t.iloc[k : k + 100] for k in range(0, len(t), 100)]
    lock = threading.Lock()
    order = iter(chunks)

    def feed():
        try:
            while True:
                with lock:  # chunks must arrive in time order; the engine itself is shared
                    chunk = next(order, None)
                    if chunk is None:
                        return
                    eng.update(chunk)
                eng.result()  # concurrent reads wait for the engine's lock
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert_identical(eng.result(), fg.flow_gex(t))


def test_finish_closes_the_engine():
    eng = fg.Engine()
    eng.update(market(50))
    eng.finish()
    with pytest.raises(RuntimeError, match="finished"):
        eng.result()


def test_drained_streams_keep_complete_diagnostics_and_rejects_can_be_taken():
    t = market()
    whole = fg.flow_gex(t)
    eng = fg.Engine(errors="quarantine")
    drained_spot = 0
    for k in range(0, len(t), 60):
        eng.update(t.iloc[k : k + 60])
        part = eng.drain()
        drained_spot += part.diagnostics.spot_source["index_price"]
    eng.update(t.iloc[[0]].assign(trade_id=-5))  # late
    taken = eng.take_rejected()
    assert taken["trades"].column("reason").to_pylist() == ["late"]
    assert eng.take_rejected() == {}
    final = eng.finish()
    assert final.diagnostics.spot_source == whole.diagnostics.spot_source
    assert final.diagnostics.vol_source == whole.diagnostics.vol_source
    assert final.diagnostics.rejected == {"late": 1}
    assert 0 < drained_spot < whole.diagnostics.spot_source["index_price"]
