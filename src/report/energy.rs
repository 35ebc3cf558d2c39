//! The energy table: images per joule and joules per epoch beside dollars per epoch, priced per
//! kWh and turned into CO₂ when the user gives the rates, and the slowdowns that held a GPU's
//! clocks down while it trained.

use super::aggregate::{Report, Workload};
use super::format::{NONE, median, num, rate, usd};
use super::rates::{J_PER_KWH, stated};
use super::tables::Table;

/// Per configuration that read any telemetry; `None` when no run did (rows before schema 8).
pub fn table(w: &Workload, report: &Report) -> Option<Table> {
    if w.groups.iter().all(|g| g.energy_source.is_none()) {
        return None;
    }
    let rates = report.energy;
    let mut columns = vec![
        "instance",
        "backend",
        "batch",
        "energy source",
        "images/J",
        "J/epoch",
        "$/epoch",
    ];
    if rates.usd_per_kwh.is_some() {
        columns.push("energy $/epoch");
    }
    if rates.kg_co2_per_kwh.is_some() {
        columns.push("g CO₂e/epoch");
    }
    columns.extend([
        "warm-up J",
        "mean W",
        "max W",
        "SM MHz",
        "max °C",
        "slowdowns",
        "differs by",
    ]);
    let mut t = Table::new(format!("Energy ({})", stated(rates)), &columns);
    for g in w.groups.iter().filter(|g| g.energy_source.is_some()) {
        let per_kwh = |price: f64, f: fn(f64) -> String| {
            median(&g.energy_per_epoch_j, move |j| f(j / J_PER_KWH * price))
        };
        let mut row = vec![
            g.instance.clone(),
            g.backend.clone(),
            g.batch_size.to_string(),
            g.energy_source.clone().unwrap_or_default(),
            median(&g.images_per_j, rate),
            median(&g.energy_per_epoch_j, num),
            median(&g.cost_per_epoch_usd, usd),
        ];
        row.extend(rates.usd_per_kwh.map(|p| per_kwh(p, usd)));
        row.extend(rates.kg_co2_per_kwh.map(|k| per_kwh(k * 1e3, num)));
        row.extend([
            median(&g.warmup_energy_j, num),
            median(&g.power_mean_w, rate),
            median(&g.power_max_w, rate),
            median(&g.clock_sm_mhz, |v| format!("{v:.0}")),
            median(&g.temp_max_c, |v| format!("{v:.0}")),
            match g.slowdowns.as_slice() {
                [] => NONE.into(),
                s => format!("⚠ {}", s.join(", ")),
            },
            g.differs_by().join("; "),
        ]);
        t.rows.push(row);
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::record::{RunRow, SampleRow};
    use crate::report::load::Loaded;
    use crate::report::rates::EnergyRates;

    fn run(backend: &str, source: Option<&str>, jpi: Option<f64>, watts: Option<f64>) -> RunRow {
        RunRow {
            run_id: "r".into(),
            instance: "g5.xlarge".into(),
            backend: backend.into(),
            workload: "keypoints".into(),
            model: "net2".into(),
            batch_size: 32,
            epoch_s_median: Some(36.0),
            cost_per_epoch_usd: Some(0.01),
            energy_source: source.map(str::to_string),
            joules_per_image: jpi,
            power_mean_w: watts,
            throttle_reasons: Some("gpu_idle;sw_power_cap".into()),
            ..RunRow::default()
        }
    }

    #[test]
    fn energy_is_per_image_and_epoch_priced_at_the_rates_given() {
        let loaded = Loaded {
            runs: vec![
                run("cuda", Some("nvml NVIDIA A10G"), Some(0.5), Some(100.0)),
                run("cpu", Some("none: no RAPL counters"), None, None),
                run("wgpu", None, None, None),
            ],
            samples: vec![SampleRow {
                run_id: "r".into(),
                workload: "keypoints".into(),
                backend: "cuda".into(),
                batch_size: 32,
                devices: 1,
                power_w: Some(90.0),
                ..SampleRow::default()
            }],
            ..Loaded::default()
        };
        let mut report = Report::new(&loaded, Path::new("out"), 0.01);
        report.energy = EnergyRates {
            usd_per_kwh: Some(0.2),
            kg_co2_per_kwh: Some(0.5),
        };
        let w = &report.workloads[0];
        let t = table(w, &report).unwrap();
        assert_eq!(
            t.title,
            "Energy (energy at $0.2/kWh from --kwh-price; 0.5 kg CO₂e/kWh from --kg-co2-per-kwh)"
        );
        // The run that read nothing says why; the one from before telemetry is left out.
        assert_eq!(t.rows.len(), 2, "{:?}", t.rows);
        let cuda = t.rows.iter().find(|r| r[1] == "cuda").unwrap();
        let col = |name: &str| t.columns.iter().position(|c| c.0 == name).unwrap();
        // 100 W for a 36 s epoch: 3600 J, 0.001 kWh: $0.0002 and 0.5 g CO₂e.
        assert_eq!(cuda[col("images/J")], "2.00");
        assert_eq!(cuda[col("J/epoch")], "3600.00");
        assert_eq!(cuda[col("energy $/epoch")], "$0.000200");
        assert_eq!(cuda[col("g CO₂e/epoch")], "0.500");
        assert_eq!(cuda[col("slowdowns")], "⚠ sw_power_cap");
        let cpu = t.rows.iter().find(|r| r[1] == "cpu").unwrap();
        assert_eq!(
            (
                cpu[col("energy source")].as_str(),
                cpu[col("images/J")].as_str()
            ),
            ("none: no RAPL counters", NONE)
        );
        let g = w.groups.iter().find(|g| g.backend == "cuda").unwrap();
        assert_eq!(g.power, vec![(0.0, 90.0)]);

        report.energy = EnergyRates::default();
        let t = table(w, &report).unwrap();
        assert!(
            t.title.contains("energy unpriced (--kwh-price)"),
            "{}",
            t.title
        );
        assert!(!t.columns.iter().any(|c| c.0 == "energy $/epoch"));
    }
}
