//! flowgex-core: taker-flow gamma exposure (GEX) for crypto options.
//!
//! Pure Rust, no Python: the binding crate (`rust/py`) only converts arrays and
//! maps errors. The definitions implemented here are those of DESIGN.md
//! section 1; the module names follow the architecture of section 3:
//!
//! - [`instrument`], [`registry`]: names and ids of option series;
//! - [`grid`]: buckets and grid times; [`greeks`]: Black-76 gamma, delta, vanna, charm (vectorised with [`fastmath`]);
//!   [`exposure`]: GEX units and contract multipliers;
//! - [`batch`], [`validate`]: input columns, bad-row reasons, sorting, de-duplication;
//! - [`state`], [`replay`], [`stream`], [`dedupe`]: the streaming engine; [`evaluate`]: per-step gamma,
//!   GEX and aggregates; [`output`]: result buffers; [`snapshot`]: versioned bytes;
//! - [`point`]: one-time evaluation of a given book (classic GEX);
//! - [`profile`], [`sweep`]: GEX versus hypothetical spot and the gamma flip;
//! - [`parallel`]: the named rayon pool.

pub mod batch;
pub mod book;
pub mod budget;
pub mod config;
pub mod dedupe;
pub mod error;
pub mod evaluate;
pub mod exposure;
pub mod fastmath;
pub mod greeks;
pub mod grid;
pub mod instrument;
pub mod limits;
pub mod output;
pub mod parallel;
pub mod point;
pub mod profile;
pub mod registry;
pub mod rejects;
pub mod replay;
pub mod shard;
pub mod snapshot;
pub mod state;
pub mod stream;
pub mod sweep;
pub mod validate;

pub use error::{CoreError, Result};
pub use replay::{Config, Engine, ResultData, UpdateReport};
