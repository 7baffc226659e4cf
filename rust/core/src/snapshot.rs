//! Versioned engine snapshots: `FLOWGEX\0`, a little-endian u32 format
//! version, the payload's length (u64) and its XXH3-64 checksum (u64), then the
//! postcard encoding of the whole engine (options, instrument registry, state
//! and buffered results). Floats round-trip bit for bit, so a restored engine
//! continues exactly where the original stopped.
//!
//! Restoring trusts nothing: the checksum catches any flipped bit or cut,
//! postcard refuses malformed encodings, and the decoded engine's invariants
//! (ids in range, lengths that agree, values a live engine could hold) are
//! checked before it is handed out, so any bytes give an engine or
//! [`CoreError::Snapshot`].

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{CoreError, Result};
use crate::replay::Engine;

pub const MAGIC: &[u8; 8] = b"FLOWGEX\0";
/// Bump when the serialised layout changes; older blobs are refused with a clear error.
pub const FORMAT_VERSION: u32 = 3;
const HEADER: usize = 8 + 4 + 8 + 8;

fn corrupt(why: impl std::fmt::Display) -> CoreError {
    CoreError::Snapshot(format!("corrupt payload ({why})"))
}

impl Engine {
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let body = postcard::to_allocvec(self)
            .map_err(|e| CoreError::Snapshot(format!("cannot encode: {e}")))?;
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&xxh3_64(&body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    pub fn restore(blob: &[u8]) -> Result<Engine> {
        if blob.len() < 12 || &blob[..8] != MAGIC {
            return Err(CoreError::Snapshot(
                "not a flowgex engine snapshot (bad magic)".into(),
            ));
        }
        let version = u32::from_le_bytes(blob[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(CoreError::Snapshot(format!(
                "format version {version}, this build reads version {FORMAT_VERSION}"
            )));
        }
        if blob.len() < HEADER {
            return Err(corrupt("truncated header"));
        }
        let len = u64::from_le_bytes(blob[12..20].try_into().expect("8 bytes"));
        let sum = u64::from_le_bytes(blob[20..28].try_into().expect("8 bytes"));
        let body = &blob[HEADER..];
        if body.len() as u64 != len {
            return Err(corrupt(format!(
                "{} payload bytes, the header says {len}",
                body.len()
            )));
        }
        if xxh3_64(body) != sum {
            return Err(corrupt("checksum mismatch"));
        }
        let mut engine: Engine = postcard::from_bytes(body).map_err(corrupt)?;
        engine.cfg = engine.cfg.clone().validated().map_err(corrupt)?;
        engine.reg.rebuild_indexes();
        engine.check_invariants().map_err(corrupt)?;
        Ok(engine)
    }

    /// What a live engine always satisfies; a decoded one must too.
    fn check_invariants(&self) -> std::result::Result<(), String> {
        let (reg, st) = (&self.reg, &self.state);
        let n = reg.instruments.len();
        let ensure = |ok: bool, why: &str| if ok { Ok(()) } else { Err(why.to_string()) };
        ensure(reg.assets.len() <= u16::MAX as usize, "too many assets")?;
        ensure(
            reg.instruments
                .iter()
                .all(|i| (i.asset as usize) < reg.assets.len()),
            "instrument of an unknown asset",
        )?;
        ensure(
            reg.instruments.iter().all(|i| {
                i.multiplier
                    .is_none_or(|m| m > 0.0 && m <= crate::limits::MAX_MULTIPLIER)
                    && i.inst.strike.is_finite()
            }),
            "instrument value out of range",
        )?;
        ensure(reg.key_count() == n, "duplicate instruments")?;
        ensure(
            st.inst.len() <= n && st.assets.len() <= reg.assets.len(),
            "state larger than the registry",
        )?;
        ensure(
            st.inst.iter().all(|s| s.inventory.is_finite()),
            "non-finite inventory",
        )?;
        ensure(
            st.live
                .iter()
                .all(|&id| (id as usize) < st.inst.len() && st.inst[id as usize].traded),
            "live option out of range",
        )?;
        ensure(
            st.live_group.len() == st.live.len(),
            "live groups do not line up",
        )?;
        ensure(
            st.live_group
                .iter()
                .all(|&g| (g as usize) < st.groups.len()),
            "live group out of range",
        )?;
        let mut counts = vec![0u32; st.groups.len()];
        for &g in &st.live_group {
            counts[g as usize] += 1;
        }
        ensure(
            st.groups
                .iter()
                .zip(&counts)
                .all(|(g, &c)| g.count == c && (g.asset as usize) < reg.assets.len()),
            "expiry groups do not match the live options",
        )?;
        ensure(
            st.pending
                .iter()
                .all(|p| (p.inst as usize) < n && p.signed.is_finite()),
            "pending trade out of range",
        )?;
        let ts_max = crate::limits::ts_limit(self.cfg.resolution);
        ensure(
            [st.open_label, st.next_eval, st.last_trade_label]
                .iter()
                .all(|t| t.is_none_or(|t| t < ts_max + 2 * self.cfg.resolution)),
            "grid time out of range",
        )?;
        self.out
            .check_lengths(self.cfg.greeks)
            .map_err(|e| e.to_string())?;
        let na = reg.assets.len() as u16;
        ensure(
            self.out.inventory.inst.iter().all(|&i| (i as usize) < n)
                && self.out.by_strike.asset.iter().all(|&a| a < na)
                && self.out.by_expiry.asset.iter().all(|&a| a < na)
                && self.out.total.asset.iter().all(|&a| a < na),
            "result row of an unknown instrument or asset",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn refuses_foreign_or_corrupt_blobs() {
        assert!(Engine::restore(b"nope").is_err());
        let blob = Engine::new(Config::new(600_000_000_000))
            .unwrap()
            .snapshot()
            .unwrap();
        let mut wrong = blob.clone();
        wrong[8] = 99;
        assert!(Engine::restore(&wrong)
            .unwrap_err()
            .to_string()
            .contains("version 99"));
        assert!(Engine::restore(&blob[..blob.len() - 1]).is_err() || blob.len() == 12);
        assert!(Engine::restore(&blob).is_ok());
    }
}
