//! `probe.csv`: one row per kernel, size and device, and the peaks `run` takes from them.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::plan::Kernel;

/// One line of `probe.csv`: one kernel at one size on one device, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `wgpu` or `cuda`.
    pub api: String,
    pub device: String,
    /// `discrete-gpu`, `integrated-gpu`, `virtual-gpu`, `cpu` (a software renderer), `other`.
    pub device_type: String,
    /// Graphics API and driver (wgpu); compute capability, SMs, clocks, memory (cuda).
    pub details: String,
    /// `gemm` or `copy`.
    pub kernel: String,
    /// `n=1024` (an n×n×n GEMM) or `64MiB` (the buffer copied).
    pub size: String,
    pub status: ProbeStatus,
    /// Median over the repeats, in `unit`; empty unless `status` is `ok`.
    pub value: Option<f64>,
    pub unit: String,
    /// `gpu-timestamp` (timestamp queries, CUDA events) or `wall` (around a blocking wait).
    pub timing: String,
    /// The result's largest error against the CPU reference (see [`gemm_error`]).
    pub max_rel_error: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeStatus {
    Ok,
    Failed,
    Unavailable,
}

impl std::fmt::Display for ProbeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProbeStatus::Ok => "ok",
            ProbeStatus::Failed => "failed",
            ProbeStatus::Unavailable => "unavailable",
        })
    }
}

/// One `unavailable` row per kernel, for an API or a device (`device` may be empty) that
/// cannot run here.
pub(crate) fn unavailable(api: &str, device: &str, reason: &str) -> Vec<Row> {
    Kernel::ALL
        .iter()
        .map(|k| Row {
            api: api.into(),
            device: device.into(),
            device_type: String::new(),
            details: String::new(),
            kernel: k.name().into(),
            size: String::new(),
            status: ProbeStatus::Unavailable,
            value: None,
            unit: k.unit().into(),
            timing: String::new(),
            max_rel_error: None,
            reason: reason.into(),
        })
        .collect()
}

/// The best GEMM rate measured through `api`, in TFLOP/s (what `gpubench run` records).
pub fn peak_gemm_tflops(rows: &[Row], api: &str) -> Option<f64> {
    best(rows, api, Kernel::Gemm).map(|v| v / 1e3)
}

/// [`peak_gemm_tflops`], or the reasons no GEMM gave a number (each once).
pub fn gemm_peak(rows: &[Row], api: &str) -> Result<f64, String> {
    peak_gemm_tflops(rows, api).ok_or_else(|| {
        let mut reasons: Vec<&str> = Vec::new();
        for r in rows.iter().filter(|r| r.api == api && r.kernel == "gemm") {
            if !reasons.contains(&r.reason.as_str()) {
                reasons.push(&r.reason);
            }
        }
        match reasons.is_empty() {
            true => format!("no {api} GEMM was measured"),
            false => reasons.join("; "),
        }
    })
}

/// The best copy bandwidth measured through `api`, in GB/s.
pub fn peak_copy_gbs(rows: &[Row], api: &str) -> Option<f64> {
    best(rows, api, Kernel::Copy)
}

fn best(rows: &[Row], api: &str, kernel: Kernel) -> Option<f64> {
    rows.iter()
        .filter(|r| r.api == api && r.kernel == kernel.name() && r.status == ProbeStatus::Ok)
        .filter_map(|r| r.value)
        .reduce(f64::max)
}

/// Writes `rows` as CSV with a header, replacing `path` (`probe.csv`).
pub fn write_csv(rows: &[Row], path: &Path) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    for row in rows {
        w.serialize(row)?;
    }
    w.flush().with_context(|| format!("{}", path.display()))
}

/// A readable line per row, for the terminal.
pub fn render(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            let result = match (r.status, r.value) {
                (ProbeStatus::Ok, Some(v)) => format!(
                    "{v:>10.1} {:<7} ({}, max rel err {:.1e})",
                    r.unit,
                    r.timing,
                    r.max_rel_error.unwrap_or(0.0)
                ),
                (status, _) => format!("{status}: {}", r.reason),
            };
            let device = if r.device.is_empty() { "-" } else { &r.device };
            format!(
                "{:<5} {device:<40} {:<5} {:<8} {result}\n",
                r.api, r.kernel, r.size
            )
        })
        .collect()
}
