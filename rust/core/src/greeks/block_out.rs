//! Where a block of the greeks kernels writes: one optional output slice per greek,
//! shared by the scalar driver (`first_order`) and the vector kernels.

/// Where a block writes: each greek that was asked for, else `None`.
#[derive(Default)]
pub struct GreeksOut<'a> {
    pub gamma: Option<&'a mut [f64]>,
    pub delta: Option<&'a mut [f64]>,
    pub vanna: Option<&'a mut [f64]>,
    pub charm: Option<&'a mut [f64]>,
}

impl GreeksOut<'_> {
    /// The rows of the first greek asked for (all have the same length).
    pub(crate) fn rows(&self) -> Option<usize> {
        [&self.gamma, &self.delta, &self.vanna, &self.charm]
            .into_iter()
            .flatten()
            .map(|o| o.len())
            .next()
    }
}
