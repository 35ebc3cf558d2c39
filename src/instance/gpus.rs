//! GPU models and their spec-sheet peaks (`instances/gpus.toml`), the denominator of `mfu`.

use anyhow::{Context, Result};
use serde::Deserialize;

const FILE: &str = include_str!("../../instances/gpus.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    pub key: String,
    pub name: String,
    pub architecture: Option<String>,
    pub cuda_cc: Option<String>,
    pub fp32_tflops: Option<f64>,
    pub fp16_tensor_tflops: Option<f64>,
    pub bf16_tensor_tflops: Option<f64>,
    pub mem_gib: Option<f64>,
    pub mem_bw_gbs: Option<f64>,
    pub tdp_w: Option<f64>,
    /// Keys whose values the sources leave uncertain.
    #[serde(default)]
    pub unverified: Vec<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    gpu: Vec<Gpu>,
}

pub fn all() -> Result<Vec<Gpu>> {
    Ok(toml::from_str::<File>(FILE)
        .context("catalog file instances/gpus.toml")?
        .gpu)
}

/// The GPU with catalog key `key`.
pub fn find(key: &str) -> Result<Option<Gpu>> {
    Ok(all()?.into_iter().find(|g| g.key == key))
}

impl Gpu {
    /// Whether a device called `device_name` (as its driver names it: `Tesla T4`,
    /// `NVIDIA A100-SXM4-80GB`) is this GPU model: the model part of the key (`T4`, `A100`) is
    /// one of the name's words, so an L40S is no L4 and a T4G no T4.
    pub fn matches(&self, device_name: &str) -> bool {
        let model = self
            .key
            .split('-')
            .next()
            .unwrap_or(&self.key)
            .to_lowercase();
        device_name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word.eq_ignore_ascii_case(&model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_match_their_catalog_gpu_only() {
        let gpu = |key: &str| find(key).unwrap().unwrap();
        assert!(gpu("T4").matches("Tesla T4"));
        assert!(gpu("A100-80GB").matches("NVIDIA A100-SXM4-80GB"));
        assert!(gpu("H100-SXM5-80GB").matches("NVIDIA H100 80GB HBM3"));
        assert!(gpu("A10G").matches("NVIDIA A10G"));
        assert!(!gpu("A10G").matches("Tesla T4"));
        assert!(!gpu("L4").matches("NVIDIA L40S"));
        assert!(!gpu("T4").matches("NVIDIA T4G"));
        assert!(!gpu("T4").matches("llvmpipe (LLVM 15.0.6, 256 bits)"));
    }
}
