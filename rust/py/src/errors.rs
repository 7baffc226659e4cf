//! Maps core errors onto the Python exception hierarchy of `flowgex.errors`.
//!
//! The classes are defined in Python (so they can subclass both `FlowgexError`
//! and `ValueError`/`TypeError`, like orjson's `JSONDecodeError`) and imported
//! here once; each core variant has its own class.

use flowgex_core::CoreError;
use pyo3::prelude::*;

pyo3::import_exception!(flowgex.errors, FlowgexError);
pyo3::import_exception!(flowgex.errors, InstrumentError);
pyo3::import_exception!(flowgex.errors, MultiplierError);
pyo3::import_exception!(flowgex.errors, OptionError);
pyo3::import_exception!(flowgex.errors, SchemaError);
pyo3::import_exception!(flowgex.errors, MissingVolError);
pyo3::import_exception!(flowgex.errors, MissingSpotError);
pyo3::import_exception!(flowgex.errors, SnapshotError);
pyo3::import_exception!(flowgex.errors, GridLimitError);
pyo3::import_exception!(flowgex.errors, InternalError);

/// A core error on its way to Python (the orphan rule forbids `From<CoreError> for PyErr`).
pub struct PyCoreError(CoreError);

impl From<CoreError> for PyCoreError {
    fn from(e: CoreError) -> Self {
        PyCoreError(e)
    }
}

impl From<PyCoreError> for PyErr {
    fn from(PyCoreError(e): PyCoreError) -> PyErr {
        let msg = e.to_string();
        match e {
            CoreError::InstrumentParse { .. } | CoreError::InvalidInstrument { .. } => {
                InstrumentError::new_err(msg)
            }
            CoreError::MissingMultiplier { .. } => MultiplierError::new_err(msg),
            CoreError::InvalidOption { .. } => OptionError::new_err(msg),
            CoreError::Shape { .. } => SchemaError::new_err(msg),
            CoreError::MissingVol {
                instrument,
                time_ns,
                ..
            } => with_where(MissingVolError::new_err(msg), instrument, time_ns),
            CoreError::MissingSpot {
                instrument,
                time_ns,
                ..
            } => with_where(MissingSpotError::new_err(msg), instrument, time_ns),
            CoreError::Snapshot(_) => SnapshotError::new_err(msg),
            CoreError::GridTooLarge { .. } => GridLimitError::new_err(msg),
            CoreError::Internal(_) => InternalError::new_err(msg),
            CoreError::ThreadPool(_) => FlowgexError::new_err(msg),
        }
    }
}

/// Attaches `instrument` and `time_ns` to a missing-data error, so callers (the
/// distributed driver picks the earliest of several) never parse the message.
fn with_where(err: PyErr, instrument: String, time_ns: i64) -> PyErr {
    Python::attach(|py| {
        let value = err.value(py);
        // Setting attributes on a fresh exception instance cannot fail in practice;
        // if it did, the message still names both.
        let _ = value.setattr("instrument", instrument);
        let _ = value.setattr("time_ns", time_ns);
    });
    err
}

/// Converts a core result for a `#[pyfunction]`.
pub fn core_result<T>(r: flowgex_core::Result<T>) -> PyResult<T> {
    r.map_err(|e| PyCoreError(e).into())
}
