//! Evaluating an explicit book at one time: the classic (open-interest)
//! GEX of DESIGN rule 13 runs through the same gamma, GEX and aggregation code
//! as the replay, with inventory = s·OI supplied by the caller.

use rustc_hash::FxHashMap;

use crate::error::{CoreError, Result};
use crate::evaluate::{flush, EvalConfig, MissingSpot, MissingVol, StepBatch};
use crate::exposure::{GreekSet, Unit};
use crate::grid::year_fraction;
use crate::output::{Output, Retention, SourceCounts};
use crate::registry::{InstrumentDict, Registry};

/// One row per option (already the latest row at or before `time`).
pub struct PointBook<'a> {
    pub dict: &'a InstrumentDict,
    pub codes: &'a [i32],
    pub inventory: &'a [f64],
    pub spot: &'a [f64],
    pub vol: &'a [f64],
    /// The venue's gamma, used instead of the model's when given.
    pub gamma: Option<&'a [f64]>,
    /// The asset spot reported in the totals, by asset name.
    pub asset_spot: &'a [(String, f64)],
}

/// Evaluates the book at `time`; options expired at `time` are left out and counted.
pub fn evaluate_point(
    time: i64,
    book: &PointBook,
    unit: Unit,
    rate: f64,
    multipliers: &[(String, f64)],
    greeks: GreekSet,
) -> Result<(Registry, Output, u64)> {
    let n = book.codes.len();
    for (name, len) in [
        ("inventory", book.inventory.len()),
        ("spot", book.spot.len()),
        ("vol", book.vol.len()),
    ] {
        if len != n {
            return Err(CoreError::Shape {
                table: "chain".into(),
                why: format!("{name} has {len} rows, instrument has {n}"),
            });
        }
    }
    if book.gamma.is_some_and(|g| g.len() != n) {
        return Err(CoreError::Shape {
            table: "chain".into(),
            why: "gamma length differs".into(),
        });
    }
    let mut reg = Registry::default();
    let ids = reg.resolve_dict(book.dict);
    let mut rows: Vec<(u32, usize)> = Vec::with_capacity(n);
    let mut seen: FxHashMap<u32, usize> = FxHashMap::default();
    let mut expired = 0u64;
    for (row, &code) in book.codes.iter().enumerate() {
        if code < 0 || code as usize >= ids.len() {
            return Err(CoreError::Shape {
                table: "chain".into(),
                why: format!("row {row} has no instrument"),
            });
        }
        let id = ids[code as usize].clone()?;
        if let Some(prev) = seen.insert(id, row) {
            return Err(CoreError::Shape {
                table: "chain".into(),
                why: format!("rows {prev} and {row} are both {}", reg.info(id).name),
            });
        }
        reg.multiplier(id, multipliers)?;
        if reg.info(id).inst.expiry_ns <= time {
            expired += 1;
            continue;
        }
        rows.push((id, row));
    }
    rows.sort_by(|a, b| reg.info(a.0).inst.canonical_cmp(&reg.info(b.0).inst));

    let mut batch = StepBatch::default();
    let mut counts = SourceCounts::default();
    let mut over = Vec::new();
    for &(id, row) in &rows {
        batch.inst.push(id);
        batch.inventory.push(book.inventory[row]);
        batch.spot.push(book.spot[row]);
        batch.vol.push(book.vol[row]);
        batch
            .tau
            .push(year_fraction(reg.info(id).inst.expiry_ns, time));
        if let Some(g) = book.gamma {
            over.push(g[row]);
        }
        counts.spot_chain += 1;
        counts.vol_chain += 1;
    }
    // (asset, expiry) groups in (asset name, expiry) order, and each row's group.
    let key = |id: u32| {
        (
            reg.assets[reg.info(id).asset as usize].clone(),
            reg.info(id).inst.expiry_ns,
        )
    };
    let mut keys: Vec<(String, i64)> = rows.iter().map(|&(id, _)| key(id)).collect();
    keys.sort();
    keys.dedup();
    for &(id, _) in &rows {
        batch
            .group
            .push(keys.binary_search(&key(id)).expect("present") as u32);
    }
    for (_, expiry) in &keys {
        batch.group_expiry.push(*expiry);
    }
    batch.group_asset = keys
        .iter()
        .map(|(a, _)| reg.find_asset(a).expect("interned"))
        .collect();
    batch.group_end.push(keys.len());
    let mut assets: Vec<u16> = rows.iter().map(|&(id, _)| reg.info(id).asset).collect();
    assets.sort_by(|&a, &b| reg.assets[a as usize].cmp(&reg.assets[b as usize]));
    assets.dedup();
    for a in assets {
        let name = &reg.assets[a as usize];
        let spot = book
            .asset_spot
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or(0.0, |(_, v)| *v);
        batch.total_asset.push(a);
        batch.total_spot.push(spot);
    }
    batch.step_time.push(time);
    batch.row_end.push(batch.inst.len());
    batch.total_end.push(batch.total_asset.len());
    batch.counts.push(counts);
    if book.gamma.is_some() {
        batch.gamma_override = Some(over);
    }
    let cfg = EvalConfig {
        unit,
        rate,
        missing_vol: MissingVol::Skip,
        missing_spot: MissingSpot::Skip,
        greeks,
    };
    let mut out = Output::default();
    flush(&mut batch, &reg, &cfg, Retention::ALL, i64::MAX, &mut out);
    Ok((reg, out, expired))
}
