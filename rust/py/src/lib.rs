//! `flowgex._core`: thin PyO3 bindings over `flowgex-core`.
//!
//! This crate only converts arrays, releases the interpreter around the work
//! and maps errors onto `flowgex.errors`; every definition lives in the core.

use pyo3::prelude::*;

mod arrays;
mod engine;
mod errors;
mod functions;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::CoreEngine>()?;
    m.add_function(wrap_pyfunction!(engine::reason_names, m)?)?;
    m.add_function(wrap_pyfunction!(engine::builtin_multipliers, m)?)?;
    m.add_function(wrap_pyfunction!(functions::black76_gamma, m)?)?;
    m.add_function(wrap_pyfunction!(functions::black76_greeks, m)?)?;
    m.add_function(wrap_pyfunction!(functions::parse_instrument, m)?)?;
    m.add_function(wrap_pyfunction!(functions::evaluate_point, m)?)?;
    m.add_function(wrap_pyfunction!(functions::profile, m)?)?;
    m.add_function(wrap_pyfunction!(functions::profile_steps, m)?)?;
    Ok(())
}
