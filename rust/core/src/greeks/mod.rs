//! Black-76 greeks (DESIGN rules 8 and 15).
//!
//! - [`first_order`]: delta, vanna and charm (rule 15), with gamma, in one pass
//!   sharing d₁; the derivations are in its docs. [`first_order_avx512`],
//!   [`first_order_avx2`]: that pass as one vector kernel (gamma by the gamma
//!   kernel's own operations, so bit for bit `gamma_into`'s), chosen at run time;
//!   `first_order`'s auto-vectorised passes are the portable fallback.
//! - [`normal`]: the normal tail through the Mills ratio (shared by all three);
//!   [`block_out`]: the output slices a block writes.
//! - [`gamma`]: the scalar formula, the chunked parallel driver and the run-time
//!   choice of vector kernel; [`gamma_avx2`], [`gamma_avx512`]: that kernel in
//!   intrinsics (bit-identical to each other).
//!
//! The public names of the gamma module are re-exported here, so callers write
//! `greeks::gamma_into` whatever file the kernel lives in.

pub mod block_out;
pub mod first_order;
pub mod first_order_avx2;
pub mod first_order_avx512;
pub mod gamma;
pub mod gamma_avx2;
pub mod gamma_avx512;
pub mod normal;

pub use block_out::GreeksOut;
pub use first_order::{black76_greeks, greeks_into, Greeks};
pub use gamma::{black76_gamma, gamma_block, gamma_into, CHUNK, INV_SQRT_2PI};
pub use normal::norm_cdf;
