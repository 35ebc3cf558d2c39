//! `gpubench instances` and `gpubench price`: what the catalog holds.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::error::input;
use crate::instance::catalog;

/// One catalog entry with its GPU's peak, as `instances` prints it.
#[derive(Debug, Serialize)]
struct CatalogRow {
    instance: String,
    provider: String,
    region: Option<String>,
    vcpu: Option<u32>,
    ram_gib: Option<f64>,
    gpu: Option<String>,
    gpu_count: u32,
    gpu_fp32_tflops: Option<f64>,
    gpu_mem_bw_gbs: Option<f64>,
    usd_per_hour: Option<f64>,
    spot_usd_per_hour: Option<f64>,
    price_date: Option<String>,
    source: Option<String>,
    status: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub fn instances(out: &mut impl Write, provider: Option<&str>, format: Format) -> Result<()> {
    let mut rows = Vec::new();
    for i in catalog::all()?
        .into_iter()
        .filter(|i| provider.is_none_or(|p| i.provider == p))
    {
        let gpu = i.gpu_model()?;
        rows.push(CatalogRow {
            gpu: gpu.as_ref().map(|g| g.name.clone()),
            gpu_fp32_tflops: gpu.as_ref().and_then(|g| g.fp32_tflops),
            gpu_mem_bw_gbs: gpu.as_ref().and_then(|g| g.mem_bw_gbs),
            instance: i.name,
            provider: i.provider,
            region: i.region,
            vcpu: i.vcpu,
            ram_gib: i.ram_gib,
            gpu_count: i.gpu_count,
            usd_per_hour: i.price_usd_per_hour,
            spot_usd_per_hour: i.spot_usd_per_hour,
            price_date: i.price_date,
            source: i.source,
            status: i.status,
        });
    }
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            for r in &rows {
                w.serialize(r)?;
            }
            w.flush()?;
        }
        Format::Table => table(out, &rows)?,
    }
    Ok(())
}

fn table(out: &mut impl Write, rows: &[CatalogRow]) -> Result<()> {
    let line = |cells: [&str; 11]| {
        format!(
            "{:<24} {:<8} {:>5} {:>8} {:<32} {:>9} {:>9} {:>9} {:<10} {:<10} {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8],
            cells[9],
            cells[10]
        )
        .trim_end()
        .to_string()
    };
    writeln!(
        out,
        "{}",
        line([
            "instance",
            "provider",
            "vCPUs",
            "mem GiB",
            "GPU × count",
            "fp32 TF/GPU",
            "$/h",
            "spot $/h",
            "date",
            "status",
            "source",
        ])
    )?;
    let num = |v: Option<f64>, prec: usize| v.map_or("-".into(), |p| format!("{p:.prec$}"));
    for r in rows {
        let gpu = r
            .gpu
            .as_ref()
            .map_or("-".into(), |g| format!("{}× {g}", r.gpu_count));
        writeln!(
            out,
            "{}",
            line([
                &r.instance,
                &r.provider,
                &r.vcpu.map_or("-".into(), |v| v.to_string()),
                &num(r.ram_gib, 0),
                &gpu,
                &num(r.gpu_fp32_tflops, 1),
                &num(r.usd_per_hour, 4),
                &num(r.spot_usd_per_hour, 4),
                r.price_date.as_deref().unwrap_or("-"),
                &r.status,
                r.source.as_deref().unwrap_or("-"),
            ])
        )?;
    }
    let used: Vec<(String, String)> = catalog::sources()
        .into_iter()
        .filter(|(code, _)| {
            rows.iter().any(|r| {
                r.source
                    .as_deref()
                    .is_some_and(|s| s.contains(code.as_str()))
            })
        })
        .collect();
    if !used.is_empty() {
        writeln!(out, "\nsources of the hardware facts and prices:")?;
        for (code, what) in used {
            writeln!(out, "  {code:<8} {what}")?;
        }
    }
    writeln!(
        out,
        "fp32 TF/GPU is the vendor's peak per GPU (instances/gpus.toml); spot is a sampled price, \
         not a quote; a retired type stays so old results can be re-priced."
    )?;
    Ok(())
}

/// `gpubench price`: what `seconds` on an instance cost at its catalog (or given) price.
pub fn price(
    out: &mut impl Write,
    instance: &str,
    seconds: f64,
    user: Option<f64>,
    spot: bool,
) -> Result<()> {
    if !(seconds.is_finite() && seconds >= 0.0) {
        return input(format!(
            "--seconds {seconds}: expected a non-negative number"
        ));
    }
    let inst = catalog::lookup(instance)?;
    let Some(p) = inst.price(user, spot)? else {
        return input(format!(
            "{instance} has no price in the catalog; give one with --price USD"
        ));
    };
    let date = p
        .date
        .map(|d| format!(", price of {d}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{instance}: {seconds} s at {} USD/h ({}{date}) = {:.6} USD",
        p.usd_per_hour,
        p.kind,
        p.usd_per_hour * seconds / 3600.0
    )?;
    Ok(())
}
