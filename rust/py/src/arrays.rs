//! Turning the Python side's dict of numpy arrays into borrowed core batches,
//! and core results back into numpy arrays (moved, not copied).

use flowgex_core::batch::{ChainBatch, OptF64, SpotBatch, TradeBatch, TradeCols, TradeIds};
use flowgex_core::instrument::Kind;
use flowgex_core::output::Output;
use flowgex_core::registry::{InstrumentDict, Registry};
use numpy::{Element, IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A required 1-D array from `d[key]`.
pub fn arr<'py, T: Element>(
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    match d.get_item(key)? {
        Some(v) => v
            .extract::<PyReadonlyArray1<'py, T>>()
            .map_err(|e| PyTypeError::new_err(format!("{key}: {e}"))),
        None => Err(PyValueError::new_err(format!("missing array {key:?}"))),
    }
}

/// An optional 1-D array from `d[key]` (absent or None).
pub fn opt_arr<'py, T: Element>(
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<PyReadonlyArray1<'py, T>>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(arr(d, key)?)),
        _ => Ok(None),
    }
}

pub fn slice<'a, T: Element>(a: &'a PyReadonlyArray1<'_, T>, key: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{key}: array must be C-contiguous")))
}

/// Reads an instrument dictionary: `names` (list of str) or `parts` (dict of lists).
pub fn instrument_dict(d: &Bound<'_, PyDict>) -> PyResult<InstrumentDict> {
    if let Some(names) = d.get_item("names")? {
        if !names.is_none() {
            return Ok(InstrumentDict::Names(names.extract()?));
        }
    }
    let parts = d.get_item("parts")?.ok_or_else(|| {
        PyValueError::new_err("an instrument dictionary needs 'names' or 'parts'")
    })?;
    let parts = parts.cast::<PyDict>()?;
    let get = |k: &str| {
        parts
            .get_item(k)?
            .ok_or_else(|| PyValueError::new_err(format!("parts.{k} missing")))
    };
    let kind: Vec<String> = get("kind")?.extract()?;
    Ok(InstrumentDict::Parts {
        asset: get("asset")?.extract()?,
        expiry: get("expiry")?.extract()?,
        strike: get("strike")?.extract()?,
        kind: kind.iter().map(|k| Kind::parse(k)).collect(),
    })
}

/// An optional float column with its validity mask (`key` and `key_valid`).
pub struct OptCol<'py> {
    values: PyReadonlyArray1<'py, f64>,
    valid: Option<PyReadonlyArray1<'py, bool>>,
}

impl<'py> OptCol<'py> {
    pub fn read(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Self>> {
        Ok(match opt_arr::<f64>(d, key)? {
            Some(values) => Some(OptCol {
                values,
                valid: opt_arr::<bool>(d, &format!("{key}_valid"))?,
            }),
            None => None,
        })
    }

    pub fn view(&self) -> PyResult<OptF64<'_>> {
        Ok(OptF64 {
            values: slice(&self.values, "values")?,
            valid: match &self.valid {
                Some(v) => Some(slice(v, "valid")?),
                None => None,
            },
        })
    }
}

fn opt_view<'a>(c: &'a Option<OptCol<'_>>) -> PyResult<Option<OptF64<'a>>> {
    c.as_ref().map(|c| c.view()).transpose()
}

/// The arrays of one part of a trades table (contiguous rows).
struct TradePartIn<'py> {
    ts: PyReadonlyArray1<'py, i64>,
    inst: PyReadonlyArray1<'py, i32>,
    inst_lut: Option<PyReadonlyArray1<'py, i32>>,
    side: PyReadonlyArray1<'py, i8>,
    amount: PyReadonlyArray1<'py, f64>,
    index_price: Option<OptCol<'py>>,
    iv: Option<OptCol<'py>>,
    id_int: Option<PyReadonlyArray1<'py, i64>>,
    id_offsets: Option<PyReadonlyArray1<'py, i64>>,
    id_data: Option<PyReadonlyArray1<'py, u8>>,
    id_valid: Option<PyReadonlyArray1<'py, bool>>,
}

impl<'py> TradePartIn<'py> {
    fn read(d: &Bound<'py, PyDict>) -> PyResult<Self> {
        Ok(TradePartIn {
            ts: arr(d, "ts")?,
            inst: arr(d, "inst")?,
            inst_lut: opt_arr(d, "inst_lut")?,
            side: arr(d, "side")?,
            amount: arr(d, "amount")?,
            index_price: OptCol::read(d, "index_price")?,
            iv: OptCol::read(d, "iv")?,
            id_int: opt_arr(d, "trade_id_int")?,
            id_offsets: opt_arr(d, "trade_id_offsets")?,
            id_data: opt_arr(d, "trade_id_data")?,
            id_valid: opt_arr(d, "trade_id_valid")?,
        })
    }

    fn cols(&self) -> PyResult<TradeCols<'_>> {
        let valid = match &self.id_valid {
            Some(v) => Some(slice(v, "trade_id_valid")?),
            None => None,
        };
        let trade_id = match (&self.id_int, &self.id_offsets, &self.id_data) {
            (Some(v), _, _) => Some(TradeIds::Int {
                values: slice(v, "trade_id_int")?,
                valid,
            }),
            (None, Some(o), Some(d)) => Some(TradeIds::Str {
                offsets: slice(o, "trade_id_offsets")?,
                data: slice(d, "trade_id_data")?,
                valid,
            }),
            _ => None,
        };
        Ok(TradeCols {
            ts: slice(&self.ts, "ts")?,
            inst: slice(&self.inst, "inst")?,
            inst_lut: match &self.inst_lut {
                Some(l) => Some(slice(l, "inst_lut")?),
                None => None,
            },
            side: slice(&self.side, "side")?,
            amount: slice(&self.amount, "amount")?,
            index_price: opt_view(&self.index_price)?,
            iv: opt_view(&self.iv)?,
            trade_id,
        })
    }
}

/// The arrays of a trades table: the dictionary (`names` or `parts`) and
/// either the columns themselves or `chunks`, a list of dicts of columns of
/// consecutive rows (one per Arrow record batch, viewed in place).
pub struct TradesIn<'py> {
    dict: InstrumentDict,
    parts: Vec<TradePartIn<'py>>,
}

impl<'py> TradesIn<'py> {
    pub fn read(d: &Bound<'py, PyDict>) -> PyResult<Self> {
        let parts = match d.get_item("chunks")? {
            Some(chunks) if !chunks.is_none() => chunks
                .cast::<PyList>()?
                .iter()
                .map(|c| TradePartIn::read(c.cast::<PyDict>()?))
                .collect::<PyResult<Vec<_>>>()?,
            _ => vec![TradePartIn::read(d)?],
        };
        Ok(TradesIn {
            dict: instrument_dict(d)?,
            parts,
        })
    }

    pub fn batch(&self) -> PyResult<TradeBatch<'_>> {
        let parts = self
            .parts
            .iter()
            .map(TradePartIn::cols)
            .collect::<PyResult<Vec<_>>>()?;
        Ok(TradeBatch::new(&self.dict, parts))
    }
}

/// The arrays of a chain table.
pub struct ChainIn<'py> {
    dict: InstrumentDict,
    ts: PyReadonlyArray1<'py, i64>,
    inst: PyReadonlyArray1<'py, i32>,
    mark_iv: Option<OptCol<'py>>,
    underlying_price: Option<OptCol<'py>>,
    open_interest: Option<OptCol<'py>>,
    gamma: Option<OptCol<'py>>,
}

impl<'py> ChainIn<'py> {
    pub fn read(d: &Bound<'py, PyDict>) -> PyResult<Self> {
        Ok(ChainIn {
            dict: instrument_dict(d)?,
            ts: arr(d, "ts")?,
            inst: arr(d, "inst")?,
            mark_iv: OptCol::read(d, "mark_iv")?,
            underlying_price: OptCol::read(d, "underlying_price")?,
            open_interest: OptCol::read(d, "open_interest")?,
            gamma: OptCol::read(d, "gamma")?,
        })
    }

    pub fn batch(&self) -> PyResult<ChainBatch<'_>> {
        Ok(ChainBatch {
            dict: &self.dict,
            ts: slice(&self.ts, "ts")?,
            inst: slice(&self.inst, "inst")?,
            mark_iv: opt_view(&self.mark_iv)?,
            underlying_price: opt_view(&self.underlying_price)?,
            open_interest: opt_view(&self.open_interest)?,
            gamma: opt_view(&self.gamma)?,
        })
    }
}

/// The arrays of a spot table.
pub struct SpotIn<'py> {
    assets: Vec<String>,
    ts: PyReadonlyArray1<'py, i64>,
    asset: PyReadonlyArray1<'py, i32>,
    price: PyReadonlyArray1<'py, f64>,
}

impl<'py> SpotIn<'py> {
    pub fn read(d: &Bound<'py, PyDict>) -> PyResult<Self> {
        let assets = d
            .get_item("assets")?
            .ok_or_else(|| PyValueError::new_err("spot needs 'assets'"))?
            .extract()?;
        Ok(SpotIn {
            assets,
            ts: arr(d, "ts")?,
            asset: arr(d, "asset")?,
            price: arr(d, "price")?,
        })
    }

    pub fn batch(&self) -> PyResult<SpotBatch<'_>> {
        Ok(SpotBatch {
            assets: &self.assets,
            ts: slice(&self.ts, "ts")?,
            asset: slice(&self.asset, "asset")?,
            price: slice(&self.price, "price")?,
        })
    }
}

fn set<'py, T: Element>(d: &Bound<'py, PyDict>, key: &str, v: Vec<T>) -> PyResult<()> {
    d.set_item(key, v.into_pyarray(d.py()))
}

/// Moves an [`Output`] into a dict of numpy arrays, one key per column (`table.column`).
pub fn output_to_dict<'py>(py: Python<'py>, out: Output) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let i = out.inventory;
    set(&d, "inventory.time", i.time)?;
    set(&d, "inventory.inst", i.inst)?;
    set(&d, "inventory.inventory", i.inventory)?;
    set(&d, "inventory.spot", i.spot)?;
    set(&d, "inventory.vol", i.vol)?;
    set(&d, "inventory.gamma", i.gamma)?;
    set(&d, "inventory.gex", i.gex)?;
    // DEX, VEX, CEX: empty unless asked for (the Python side keeps the asked ones).
    set(&d, "inventory.dex", i.dex)?;
    set(&d, "inventory.vex", i.vex)?;
    set(&d, "inventory.cex", i.cex)?;
    let s = out.by_strike;
    set(&d, "by_strike.time", s.time)?;
    set(&d, "by_strike.asset", s.asset)?;
    set(&d, "by_strike.strike", s.strike)?;
    set(&d, "by_strike.call_gex", s.call_gex)?;
    set(&d, "by_strike.put_gex", s.put_gex)?;
    set(&d, "by_strike.gex", s.gex)?;
    set(&d, "by_strike.dex", s.dex)?;
    set(&d, "by_strike.vex", s.vex)?;
    set(&d, "by_strike.cex", s.cex)?;
    let e = out.by_expiry;
    set(&d, "by_expiry.time", e.time)?;
    set(&d, "by_expiry.asset", e.asset)?;
    set(&d, "by_expiry.expiry", e.expiry)?;
    set(&d, "by_expiry.gex", e.gex)?;
    set(&d, "by_expiry.dex", e.dex)?;
    set(&d, "by_expiry.vex", e.vex)?;
    set(&d, "by_expiry.cex", e.cex)?;
    let t = out.total;
    set(&d, "total.time", t.time)?;
    set(&d, "total.asset", t.asset)?;
    set(&d, "total.spot", t.spot)?;
    set(&d, "total.gex", t.gex)?;
    set(&d, "total.dex", t.dex)?;
    set(&d, "total.vex", t.vex)?;
    set(&d, "total.cex", t.cex)?;
    let c = out.stats.counts;
    set(&d, "steps.time", out.stats.time)?;
    set(
        &d,
        "steps.spot_chain",
        c.iter().map(|x| x.spot_chain).collect(),
    )?;
    set(
        &d,
        "steps.spot_table",
        c.iter().map(|x| x.spot_table).collect(),
    )?;
    set(
        &d,
        "steps.spot_index",
        c.iter().map(|x| x.spot_index).collect(),
    )?;
    set(
        &d,
        "steps.spot_missing",
        c.iter().map(|x| x.spot_missing).collect(),
    )?;
    set(
        &d,
        "steps.vol_chain",
        c.iter().map(|x| x.vol_chain).collect(),
    )?;
    set(
        &d,
        "steps.vol_trade",
        c.iter().map(|x| x.vol_trade).collect(),
    )?;
    set(
        &d,
        "steps.vol_missing",
        c.iter().map(|x| x.vol_missing).collect(),
    )?;
    Ok(d)
}

/// Instrument metadata by id, and the asset names by id.
pub fn registry_to_dict<'py>(py: Python<'py>, reg: &Registry) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let infos = &reg.instruments;
    d.set_item(
        "name",
        PyList::new(py, infos.iter().map(|i| i.name.as_str()))?,
    )?;
    set(
        &d,
        "asset",
        infos.iter().map(|i| i.asset).collect::<Vec<u16>>(),
    )?;
    d.set_item(
        "quote",
        PyList::new(py, infos.iter().map(|i| i.inst.quote.as_deref()))?,
    )?;
    set(
        &d,
        "expiry",
        infos.iter().map(|i| i.inst.expiry_ns).collect::<Vec<i64>>(),
    )?;
    set(
        &d,
        "strike",
        infos.iter().map(|i| i.inst.strike).collect::<Vec<f64>>(),
    )?;
    set(
        &d,
        "is_call",
        infos
            .iter()
            .map(|i| i.inst.kind == Kind::Call)
            .collect::<Vec<bool>>(),
    )?;
    set(
        &d,
        "multiplier",
        infos
            .iter()
            .map(|i| i.multiplier.unwrap_or(f64::NAN))
            .collect::<Vec<f64>>(),
    )?;
    d.set_item(
        "assets",
        PyList::new(py, reg.assets.iter().map(String::as_str))?,
    )?;
    Ok(d)
}
