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
