//! The streaming replay engine (DESIGN rules 1–11, section 3).
//!
//! A state machine fed chunk by chunk in time order. Events (trades, chain
//! rows, spot rows) are applied bucket by bucket; when a later bucket starts,
//! the open bucket closes (its flows become inventory) and every grid step up
//! to the new bucket is evaluated. The last bucket stays open until more data
//! or the end of the stream, so splitting a stream into chunks anywhere gives
//! bit-identical results. An update is all-or-nothing: it runs on a copy of the
//! state and only commits on success.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::batch::{JoinedTrades, TradeBatch, UpdateBatch};
pub use crate::config::Config;
use crate::error::{CoreError, Result};
use crate::evaluate::{flush, StepBatch};
use crate::output::Output;
use crate::registry::{InstrumentDict, Registry};
use crate::shard;
use crate::state::{Counters, EngineState};
use crate::stream;
use crate::validate::{self, Frontier, Reject, Validated};

/// What an update did with its rows.
#[derive(Clone, Debug, Default)]
pub struct UpdateReport {
    /// False when `strict` and some rows were bad: nothing was applied.
    pub applied: bool,
    pub rejects: Vec<Reject>,
    /// Chain and spot rows of this update at or after their option's expiry: ignored
    /// and counted (for callers that add up the counts of several engines).
    pub chain_after_expiry: u64,
}

/// A result: the tables plus the counters as of the result.
#[derive(Clone, Debug, Default)]
pub struct ResultData {
    pub out: Output,
    pub counters: Counters,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Engine {
    pub(crate) cfg: Config,
    pub(crate) reg: Registry,
    pub(crate) state: EngineState,
    pub(crate) out: Output,
}

impl Engine {
    pub fn new(cfg: Config) -> Result<Engine> {
        let cfg = cfg.validated()?;
        let state = EngineState {
            next_eval: cfg.start,
            ..EngineState::default()
        };
        Ok(Engine {
            cfg,
            reg: Registry::default(),
            state,
            out: Output::default(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn registry(&self) -> &Registry {
        &self.reg
    }

    pub fn counters(&self) -> &Counters {
        &self.state.counters
    }

    /// Seeds the initial inventory I₀ (DESIGN rule 3). Only before the first update.
    pub fn seed(&mut self, dict: &InstrumentDict, codes: &[i32], inventory: &[f64]) -> Result<()> {
        let invalid = |why: String| CoreError::InvalidOption {
            name: "initial".into(),
            expected: "a table of (instrument, inventory) given before any data".into(),
            found: why,
        };
        if self.state.open_label.is_some() || self.state.counters.traded_instruments > 0 {
            return Err(invalid("a seed after data was fed".into()));
        }
        if codes.len() != inventory.len() {
            return Err(CoreError::Shape {
                table: "initial".into(),
                why: "instrument and inventory lengths differ".into(),
            });
        }
        let ids = self.reg.resolve_dict(dict);
        let mut seen: FxHashMap<u32, usize> = FxHashMap::default();
        let mut st = self.state.clone();
        st.fit(&self.reg);
        for (row, (&code, &inv)) in codes.iter().zip(inventory).enumerate() {
            if code < 0 || code as usize >= ids.len() {
                return Err(invalid(format!("row {row} has no instrument")));
            }
            let id = ids[code as usize].clone()?;
            if !(inv.is_finite() && inv.abs() <= crate::limits::MAX_SEED) {
                return Err(invalid(format!(
                    "row {row} ({}) has inventory {inv} (expected a finite |inventory| <= 1e15 contracts)",
                    self.reg.info(id).name
                )));
            }
            if let Some(prev) = seen.insert(id, row) {
                return Err(invalid(format!(
                    "rows {prev} and {row} both seed {}",
                    self.reg.info(id).name
                )));
            }
            self.reg.multiplier(id, &self.cfg.multipliers)?;
            let s = &mut st.inst[id as usize];
            s.inventory = inv;
            s.traded = true;
            st.counters.traded_instruments += 1;
            st.insert_live(&self.reg, id);
        }
        self.state = st;
        Ok(())
    }

    /// Feeds one chunk. With `strict`, any bad row means nothing is applied and
    /// the rejects are returned (`applied == false`).
    pub fn update(&mut self, batch: &UpdateBatch, strict: bool) -> Result<UpdateReport> {
        if let Some(t) = &batch.trades {
            t.check()?;
        }
        if let Some(c) = &batch.chain {
            c.check()?;
        }
        if let Some(s) = &batch.spot {
            s.check()?;
        }
        if let Some(t) = batch.trades.as_ref().filter(|t| t.parts.len() > 1) {
            // Parts are read in row order only, which the per-asset replay does;
            // the serial replay reads in time order, so it gets them joined.
            if !shard::possible(&self.cfg) {
                return self.update_joined(batch, t, strict);
            }
        }
        let mut v = Validated::default();
        let mut in_order = true;
        {
            let fr = Frontier {
                open_label: self.state.open_label,
                open_ids: &self.state.open_ids,
                seq_base: self.state.counters.rows_read,
                resolution: self.cfg.resolution,
                multipliers: &self.cfg.multipliers,
                per_asset: shard::possible(&self.cfg),
            };
            if let Some(t) = &batch.trades {
                in_order = validate::trades(&mut self.reg, &fr, t, &mut v);
            }
            if let Some(c) = &batch.chain {
                validate::chain(&mut self.reg, &fr, c, &mut v);
            }
            if let Some(s) = &batch.spot {
                validate::spot(&mut self.reg, &fr, s, &mut v);
            }
        }
        if let (false, Some(t)) = (in_order, &batch.trades) {
            return self.update_joined(batch, t, strict);
        }
        if strict && !v.rejects.is_empty() {
            return Ok(UpdateReport {
                applied: false,
                rejects: v.rejects,
                chain_after_expiry: 0,
            });
        }
        crate::budget::check_update(&self.state, &self.reg, &self.cfg, batch, &mut v, strict)?;
        // Multipliers of the instruments that trade are needed from now on.
        if let Some(t) = &batch.trades {
            let mut used = vec![false; v.trade_ids.len()];
            for (start, c) in t.iter_parts() {
                let reason = &v.trades.reason[start..start + c.ts.len()];
                // Marked by the part's own codes, then renumbered (not per row).
                let mut mine = vec![false; c.inst_lut.map_or(0, <[i32]>::len)];
                let marks = if c.inst_lut.is_some() {
                    &mut mine[..]
                } else {
                    &mut used[..]
                };
                let shift = c.inst_lut.is_some() as i32;
                for (&r, &k) in reason.iter().zip(c.inst) {
                    if r == 0 {
                        marks[(k + shift) as usize] = true;
                    }
                }
                for (&m, &g) in mine.iter().zip(c.inst_lut.unwrap_or(&[])) {
                    if m && g >= 0 {
                        used[g as usize] = true;
                    }
                }
            }
            for (code, _) in used.iter().enumerate().filter(|(_, &u)| u) {
                self.reg
                    .multiplier(v.trade_ids[code], &self.cfg.multipliers)?;
            }
        }
        let mut st = self.state.clone();
        st.fit(&self.reg);
        let mut fresh = Output::default();
        let by_asset = v.trades.by_asset.take();
        match shard::applies(&self.cfg, v.trades.deferred)
            .then(|| shard::process(&st, &self.reg, &self.cfg, batch, &v, by_asset))
            .flatten()
        {
            Some((merged, out)) => (st, fresh) = (merged, out),
            None => {
                // The per-asset replay did not run (or failed): one time order of
                // every row, over the parts joined when there are several.
                let joined = match &batch.trades {
                    Some(t) if t.parts.len() > 1 && v.trades.deferred => Some(JoinedTrades::of(t)?),
                    _ => None,
                };
                let one = joined.as_ref().map(|j| {
                    let dict = batch
                        .trades
                        .as_ref()
                        .map(|t| t.dict)
                        .unwrap_or_else(|| unreachable!());
                    UpdateBatch {
                        trades: Some(j.view(dict)),
                        chain: batch.chain.clone(),
                        spot: batch.spot.clone(),
                    }
                });
                let serial = one.as_ref().unwrap_or(batch);
                if let Some(t) = &serial.trades {
                    if v.trades.deferred {
                        v.trades.sort(t.parts[0].ts);
                    }
                }
                stream::process(&mut st, &self.reg, &self.cfg, serial, &v, None, &mut fresh)?
            }
        }
        for (table, rows) in v.rows.iter().enumerate() {
            st.counters.rows_read[table] += rows;
        }
        for r in &v.rejects {
            st.counters.rejected[r.table as usize][r.reason as usize] += 1;
        }
        st.counters.chain_after_expiry += v.chain_after_expiry;
        self.state = st;
        self.out.append(fresh);
        let from = self.retain_from();
        self.cfg.keep.trim(&mut self.out, from);
        Ok(UpdateReport {
            applied: true,
            rejects: v.rejects,
            chain_after_expiry: v.chain_after_expiry,
        })
    }

    /// [`Engine::update`] with the trades' parts joined into one (a copy).
    fn update_joined(
        &mut self,
        batch: &UpdateBatch,
        t: &TradeBatch,
        strict: bool,
    ) -> Result<UpdateReport> {
        let joined = JoinedTrades::of(t)?;
        let one = UpdateBatch {
            trades: Some(joined.view(t.dict)),
            chain: batch.chain.clone(),
            spot: batch.spot.clone(),
        };
        self.update(&one, strict)
    }

    /// Tells the engine that the event clock has reached `ts` (a message stamped
    /// `ts` arrived that carries no row, e.g. a heartbeat or a spot of another
    /// asset): every grid step t ≤ `ts` is evaluated and committed, and rows
    /// before `ts`'s bucket are `late` from now on, exactly as if a row at `ts`
    /// had been fed. No trade, spot or vol is observed, and the result still
    /// ends at the last trade's bucket (or `end`), so a replay of the same rows
    /// gives the same steps. Earlier or equal clocks are a no-op.
    pub fn advance(&mut self, ts: i64) -> Result<()> {
        let res = self.cfg.resolution;
        if ts >= crate::limits::ts_limit(res) || ts == i64::MIN {
            return Err(CoreError::InvalidOption {
                name: "time".into(),
                expected: format!("a timestamp before {} ns", crate::limits::ts_limit(res)),
                found: ts.to_string(),
            });
        }
        let e = crate::grid::bucket_label(ts, res);
        if self.state.open_label.is_some_and(|l| e <= l) {
            return Ok(());
        }
        let mut st = self.state.clone();
        st.fit(&self.reg);
        let mut fresh = Output::default();
        stream::advance_clock(&mut st, &self.reg, &self.cfg, e, &mut fresh)?;
        self.state = st;
        self.out.append(fresh);
        let from = self.retain_from();
        self.cfg.keep.trim(&mut self.out, from);
        Ok(())
    }

    /// The event clock's open bucket (the label of the latest time seen), if any.
    pub fn open_bucket(&self) -> Option<i64> {
        self.state.open_label
    }

    /// The last grid time a result reports: `end`, else the last trade's bucket.
    pub fn final_step(&self) -> Option<i64> {
        self.cfg.end.or(self.state.last_trade_label)
    }

    fn retain_from(&self) -> i64 {
        stream::retain_from(&self.cfg, &self.state)
    }

    /// The result so far, without changing the engine: committed steps plus the
    /// open bucket (and any steps up to `end`) evaluated on a copy of the state.
    pub fn result(&self) -> Result<ResultData> {
        let Some(last) = self.final_step() else {
            return Ok(ResultData {
                out: Output::default(),
                counters: self.state.counters.clone(),
            });
        };
        let mut out = self.out.clone_through(last);
        let mut st = self.state.clone();
        self.finish_steps(&mut st, last, &mut out)?;
        st.counters.expired = expired_by(&st, &self.reg, last);
        Ok(ResultData {
            out,
            counters: st.counters,
        })
    }

    /// Like [`Engine::result`] but consumes the engine, avoiding a copy of the buffers.
    pub fn into_result(mut self) -> Result<ResultData> {
        let Some(last) = self.final_step() else {
            return Ok(ResultData {
                out: Output::default(),
                counters: self.state.counters,
            });
        };
        let mut out = std::mem::take(&mut self.out);
        out.truncate_after(last);
        let mut st = std::mem::take(&mut self.state);
        self.finish_steps(&mut st, last, &mut out)?;
        st.counters.expired = expired_by(&st, &self.reg, last);
        Ok(ResultData {
            out,
            counters: st.counters,
        })
    }

    fn finish_steps(&self, st: &mut EngineState, last: i64, out: &mut Output) -> Result<()> {
        st.fit(&self.reg);
        if let Some(l) = st.open_label {
            stream::close_bucket(st, &self.reg, l);
        }
        let mut batch = StepBatch::default();
        let mut fresh = Output::default();
        stream::eval_range(st, &self.reg, &self.cfg, last, &mut batch, &mut fresh)?;
        flush(
            &mut batch,
            &self.reg,
            &self.cfg.eval(),
            self.cfg.keep,
            i64::MAX,
            &mut fresh,
        );
        out.append(fresh);
        self.cfg.keep.trim(out, i64::MAX);
        Ok(())
    }

    /// Removes and returns the committed steps that are final (at or before the
    /// last trade's bucket, or `end`), for streaming results to storage. A later
    /// [`Engine::result`] holds only what was not drained.
    pub fn drain(&mut self) -> Output {
        match self.final_step() {
            Some(bound) => {
                let out = self.out.take_through(bound);
                self.state
                    .counters
                    .drained_sources
                    .add(&out.source_counts());
                out
            }
            None => Output::default(),
        }
    }

    /// Committed steps currently buffered.
    pub fn buffered_steps(&self) -> usize {
        self.out.stats.len()
    }
}

/// Instruments that traded (or were seeded) and expired at or before `last`:
/// they left the live state within the result and are reported, not lost.
fn expired_by(st: &EngineState, reg: &Registry, last: i64) -> u64 {
    st.inst
        .iter()
        .enumerate()
        .filter(|(id, s)| s.traded && reg.info(*id as u32).inst.expiry_ns <= last)
        .count() as u64
}
