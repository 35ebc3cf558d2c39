//! Host-side datasets: what a workload trains on, whatever format it was read from. Nothing
//! here touches burn, so readers can be tested and benchmarked on their own.

use std::fmt::Display;
use std::path::Path;

use crate::error::InputError;

/// `UNIT[p]` is pixel value `p` scaled to [0, 1]; every reader uses it, so equal bytes give
/// equal floats whatever the format.
pub static UNIT: [f32; 256] = {
    let mut t = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as f32 / 255.0;
        i += 1;
    }
    t
};

/// The exit-code-2 error for a file or directory that cannot be opened or listed.
pub(super) fn unreadable(path: &Path, e: impl Display) -> anyhow::Error {
    InputError(format!("{}: cannot read: {e}", path.display())).into()
}

/// Images and targets held in host memory, laid out for direct upload in batches.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `n × C × H × W` pixels scaled to [0, 1].
    pub x: Vec<f32>,
    /// `n × target_len` targets (normalised coordinates, or a class index as f32).
    pub y: Vec<f32>,
    /// `n × target_len`: 1 where the target is present, 0 where it is missing.
    pub mask: Vec<f32>,
    /// What the data is: `synthetic`, or a real source (`kaggle`, `crops`, `yolo`).
    pub kind: &'static str,
    /// Inputs left out because they could not be read (`--skip-bad`).
    pub skipped: usize,
}

impl Dataset {
    pub fn len(&self, target_len: usize) -> usize {
        self.y.len() / target_len
    }

    /// First 16 hex digits of the SHA-256 of the pixels, targets and mask, so two rows can be
    /// checked to have trained on the same bytes.
    pub fn sha256_prefix(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [&self.x, &self.y, &self.mask] {
            for v in part.iter() {
                h.update(v.to_le_bytes());
            }
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
