//! `CoreEngine`: the streaming engine as a frozen pyclass with a lock inside
//! (STYLE 8), so concurrent Python threads wait instead of failing with
//! "Already borrowed". Arguments are extracted first; the work runs detached
//! from the interpreter inside the engine's rayon pool (STYLE 6–7).

use std::sync::{Mutex, MutexGuard};

use flowgex_core::batch::UpdateBatch;
use flowgex_core::evaluate::{MissingSpot, MissingVol};
use flowgex_core::exposure::{GreekSet, Unit};
use flowgex_core::output::{Keep, Retention};
use flowgex_core::parallel::install;
use flowgex_core::rejects::Reason;
use flowgex_core::{Config, Engine, ResultData};
use numpy::IntoPyArray;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::arrays::{
    arr, instrument_dict, output_to_dict, registry_to_dict, slice, ChainIn, SpotIn, TradesIn,
};
use crate::errors::{core_result, OptionError};

#[pyclass(frozen, module = "flowgex._core", name = "CoreEngine")]
pub struct CoreEngine {
    inner: Mutex<Option<Engine>>,
    threads: Option<usize>,
}

fn parse_missing_vol(v: &Bound<'_, PyAny>) -> PyResult<MissingVol> {
    if let Ok(s) = v.extract::<String>() {
        return match s.as_str() {
            "error" => Ok(MissingVol::Error),
            "skip" => Ok(MissingVol::Skip),
            other => Err(OptionError::new_err(format!(
                "invalid option missing_vol: expected \"error\", \"skip\" or a positive number, found {other:?}"
            ))),
        };
    }
    Ok(MissingVol::Fill(v.extract::<f64>()?))
}

impl CoreEngine {
    /// Locks with the interpreter held: only for short reads that build Python
    /// objects. Lock holders never need the interpreter, so this cannot deadlock.
    fn lock(&self) -> PyResult<MutexGuard<'_, Option<Engine>>> {
        self.inner
            .lock()
            .map_err(|_| PyRuntimeError::new_err("engine lock poisoned by an earlier panic"))
    }

    /// Runs `f` on the engine detached from the interpreter: waiting for the
    /// lock and the work itself both let other Python threads run.
    fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Engine) -> flowgex_core::Result<R> + Send,
    ) -> PyResult<R> {
        let threads = self.threads;
        let outcome: Result<flowgex_core::Result<R>, &str> = py.detach(|| {
            let mut guard = self
                .inner
                .lock()
                .map_err(|_| "engine lock poisoned by an earlier panic")?;
            let engine = guard
                .as_mut()
                .ok_or("this engine was finished; create a new one")?;
            // A panic must not unwind into Python or poison the lock: it
            // becomes an InternalError, and the engine (whose update may have
            // stopped half way) is retired.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                install(threads, || f(engine)).and_then(|r| r)
            })) {
                Ok(r) => Ok(r),
                Err(p) => {
                    *guard = None;
                    Ok(Err(flowgex_core::CoreError::Internal(panic_message(&p))))
                }
            }
        });
        match outcome {
            Ok(r) => core_result(r),
            Err(msg) => Err(PyRuntimeError::new_err(msg)),
        }
    }
}

fn result_to_dict<'py>(
    py: Python<'py>,
    r: ResultData,
    reg: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = output_to_dict(py, r.out)?;
    let c = r.counters;
    d.set_item("rows_read", c.rows_read.to_vec())?;
    d.set_item(
        "rejected",
        c.rejected.iter().map(|t| t.to_vec()).collect::<Vec<_>>(),
    )?;
    d.set_item("expired", c.expired)?;
    d.set_item("traded_instruments", c.traded_instruments)?;
    d.set_item("chain_after_expiry", c.chain_after_expiry)?;
    let ds = c.drained_sources;
    let drained = PyDict::new(py);
    for (k, v) in [
        ("spot_chain", ds.spot_chain),
        ("spot_table", ds.spot_table),
        ("spot_index", ds.spot_index),
        ("spot_missing", ds.spot_missing),
        ("vol_chain", ds.vol_chain),
        ("vol_trade", ds.vol_trade),
        ("vol_missing", ds.vol_missing),
    ] {
        drained.set_item(k, v)?;
    }
    d.set_item("drained_sources", drained)?;
    d.set_item("registry", reg)?;
    Ok(d)
}

#[pymethods]
impl CoreEngine {
    #[new]
    #[pyo3(signature = (*, resolution_ns, unit, start, end, multipliers, missing_vol, missing_spot, rate, keep, threads, keep_aggregates="all", grid_limit=None, outlier_gap=Some(flowgex_core::limits::DEFAULT_OUTLIER_GAP), greeks=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        resolution_ns: i64,
        unit: &str,
        start: Option<i64>,
        end: Option<i64>,
        multipliers: Vec<(String, f64)>,
        missing_vol: &Bound<'_, PyAny>,
        missing_spot: &str,
        rate: f64,
        keep: &str,
        threads: Option<usize>,
        keep_aggregates: &str,
        grid_limit: Option<u64>,
        outlier_gap: Option<i64>,
        greeks: Vec<String>,
    ) -> PyResult<Self> {
        let missing_spot = match missing_spot {
            "error" => MissingSpot::Error,
            "skip" => MissingSpot::Skip,
            other => {
                return Err(OptionError::new_err(format!(
                    "invalid option missing_spot: expected \"error\" or \"skip\", found {other:?}"
                )))
            }
        };
        let parse_keep = |name: &str, v: &str| match v {
            "all" => Ok(Keep::All),
            "last" => Ok(Keep::Last),
            other => Err(OptionError::new_err(format!(
                "invalid option {name}: expected \"all\" or \"last\", found {other:?}"
            ))),
        };
        let keep = Retention {
            inventory: parse_keep("keep_inventory", keep)?,
            aggregates: parse_keep("keep_aggregates", keep_aggregates)?,
        };
        core_result(flowgex_core::parallel::resolve_threads(threads))?;
        let cfg = Config {
            resolution: resolution_ns,
            unit: core_result(Unit::parse(unit))?,
            start,
            end,
            multipliers,
            missing_vol: parse_missing_vol(missing_vol)?,
            missing_spot,
            rate,
            keep,
            grid_limit,
            outlier_gap,
            greeks: core_result(GreekSet::parse(&greeks))?,
        };
        Ok(CoreEngine {
            inner: Mutex::new(Some(core_result(Engine::new(cfg))?)),
            threads,
        })
    }

    /// Seeds the initial inventory: an instrument dictionary, codes and inventories.
    fn seed(&self, py: Python<'_>, table: &Bound<'_, PyDict>) -> PyResult<()> {
        let dict = instrument_dict(table)?;
        let codes = arr::<i32>(table, "inst")?;
        let inv = arr::<f64>(table, "inventory")?;
        let (codes, inv) = (slice(&codes, "inst")?, slice(&inv, "inventory")?);
        self.with(py, |e| e.seed(&dict, codes, inv))
    }

    /// Feeds one chunk; returns {"applied": bool, "chain_after_expiry": int, "table", "row",
    /// "reason"} (arrays of the rejects).
    #[pyo3(signature = (trades=None, chain=None, spot=None, *, strict))]
    fn update<'py>(
        &self,
        py: Python<'py>,
        trades: Option<&Bound<'py, PyDict>>,
        chain: Option<&Bound<'py, PyDict>>,
        spot: Option<&Bound<'py, PyDict>>,
        strict: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let t = trades.map(TradesIn::read).transpose()?;
        let c = chain.map(ChainIn::read).transpose()?;
        let s = spot.map(SpotIn::read).transpose()?;
        let batch = UpdateBatch {
            trades: t.as_ref().map(|x| x.batch()).transpose()?,
            chain: c.as_ref().map(|x| x.batch()).transpose()?,
            spot: s.as_ref().map(|x| x.batch()).transpose()?,
        };
        let report = self.with(py, |e| e.update(&batch, strict))?;
        let d = PyDict::new(py);
        d.set_item("applied", report.applied)?;
        d.set_item("chain_after_expiry", report.chain_after_expiry)?;
        d.set_item(
            "table",
            report
                .rejects
                .iter()
                .map(|r| r.table as u8)
                .collect::<Vec<u8>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "row",
            report
                .rejects
                .iter()
                .map(|r| r.row as u64)
                .collect::<Vec<u64>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "reason",
            report
                .rejects
                .iter()
                .map(|r| r.reason as u8)
                .collect::<Vec<u8>>()
                .into_pyarray(py),
        )?;
        Ok(d)
    }

    /// The event clock reached `ts` (ns): evaluates and commits every step at or before it.
    fn advance(&self, py: Python<'_>, ts: i64) -> PyResult<()> {
        self.with(py, |e| e.advance(ts))
    }

    /// The open bucket's label (ns), or None before any row or clock.
    fn open_bucket(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        self.with(py, |e| Ok(e.open_bucket()))
    }

    /// The result so far (the engine is unchanged and can be fed more).
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = self.with(py, |e| e.result())?;
        let reg = self.registry(py)?;
        result_to_dict(py, r, reg)
    }

    /// The final result; the engine cannot be used afterwards (saves a copy of the buffers).
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let reg = self.registry(py)?;
        let engine = self
            .lock()?
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this engine was already finished"))?;
        let threads = self.threads;
        let r =
            core_result(py.detach(|| install(threads, || engine.into_result()).and_then(|r| r)))?;
        result_to_dict(py, r, reg)
    }

    /// Removes and returns the committed, final steps (for streaming results out).
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = self.with(py, |e| Ok(e.drain()))?;
        output_to_dict(py, out)
    }

    /// Committed steps held in memory.
    fn buffered_steps(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |e| Ok(e.buffered_steps()))
    }

    /// Instrument metadata by id and asset names by id.
    fn registry<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let guard = self.lock()?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("this engine was finished"))?;
        registry_to_dict(py, engine.registry())
    }

    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let blob = self.with(py, |e| e.snapshot())?;
        Ok(PyBytes::new(py, &blob))
    }

    #[staticmethod]
    #[pyo3(signature = (blob, *, threads=None))]
    fn restore(py: Python<'_>, blob: &[u8], threads: Option<usize>) -> PyResult<Self> {
        // Any bytes give an engine or a SnapshotError, never a panic.
        let engine = core_result(py.detach(|| {
            std::panic::catch_unwind(|| Engine::restore(blob)).unwrap_or_else(|p| {
                Err(flowgex_core::CoreError::Snapshot(format!(
                    "corrupt payload ({})",
                    panic_message(&p)
                )))
            })
        }))?;
        Ok(CoreEngine {
            inner: Mutex::new(Some(engine)),
            threads,
        })
    }
}

/// The text of a caught panic.
pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// The core's built-in contract multipliers (tested equal to `flowgex.multipliers`).
#[pyfunction]
pub fn builtin_multipliers() -> Vec<(&'static str, f64)> {
    flowgex_core::exposure::BUILTIN_MULTIPLIERS.to_vec()
}

/// Reason names by code, as used in diagnostics.
#[pyfunction]
pub fn reason_names() -> Vec<&'static str> {
    Reason::ALL.iter().map(|r| r.name()).collect()
}
