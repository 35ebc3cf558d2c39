//! Which kernels the cpu backend's layers and Adam run on: gpubench's own (the default) or
//! burn's plain Flex ops (`--cpu-ops burn`), which is what the own kernels are measured against
//! and what the parity test checks them with. Set once per process, before training.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The kernels behind the cpu backend's [`crate::ops::LayerOps`] and [`crate::ops::AdamStep`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CpuOps {
    /// gpubench's own kernels.
    #[default]
    Gpubench,
    /// burn's Flex ops, one per term.
    Burn,
}

impl CpuOps {
    /// The `layer_ops` column's value.
    pub fn name(self) -> &'static str {
        match self {
            CpuOps::Gpubench => "gpubench",
            CpuOps::Burn => "burn",
        }
    }
}

static BURN_OPS: AtomicBool = AtomicBool::new(false);
/// f32 bits of the factor the own convolution's output is scaled by; 0 for none.
static PERTURB: AtomicU32 = AtomicU32::new(0);

pub fn set_cpu_ops(ops: CpuOps) {
    BURN_OPS.store(ops == CpuOps::Burn, Ordering::Relaxed);
}

pub fn cpu_ops() -> CpuOps {
    if BURN_OPS.load(Ordering::Relaxed) {
        CpuOps::Burn
    } else {
        CpuOps::Gpubench
    }
}

/// For the parity test alone: scales the own convolution block's output by `1 + by`, a
/// deliberate numerics bug the test must catch. `0.0` turns it off.
#[doc(hidden)]
pub fn perturb_own_conv(by: f32) {
    let factor = if by == 0.0 { 0 } else { (1.0 + by).to_bits() };
    PERTURB.store(factor, Ordering::Relaxed);
}

/// The factor set by [`perturb_own_conv`], if any.
pub(super) fn perturbation() -> Option<f32> {
    let bits = PERTURB.load(Ordering::Relaxed);
    (bits != 0).then(|| f32::from_bits(bits))
}
