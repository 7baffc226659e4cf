//! Versioned engine snapshots: `FLOWGEX\0`, a little-endian u32 format
//! version, then the postcard encoding of the whole engine (options, instrument
//! registry, state and buffered results). Floats round-trip bit for bit, so a
//! restored engine continues exactly where the original stopped.

use crate::error::{CoreError, Result};
use crate::replay::Engine;

pub const MAGIC: &[u8; 8] = b"FLOWGEX\0";
/// Bump when the serialised layout changes; older blobs are refused with a clear error.
pub const FORMAT_VERSION: u32 = 1;

impl Engine {
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let body = postcard::to_allocvec(self)
            .map_err(|e| CoreError::Snapshot(format!("cannot encode: {e}")))?;
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
        let mut engine: Engine = postcard::from_bytes(&blob[12..])
            .map_err(|e| CoreError::Snapshot(format!("corrupt payload: {e}")))?;
        engine.reg.rebuild_indexes();
        Ok(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::Config;

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
