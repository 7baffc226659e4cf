//! Stateless kernels: Black-76 gamma, delta, vanna and charm, instrument parsing, one-time evaluation
//! of a book (classic GEX) and the spot profile with its zero crossings.

use flowgex_core::exposure::{GreekSet, Unit};
use flowgex_core::greeks::{gamma_into, greeks_into, GreeksOut};
use flowgex_core::instrument::{parse_name, Kind};
use flowgex_core::parallel::install;
use flowgex_core::point::{evaluate_point as core_point, PointBook};
use flowgex_core::profile::{flip_series, Book};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadwriteArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{arr, instrument_dict, opt_arr, output_to_dict, registry_to_dict, slice};
use crate::errors::{core_result, SchemaError};

/// Black-76 gamma of equally long, contiguous float64 arrays (broadcasting is done in Python).
/// With `out`, the result is written there (no allocation) and `None` is returned.
#[pyfunction]
#[pyo3(signature = (s, k, t, sigma, r, *, out=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn black76_gamma<'py>(
    py: Python<'py>,
    s: PyReadonlyArray1<'py, f64>,
    k: PyReadonlyArray1<'py, f64>,
    t: PyReadonlyArray1<'py, f64>,
    sigma: PyReadonlyArray1<'py, f64>,
    r: PyReadonlyArray1<'py, f64>,
    out: Option<PyReadwriteArray1<'py, f64>>,
    threads: Option<usize>,
) -> PyResult<Option<Bound<'py, PyArray1<f64>>>> {
    let (s, k, t, v, r) = (
        slice(&s, "S")?,
        slice(&k, "K")?,
        slice(&t, "T")?,
        slice(&sigma, "sigma")?,
        slice(&r, "r")?,
    );
    let n = s.len();
    if [k.len(), t.len(), v.len()].iter().any(|&l| l != n) || !(r.len() == 1 || r.len() == n) {
        return Err(SchemaError::new_err(
            "black76_gamma: arrays must have equal lengths after broadcasting",
        ));
    }
    let fill = |o: &mut [f64]| {
        if r.len() == 1 {
            gamma_into(o, s, k, t, v, r[0]);
        } else {
            for i in 0..n {
                o[i] = flowgex_core::greeks::black76_gamma(s[i], k[i], t[i], v[i], r[i]);
            }
        }
    };
    match out {
        Some(mut target) => {
            let o = target.as_slice_mut().map_err(|_| {
                SchemaError::new_err("black76_gamma: out must be a C-contiguous float64 array")
            })?;
            if o.len() != n {
                return Err(SchemaError::new_err(format!(
                    "black76_gamma: out has {} elements, the inputs broadcast to {n}",
                    o.len()
                )));
            }
            core_result(py.detach(|| install(threads, || fill(o))))?;
            Ok(None)
        }
        None => {
            let result = core_result(py.detach(|| {
                install(threads, || {
                    let mut o = vec![0.0; n];
                    fill(&mut o);
                    o
                })
            }))?;
            Ok(Some(result.into_pyarray(py)))
        }
    }
}

/// Black-76 greeks of equally long, contiguous float64 arrays into the given outputs
/// (broadcasting and output checks are done in Python): one pass, d1 shared.
/// `r` and `is_call` hold one value or one per row. Returns None.
#[pyfunction]
#[pyo3(signature = (s, k, t, sigma, r, is_call, *, gamma=None, delta=None, vanna=None, charm=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn black76_greeks<'py>(
    py: Python<'py>,
    s: PyReadonlyArray1<'py, f64>,
    k: PyReadonlyArray1<'py, f64>,
    t: PyReadonlyArray1<'py, f64>,
    sigma: PyReadonlyArray1<'py, f64>,
    r: PyReadonlyArray1<'py, f64>,
    is_call: PyReadonlyArray1<'py, bool>,
    gamma: Option<PyReadwriteArray1<'py, f64>>,
    delta: Option<PyReadwriteArray1<'py, f64>>,
    vanna: Option<PyReadwriteArray1<'py, f64>>,
    charm: Option<PyReadwriteArray1<'py, f64>>,
    threads: Option<usize>,
) -> PyResult<()> {
    let (s, k, t, v, r, calls) = (
        slice(&s, "S")?,
        slice(&k, "K")?,
        slice(&t, "T")?,
        slice(&sigma, "sigma")?,
        slice(&r, "r")?,
        slice(&is_call, "kind")?,
    );
    let n = s.len();
    if [k.len(), t.len(), v.len()].iter().any(|&l| l != n)
        || !(r.len() == 1 || r.len() == n)
        || !(calls.len() == 1 || calls.len() == n)
    {
        return Err(SchemaError::new_err(
            "black76_greeks: arrays must have equal lengths after broadcasting",
        ));
    }
    let (mut gamma, mut delta, mut vanna, mut charm) = (gamma, delta, vanna, charm);
    let out = GreeksOut {
        gamma: out_slice(&mut gamma, "gamma", n)?,
        delta: out_slice(&mut delta, "delta", n)?,
        vanna: out_slice(&mut vanna, "vanna", n)?,
        charm: out_slice(&mut charm, "charm", n)?,
    };
    core_result(py.detach(|| install(threads, || greeks_into(out, s, k, t, v, r, calls))))
}

/// The writable slice of an optional output array of `n` elements.
fn out_slice<'a>(
    o: &'a mut Option<PyReadwriteArray1<'_, f64>>,
    name: &str,
    n: usize,
) -> PyResult<Option<&'a mut [f64]>> {
    let Some(o) = o.as_mut() else {
        return Ok(None);
    };
    let sl = o.as_slice_mut().map_err(|_| {
        SchemaError::new_err(format!(
            "black76_greeks: {name} must be a C-contiguous float64 array"
        ))
    })?;
    if sl.len() != n {
        return Err(SchemaError::new_err(format!(
            "black76_greeks: {name} has {} elements, the inputs broadcast to {n}",
            sl.len()
        )));
    }
    Ok(Some(sl))
}

/// Parses a Deribit name into (asset, quote, expiry_ns, strike, kind).
#[pyfunction]
pub fn parse_instrument(name: &str) -> PyResult<(String, Option<String>, i64, f64, &'static str)> {
    let i = core_result(parse_name(name))?;
    let kind = match i.kind {
        Kind::Call => "C",
        Kind::Put => "P",
    };
    Ok((i.asset, i.quote, i.expiry_ns, i.strike, kind))
}

/// Evaluates a given book at one time (classic GEX); returns the result arrays and the registry.
#[pyfunction]
#[pyo3(signature = (time, book, *, unit, rate, multipliers, asset_spot, threads=None, greeks=Vec::new()))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_point<'py>(
    py: Python<'py>,
    time: i64,
    book: &Bound<'py, PyDict>,
    unit: &str,
    rate: f64,
    multipliers: Vec<(String, f64)>,
    asset_spot: Vec<(String, f64)>,
    threads: Option<usize>,
    greeks: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let greeks = core_result(GreekSet::parse(&greeks))?;
    let dict = instrument_dict(book)?;
    let (codes, inv, spot, vol) = (
        arr::<i32>(book, "inst")?,
        arr::<f64>(book, "inventory")?,
        arr::<f64>(book, "spot")?,
        arr::<f64>(book, "vol")?,
    );
    let gamma = opt_arr::<f64>(book, "gamma")?;
    let gamma = match &gamma {
        Some(g) => Some(slice(g, "gamma")?),
        None => None,
    };
    let pb = PointBook {
        dict: &dict,
        codes: slice(&codes, "inst")?,
        inventory: slice(&inv, "inventory")?,
        spot: slice(&spot, "spot")?,
        vol: slice(&vol, "vol")?,
        gamma,
        asset_spot: &asset_spot,
    };
    let unit = core_result(Unit::parse(unit))?;
    let (reg, out, expired) = core_result(py.detach(|| {
        install(threads, || {
            core_point(time, &pb, unit, rate, &multipliers, greeks)
        })
        .and_then(|r| r)
    }))?;
    let d = output_to_dict(py, out)?;
    d.set_item("registry", registry_to_dict(py, &reg)?)?;
    d.set_item("expired", expired)?;
    Ok(d)
}

/// (GEX at each grid point, the refined zero crossings).
type ProfileArrays<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// GEX at each hypothetical spot in `xs`, and every zero crossing refined on the exact function.
#[pyfunction]
#[pyo3(signature = (s, k, tau, sigma, weight, *, spot, xs, rate, unit, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn profile<'py>(
    py: Python<'py>,
    s: PyReadonlyArray1<'py, f64>,
    k: PyReadonlyArray1<'py, f64>,
    tau: PyReadonlyArray1<'py, f64>,
    sigma: PyReadonlyArray1<'py, f64>,
    weight: PyReadonlyArray1<'py, f64>,
    spot: f64,
    xs: PyReadonlyArray1<'py, f64>,
    rate: f64,
    unit: &str,
    threads: Option<usize>,
) -> PyResult<ProfileArrays<'py>> {
    let book = Book {
        s: slice(&s, "s")?,
        k: slice(&k, "k")?,
        tau: slice(&tau, "tau")?,
        sigma: slice(&sigma, "sigma")?,
        weight: slice(&weight, "weight")?,
        spot,
        rate,
        unit: core_result(Unit::parse(unit))?,
    };
    let n = book.s.len();
    if [
        book.k.len(),
        book.tau.len(),
        book.sigma.len(),
        book.weight.len(),
    ]
    .iter()
    .any(|&l| l != n)
    {
        return Err(SchemaError::new_err(
            "profile: instrument arrays must have equal lengths",
        ));
    }
    let xs = slice(&xs, "xs")?;
    let (ys, roots) =
        core_result(py.detach(|| install(threads, || book.profile_and_crossings(xs))))?;
    Ok((ys.into_pyarray(py), roots.into_pyarray(py)))
}

/// Flip, crossing count and GEX at spot for many steps (rows grouped by `offsets`).
/// Returns (flip, has_flip, crossings, gex_at_spot), one entry per step.
#[pyfunction]
#[pyo3(signature = (offsets, s, k, tau, sigma, weight, *, spot, rel, rate, unit, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn profile_steps<'py>(
    py: Python<'py>,
    offsets: PyReadonlyArray1<'py, u64>,
    s: PyReadonlyArray1<'py, f64>,
    k: PyReadonlyArray1<'py, f64>,
    tau: PyReadonlyArray1<'py, f64>,
    sigma: PyReadonlyArray1<'py, f64>,
    weight: PyReadonlyArray1<'py, f64>,
    spot: PyReadonlyArray1<'py, f64>,
    rel: PyReadonlyArray1<'py, f64>,
    rate: f64,
    unit: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let unit = core_result(Unit::parse(unit))?;
    let offsets: Vec<usize> = slice(&offsets, "offsets")?
        .iter()
        .map(|&o| o as usize)
        .collect();
    let (s, k, tau, sigma, weight) = (
        slice(&s, "s")?,
        slice(&k, "k")?,
        slice(&tau, "tau")?,
        slice(&sigma, "sigma")?,
        slice(&weight, "weight")?,
    );
    let (spot, rel) = (slice(&spot, "spot")?, slice(&rel, "rel")?);
    let n = s.len();
    let rows_ok = [k.len(), tau.len(), sigma.len(), weight.len()]
        .iter()
        .all(|&l| l == n);
    let offsets_ok = offsets.len() == spot.len() + 1
        && offsets.first() == Some(&0)
        && offsets.last() == Some(&n)
        && offsets.windows(2).all(|w| w[0] <= w[1]);
    if !rows_ok || !offsets_ok {
        return Err(SchemaError::new_err(
            "profile_steps: offsets must run 0..=rows over len(spot) steps, arrays equally long",
        ));
    }
    let out = core_result(py.detach(|| {
        install(threads, || {
            flip_series(&offsets, s, k, tau, sigma, weight, spot, rel, rate, unit)
        })
    }))?;
    let d = PyDict::new(py);
    d.set_item(
        "flip",
        out.iter()
            .map(|f| f.flip.unwrap_or(0.0))
            .collect::<Vec<f64>>()
            .into_pyarray(py),
    )?;
    d.set_item(
        "has_flip",
        out.iter()
            .map(|f| f.flip.is_some())
            .collect::<Vec<bool>>()
            .into_pyarray(py),
    )?;
    d.set_item(
        "crossings",
        out.iter()
            .map(|f| f.crossings)
            .collect::<Vec<u32>>()
            .into_pyarray(py),
    )?;
    d.set_item(
        "gex_at_spot",
        out.iter()
            .map(|f| f.gex_at_spot)
            .collect::<Vec<f64>>()
            .into_pyarray(py),
    )?;
    Ok(d)
}
