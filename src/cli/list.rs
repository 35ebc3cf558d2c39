//! `gpubench probe` and `gpubench instances`: what this machine has, and what the catalog holds.

use std::io::Write;

use anyhow::Result;

use crate::backend;
use crate::instance::catalog;
use crate::instance::host::Host;

pub fn probe(out: &mut impl Write) -> Result<()> {
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
    Ok(())
}

pub fn instances(out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{:<14} {:<8} {:<34} {:>9} {:>8} {:<10} status",
        "instance", "provider", "gpu", "usd/h", "spot", "price_date"
    )?;
    let money = |v: Option<f64>| v.map_or("-".into(), |p| format!("{p:.4}"));
    for i in catalog::all()? {
        writeln!(
            out,
            "{:<14} {:<8} {:<34} {:>9} {:>8} {:<10} {}",
            i.name,
            i.provider,
            i.gpu_summary().unwrap_or_else(|| "-".into()),
            money(i.price_usd_per_hour),
            money(i.spot_usd_per_hour),
            i.price_date.as_deref().unwrap_or("-"),
            i.status
        )?;
    }
    Ok(())
}
