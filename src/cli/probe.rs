//! `gpubench probe`: the backends this machine can run, and what its devices measure.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::backend;
use crate::instance::gpus;
use crate::instance::host::Host;
use crate::peak;
use crate::telemetry;

pub fn probe(out: &mut impl Write, dir: Option<&Path>) -> Result<()> {
    let host = Host::read();
    writeln!(
        out,
        "host: {} | {} ({} logical cores) | {:.1} GiB",
        host.os.as_deref().unwrap_or("unknown OS"),
        host.cpu_model,
        host.cpu_cores,
        host.mem_gib
    )?;
    writeln!(
        out,
        "{:<7} {:<12} {:<40} {:<13} driver",
        "backend", "status", "device", "kind"
    )?;
    for be in backend::ALL {
        match backend::probe(*be) {
            Ok(d) => writeln!(
                out,
                "{:<7} {:<12} {:<40} {:<13} {}",
                be.name(),
                "available",
                d.name,
                d.kind,
                d.driver.as_deref().unwrap_or("-")
            )?,
            Err(why) => writeln!(out, "{:<7} {:<12} {why}", be.name(), "unavailable")?,
        }
    }
    writeln!(
        out,
        "\ntelemetry (power and energy per phase, read by `run`):"
    )?;
    for be in backend::ALL {
        writeln!(
            out,
            "{:<7} {}",
            be.name(),
            telemetry::offer(&be.telemetry(1))
        )?;
    }
    eprintln!("measuring GEMM and copy on every device (each result checked against the CPU)...");
    let rows = peak::measure_all();
    writeln!(out, "\n{}", peak::render(&rows).trim_end())?;
    spec_peaks(out, &rows)?;
    if let Some(dir) = dir {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("probe.csv");
        peak::write_csv(&rows, &path)?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

/// The catalog's FP32 peak next to each GPU's best measured GEMM, where the catalog knows it.
fn spec_peaks(out: &mut impl Write, rows: &[peak::Row]) -> Result<()> {
    let catalog = gpus::all()?;
    let mut devices: Vec<&str> = rows.iter().map(|r| r.device.as_str()).collect();
    // Once each, in the order measured: a device's wgpu and cuda rows are not adjacent.
    let mut seen = std::collections::HashSet::new();
    devices.retain(|d| seen.insert(*d));
    for device in devices {
        let Some((gpu, peak)) = catalog
            .iter()
            .find(|g| same_gpu(&g.name, device))
            .and_then(|g| Some((g, g.fp32_tflops?)))
        else {
            continue;
        };
        let best = rows
            .iter()
            .filter(|m| m.device == device && m.kernel == "gemm")
            .filter_map(|m| m.value)
            .reduce(f64::max);
        let measured = best.map_or("no correct GEMM".into(), |v| {
            format!("GEMM reached {:.0} % of it", v / 1e3 / peak * 100.0)
        });
        writeln!(
            out,
            "{device}: spec peak {peak} TFLOPS FP32 ({}); {measured}",
            gpu.name
        )?;
    }
    Ok(())
}

/// Whether a driver's device name (`Tesla T4`, `NVIDIA A10G`) is the catalog's GPU.
fn same_gpu(catalog: &str, device: &str) -> bool {
    let norm = |s: &str| {
        s.to_lowercase()
            .replace("nvidia ", "")
            .replace("tesla ", "")
    };
    let (c, d) = (norm(catalog), norm(device));
    !d.is_empty() && (d.contains(&c) || c.contains(&d))
}

#[cfg(test)]
mod tests {
    #[test]
    fn driver_names_match_catalog_names() {
        assert!(super::same_gpu("NVIDIA Tesla T4", "Tesla T4"));
        assert!(super::same_gpu("NVIDIA A10G", "NVIDIA A10G"));
        assert!(super::same_gpu("NVIDIA H100", "NVIDIA H100 80GB HBM3"));
        assert!(!super::same_gpu(
            "NVIDIA A10G",
            "llvmpipe (LLVM 15.0.6, 256 bits)"
        ));
        assert!(!super::same_gpu("NVIDIA A100", ""));
    }
}
