//! Option instruments: Deribit names, the four-column form, and canonical order.
//!
//! Deribit names are `ASSET[_QUOTE]-DMMMYY-STRIKE-C|P` in any letter case:
//! `BTC-27DEC24-100000-C` (inverse), `XRP_USDC-30JUN23-0d625-C` (linear, `d` is
//! the decimal point), one- or two-digit days. Options expire at 08:00 UTC on
//! the expiry date (DESIGN rule 4). Equity chains (CBOE) have no such names, so
//! an instrument can also be given by its four columns (asset, expiry, strike,
//! kind); both forms produce the same [`Instrument`] and therefore the same key.

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// Hour of day (UTC) at which Deribit options expire.
pub const EXPIRY_HOUR_UTC: u32 = 8;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Call or put.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Call,
    Put,
}

impl Kind {
    /// Parses `C`/`P` (also `call`/`put`), any case.
    pub fn parse(s: &str) -> Option<Kind> {
        match s.to_ascii_uppercase().as_str() {
            "C" | "CALL" => Some(Kind::Call),
            "P" | "PUT" => Some(Kind::Put),
            _ => None,
        }
    }

    pub fn letter(self) -> char {
        match self {
            Kind::Call => 'C',
            Kind::Put => 'P',
        }
    }
}

/// One option series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Underlying asset, upper case (`BTC`, `XRP`, `SPX`).
    pub asset: String,
    /// Settlement/quote currency of linear options (`USDC`), `None` for inverse ones.
    pub quote: Option<String>,
    /// Expiry, nanoseconds since the Unix epoch, UTC.
    pub expiry_ns: i64,
    /// Strike, in quote units; finite and > 0.
    pub strike: f64,
    pub kind: Kind,
}

impl Instrument {
    /// Builds an instrument from the four-column form, validating it.
    pub fn from_parts(
        asset: &str,
        quote: Option<&str>,
        expiry_ns: i64,
        strike: f64,
        kind: Kind,
    ) -> Result<Self> {
        let what = || {
            format!(
                "asset={asset:?}, expiry={}, strike={strike}",
                crate::error::fmt_time(expiry_ns)
            )
        };
        if asset.is_empty() || !asset.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CoreError::InvalidInstrument {
                what: what(),
                why: "asset must be a non-empty alphanumeric symbol".into(),
            });
        }
        if !(strike.is_finite() && strike > 0.0) {
            return Err(CoreError::InvalidInstrument {
                what: what(),
                why: "strike must be finite and > 0".into(),
            });
        }
        if expiry_ns == i64::MIN {
            return Err(CoreError::InvalidInstrument {
                what: what(),
                why: "expiry is missing".into(),
            });
        }
        Ok(Instrument {
            asset: asset.to_ascii_uppercase(),
            quote: quote.map(|q| q.to_ascii_uppercase()),
            expiry_ns,
            strike,
            kind,
        })
    }

    /// Canonical Deribit-style name: `BTC-27DEC24-100000-C`, `XRP_USDC-30JUN23-0d625-C`.
    pub fn name(&self) -> String {
        let date = chrono::DateTime::from_timestamp_nanos(self.expiry_ns).date_naive();
        let month = MONTHS[(chrono::Datelike::month(&date) - 1) as usize];
        let day = chrono::Datelike::day(&date);
        let yy = chrono::Datelike::year(&date).rem_euclid(100);
        let strike = format!("{}", self.strike).replace('.', "d");
        let under = match &self.quote {
            Some(q) => format!("{}_{}", self.asset, q),
            None => self.asset.clone(),
        };
        format!(
            "{under}-{day}{month}{yy:02}-{strike}-{}",
            self.kind.letter()
        )
    }

    /// The canonical order used for every sum over instruments: asset, strike,
    /// expiry, kind (calls first), quote. Sums in this order do not depend on
    /// the order in which instruments arrived, so any chunking of the input
    /// yields bit-identical aggregates.
    pub fn canonical_cmp(&self, other: &Instrument) -> Ordering {
        self.asset
            .cmp(&other.asset)
            .then(self.strike.total_cmp(&other.strike))
            .then(self.expiry_ns.cmp(&other.expiry_ns))
            .then(self.kind.cmp(&other.kind))
            .then(self.quote.cmp(&other.quote))
    }
}

/// Parses a Deribit option name (any case). Errors name the string and the reason.
pub fn parse_name(name: &str) -> Result<Instrument> {
    let fail = |why: &str| CoreError::InstrumentParse {
        name: name.to_string(),
        why: why.to_string(),
    };
    let upper = name.to_ascii_uppercase();
    let parts: Vec<&str> = upper.split('-').collect();
    if parts.len() != 4 {
        return Err(fail(
            "expected 4 dash-separated parts ASSET[_QUOTE]-DMMMYY-STRIKE-C|P",
        ));
    }
    let (under, date, strike, kind) = (parts[0], parts[1], parts[2], parts[3]);

    let (asset, quote) = match under.split_once('_') {
        Some((a, q)) => (a, Some(q)),
        None => (under, None),
    };
    let symbol_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !symbol_ok(asset) || !quote.is_none_or(symbol_ok) {
        return Err(fail(
            "the underlying must be ASSET or ASSET_QUOTE with alphanumeric symbols",
        ));
    }

    let expiry_ns = parse_expiry(date)
        .ok_or_else(|| fail("the expiry must be DMMMYY or DDMMMYY, e.g. 5JUN20 or 27DEC24"))?;
    let strike = parse_strike(strike).ok_or_else(|| fail("the strike must be digits with an optional 'd' decimal point, e.g. 100000 or 0d625, and > 0"))?;
    let kind = match kind {
        "C" => Kind::Call,
        "P" => Kind::Put,
        _ => return Err(fail("the option type must be C or P")),
    };
    Ok(Instrument {
        asset: asset.to_string(),
        quote: quote.map(str::to_string),
        expiry_ns,
        strike,
        kind,
    })
}

/// `27DEC24` -> 2024-12-27T08:00:00Z in ns. Accepts 1- or 2-digit days.
fn parse_expiry(date: &str) -> Option<i64> {
    let bytes = date.as_bytes();
    if !(bytes.len() == 6 || bytes.len() == 7) || !date.is_ascii() {
        return None;
    }
    let day_len = bytes.len() - 5;
    let (day, rest) = date.split_at(day_len);
    let (month, year) = rest.split_at(3);
    if !day.bytes().all(|b| b.is_ascii_digit()) || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let year: i32 = 2000 + year.parse::<i32>().ok()?;
    let at = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(EXPIRY_HOUR_UTC, 0, 0)?;
    at.and_utc().timestamp_nanos_opt()
}

/// `100000` -> 100000.0, `0d625` -> 0.625 (`.` is accepted too).
fn parse_strike(s: &str) -> Option<f64> {
    let normalized = s.replace(['D', 'd'], ".");
    let mut pieces = normalized.split('.');
    let int_part = pieces.next()?;
    let frac_part = pieces.next();
    if pieces.next().is_some()
        || int_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if let Some(f) = frac_part {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let v: f64 = normalized.parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(y: i32, m: u32, d: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[test]
    fn parses_inverse_linear_and_decimal_strikes() {
        let i = parse_name("BTC-27DEC24-100000-C").unwrap();
        assert_eq!(
            (i.asset.as_str(), i.quote.as_deref(), i.strike, i.kind),
            ("BTC", None, 100000.0, Kind::Call)
        );
        assert_eq!(i.expiry_ns, ns(2024, 12, 27));

        let x = parse_name("xrp_usdc-30jun23-0d625-c").unwrap();
        assert_eq!(
            (x.asset.as_str(), x.quote.as_deref(), x.strike),
            ("XRP", Some("USDC"), 0.625)
        );
        assert_eq!(x.expiry_ns, ns(2023, 6, 30));

        let s = parse_name("SOL_USDC-5JUN20-1D5-P").unwrap();
        assert_eq!(
            (s.strike, s.kind, s.expiry_ns),
            (1.5, Kind::Put, ns(2020, 6, 5))
        );
    }

    #[test]
    fn rejects_malformed_names_with_the_string_and_reason() {
        for bad in [
            "",
            "BTC",
            "BTC-27DEC24-100000",
            "BTC-32DEC24-1-C",
            "BTC-29FEB23-1-C",
            "BTC-27DEX24-1-C",
            "BTC-27DEC24-0-C",
            "BTC-27DEC24-d5-C",
            "BTC-27DEC24-1d-C",
            "BTC-27DEC24-1-X",
            "BTC-PERPETUAL",
            "-27DEC24-1-C",
            "BTC_-27DEC24-1-C",
            "BTC-127DEC24-1-C",
            "BTC-27DEC24-1d2d3-C",
        ] {
            let err = parse_name(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
        assert!(parse_name("BTC-29FEB24-1-C").is_ok(), "2024 is a leap year");
    }

    #[test]
    fn canonical_name_round_trips() {
        for name in [
            "BTC-27DEC24-100000-C",
            "XRP_USDC-30JUN23-0d625-C",
            "ETH-5JUN20-250-P",
        ] {
            assert_eq!(parse_name(name).unwrap().name(), name);
        }
    }

    #[test]
    fn four_column_form_equals_parsed_name() {
        let parsed = parse_name("btc-27dec24-100000-c").unwrap();
        let built =
            Instrument::from_parts("btc", None, ns(2024, 12, 27), 100000.0, Kind::Call).unwrap();
        assert_eq!(parsed, built);
        assert!(Instrument::from_parts("SPX", None, 0, -1.0, Kind::Put).is_err());
        assert!(Instrument::from_parts("", None, 0, 1.0, Kind::Put).is_err());
    }
}
