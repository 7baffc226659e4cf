//! Interning of instruments and assets.
//!
//! Strings cross the Python boundary once per chunk, as the dictionary of a
//! dictionary-encoded column; each unique name is parsed once here and mapped
//! to a stable `u32` id. Two spellings of the same option (letter case, the
//! four-column form) map to the same id because the key is the parsed
//! instrument, not the text.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::exposure::resolve_multiplier;
use crate::instrument::{parse_name, Instrument, Kind};

/// How one table names its instruments: the unique values of its dictionary.
#[derive(Clone, Debug)]
pub enum InstrumentDict {
    /// Deribit names, parsed once each.
    Names(Vec<String>),
    /// The four-column form; `kind` holds `None` for an unrecognised letter.
    Parts {
        asset: Vec<String>,
        expiry: Vec<i64>,
        strike: Vec<f64>,
        kind: Vec<Option<Kind>>,
    },
}

impl InstrumentDict {
    pub fn len(&self) -> usize {
        match self {
            InstrumentDict::Names(n) => n.len(),
            InstrumentDict::Parts { asset, .. } => asset.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the engine needs to know about an instrument, resolved once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstrumentInfo {
    pub inst: Instrument,
    pub asset: u16,
    pub name: String,
    /// Contract multiplier; resolved when the instrument first needs one.
    pub multiplier: Option<f64>,
}

/// The numbers the hot loops need about an instrument, packed for cache locality.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InstConst {
    pub strike: f64,
    pub expiry_ns: i64,
    /// 0.0 until the multiplier is resolved (only live instruments are evaluated).
    pub multiplier: f64,
    pub asset: u16,
    pub is_call: bool,
}

type InstKey = (u16, Option<String>, i64, u64, Kind);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Registry {
    pub instruments: Vec<InstrumentInfo>,
    pub assets: Vec<String>,
    /// `consts[id]` mirrors `instruments[id]` for the hot loops.
    #[serde(skip)]
    pub consts: Vec<InstConst>,
    #[serde(skip)]
    key_index: FxHashMap<InstKey, u32>,
    #[serde(skip)]
    asset_index: FxHashMap<String, u16>,
    /// Upper-cased name -> id, or the parse error (so bad names are parsed once too).
    #[serde(skip)]
    name_cache: FxHashMap<String, std::result::Result<u32, CoreError>>,
}

impl Registry {
    /// Rebuilds the lookup maps after deserialisation.
    /// Distinct instrument keys (equals the instrument count unless corrupt).
    pub fn key_count(&self) -> usize {
        self.key_index.len()
    }

    pub fn rebuild_indexes(&mut self) {
        self.consts = self.instruments.iter().map(Self::packed).collect();
        self.asset_index = self
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), i as u16))
            .collect();
        self.key_index = self
            .instruments
            .iter()
            .enumerate()
            .map(|(i, info)| (Self::key(info.asset, &info.inst), i as u32))
            .collect();
        self.name_cache.clear();
    }

    fn packed(info: &InstrumentInfo) -> InstConst {
        InstConst {
            strike: info.inst.strike,
            expiry_ns: info.inst.expiry_ns,
            multiplier: info.multiplier.unwrap_or(0.0),
            asset: info.asset,
            is_call: info.inst.kind == Kind::Call,
        }
    }

    fn key(asset: u16, inst: &Instrument) -> InstKey {
        (
            asset,
            inst.quote.clone(),
            inst.expiry_ns,
            inst.strike.to_bits(),
            inst.kind,
        )
    }

    pub fn asset_id(&mut self, name: &str) -> u16 {
        let upper = name.to_ascii_uppercase();
        if let Some(&id) = self.asset_index.get(&upper) {
            return id;
        }
        let id = self.assets.len() as u16;
        self.assets.push(upper.clone());
        self.asset_index.insert(upper, id);
        id
    }

    pub fn find_asset(&self, name: &str) -> Option<u16> {
        self.asset_index.get(&name.to_ascii_uppercase()).copied()
    }

    /// Interns an instrument, returning its id.
    pub fn intern(&mut self, inst: Instrument) -> u32 {
        let asset = self.asset_id(&inst.asset);
        let key = Self::key(asset, &inst);
        if let Some(&id) = self.key_index.get(&key) {
            return id;
        }
        let id = self.instruments.len() as u32;
        let name = inst.name();
        let info = InstrumentInfo {
            inst,
            asset,
            name,
            multiplier: None,
        };
        self.consts.push(Self::packed(&info));
        self.instruments.push(info);
        self.key_index.insert(key, id);
        id
    }

    /// Maps each dictionary entry to an instrument id, or to the reason it is invalid.
    pub fn resolve_dict(
        &mut self,
        dict: &InstrumentDict,
    ) -> Vec<std::result::Result<u32, CoreError>> {
        match dict {
            InstrumentDict::Names(names) => names.iter().map(|n| self.intern_name(n)).collect(),
            InstrumentDict::Parts {
                asset,
                expiry,
                strike,
                kind,
            } => (0..asset.len())
                .map(|i| {
                    let k = kind[i].ok_or_else(|| CoreError::InvalidInstrument {
                        what: format!("asset={:?}, strike={}", asset[i], strike[i]),
                        why: "kind must be C or P".into(),
                    })?;
                    Ok(self.intern(Instrument::from_parts(
                        &asset[i], None, expiry[i], strike[i], k,
                    )?))
                })
                .collect(),
        }
    }

    fn intern_name(&mut self, name: &str) -> std::result::Result<u32, CoreError> {
        if let Some(hit) = self.name_cache.get(name) {
            return hit.clone();
        }
        let resolved = parse_name(name).map(|inst| self.intern(inst));
        self.name_cache.insert(name.to_string(), resolved.clone());
        resolved
    }

    /// The contract multiplier of `id`, resolving and caching it on first use.
    pub fn multiplier(&mut self, id: u32, overrides: &[(String, f64)]) -> Result<f64> {
        let info = &mut self.instruments[id as usize];
        if let Some(m) = info.multiplier {
            return Ok(m);
        }
        let m = resolve_multiplier(overrides, &info.inst.asset, info.inst.quote.as_deref())
            .ok_or_else(|| CoreError::MissingMultiplier {
                asset: info.inst.asset.clone(),
                instrument: info.name.clone(),
            })?;
        info.multiplier = Some(m);
        self.consts[id as usize].multiplier = m;
        Ok(m)
    }

    pub fn info(&self, id: u32) -> &InstrumentInfo {
        &self.instruments[id as usize]
    }

    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_option_share_an_id() {
        let mut reg = Registry::default();
        let ids = reg.resolve_dict(&InstrumentDict::Names(vec![
            "BTC-27DEC24-100000-C".into(),
            "btc-27dec24-100000-c".into(),
            "nonsense".into(),
            "ETH-27DEC24-4000-P".into(),
        ]));
        assert_eq!(ids[0], ids[1]);
        assert!(ids[2].is_err());
        assert_ne!(ids[0].clone().unwrap(), ids[3].clone().unwrap());
        let expiry = ids[0].clone().map(|i| reg.info(i).inst.expiry_ns).unwrap();
        let parts = reg.resolve_dict(&InstrumentDict::Parts {
            asset: vec!["BTC".into()],
            expiry: vec![expiry],
            strike: vec![100000.0],
            kind: vec![Some(Kind::Call)],
        });
        assert_eq!(parts[0], ids[0]);
        assert_eq!(reg.len(), 2);
    }

    #[test]
    fn multipliers_resolve_once_and_missing_ones_say_so() {
        let mut reg = Registry::default();
        let ids = reg.resolve_dict(&InstrumentDict::Names(vec![
            "SOL_USDC-27DEC24-200-C".into(),
            "PAXG_USDC-27DEC24-2600-C".into(),
        ]));
        assert_eq!(reg.multiplier(ids[0].clone().unwrap(), &[]).unwrap(), 10.0);
        let err = reg.multiplier(ids[1].clone().unwrap(), &[]).unwrap_err();
        assert!(err.to_string().contains("PAXG"));
        assert_eq!(
            reg.multiplier(ids[1].clone().unwrap(), &[("PAXG".into(), 1.0)])
                .unwrap(),
            1.0
        );
    }
}
