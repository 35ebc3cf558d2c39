//! `report.json`: the report's aggregated figures as numbers, for scripts and dashboards. Its
//! shape is versioned ([`VERSION`]) and described by `schema/report-v1.json`; a field whose value
//! was not measured is `null`, never 0. Adding a field keeps the version; renaming, removing or
//! changing the meaning of one bumps it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::Exporter;
use super::aggregate::{Group, Instance, Report};
use super::stats::Stat;

pub const VERSION: u32 = 1;

pub struct Json;

impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "report.json"
    }

    fn render(&self, r: &Report) -> Result<String> {
        Ok(serde_json::to_string_pretty(&Doc::of(r))? + "\n")
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    /// Always `gpubench-report`.
    pub format: String,
    pub version: u32,
    pub provenance: Provenance,
    pub instances: Vec<Instance>,
    pub workloads: Vec<Workload>,
    /// Runs that did not end ok, with their reasons.
    pub unfinished: Vec<Unfinished>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The gpubench that wrote this file.
    pub report_by: String,
    /// What the runs were made with, each value once.
    pub gpubench_versions: Vec<String>,
    pub git_shas: Vec<String>,
    pub burn_versions: Vec<String>,
    /// `backend: driver` as each run recorded it.
    pub drivers: Vec<String>,
    pub runs: usize,
    pub epoch_rows: usize,
    pub files: usize,
    pub duplicates_dropped: usize,
    pub bad_rows_skipped: usize,
    /// The earliest and latest `started_at`.
    pub started: Option<(String, String)>,
    pub usd_per_kwh: Option<f64>,
    pub kg_co2_per_kwh: Option<f64>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub workload: String,
    pub model: String,
    pub metric_name: Option<String>,
    /// Fastest first, as in the Results table.
    pub configurations: Vec<Configuration>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configuration {
    /// The name tables and charts give it.
    pub label: String,
    pub instance: String,
    pub backend: String,
    pub batch_size: usize,
    /// Everything else that tells configurations apart (device, data, epochs, price, ...).
    pub details: BTreeMap<String, String>,
    pub replicas: usize,
    pub gpus_used: Option<usize>,
    pub gpu_count: Option<usize>,
    pub on_gpu: bool,
    /// Runs per status (`ok`, `failed`, ...).
    pub statuses: BTreeMap<String, usize>,
    pub time_rank: Option<usize>,
    pub cost_rank: Option<usize>,
    pub pareto: bool,
    pub target: Option<f64>,
    pub reached_target: usize,
    pub slowdowns: Vec<String>,
    /// Each measure over the repeats (median, min, max, sample CV, n); a measure no run
    /// recorded is absent.
    pub stats: BTreeMap<String, Stat>,
    /// Per epoch, the medians over repeats.
    pub curve: Vec<Epoch>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epoch {
    pub epoch: usize,
    pub train_loss: Option<f64>,
    pub val_metric: Option<f64>,
    pub seconds: Option<f64>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unfinished {
    pub run_id: String,
    pub instance: String,
    pub workload: String,
    pub backend: String,
    pub batch_size: usize,
    pub status: String,
    pub error: Option<String>,
}

/// The measures of a configuration under their JSON names (the runs.csv column they come from).
fn measures(g: &Group) -> [(&'static str, Option<Stat>); 20] {
    [
        ("init_s", g.init_s),
        ("warmup_s", g.warmup_s),
        ("train_s", g.train_s),
        ("comm_s", g.comm_s),
        ("epoch_s", g.epoch_s),
        ("images_per_s", g.images_per_s),
        ("price_usd_per_hour", g.price_usd_per_hour),
        ("cost_per_epoch_usd", g.cost_per_epoch_usd),
        ("cost_usd", g.cost_usd),
        ("mfu", g.mfu),
        ("mfu_measured", g.mfu_measured),
        ("val_metric", g.metric),
        ("loss_rel_dev", g.loss_rel_dev),
        ("time_to_target_s", g.time_to_target_s),
        ("cost_to_target_usd", g.cost_to_target_usd),
        ("images_per_j", g.images_per_j),
        ("energy_per_epoch_j", g.energy_per_epoch_j),
        ("power_mean_w", g.power_mean_w),
        ("power_max_w", g.power_max_w),
        ("temp_max_c", g.temp_max_c),
    ]
}

impl Doc {
    pub fn of(r: &Report) -> Self {
        let runs = || r.workloads.iter().flat_map(|w| &w.runs);
        let each = |f: &dyn Fn(&crate::record::RunRow) -> Option<String>| -> Vec<String> {
            runs().filter_map(f).collect::<BTreeSet<_>>().into_iter().collect()
        };
        Self {
            format: "gpubench-report".into(),
            version: VERSION,
            provenance: Provenance {
                report_by: format!("gpubench {}", env!("CARGO_PKG_VERSION")),
                gpubench_versions: each(&|x| Some(x.gpubench_version.clone())),
                git_shas: each(&|x| x.git_sha.clone()),
                burn_versions: each(&|x| Some(x.burn_version.clone())),
                drivers: each(&|x| x.driver.as_ref().map(|d| format!("{}: {d}", x.backend))),
                runs: r.read.runs,
                epoch_rows: r.read.epochs,
                files: r.read.files,
                duplicates_dropped: r.read.duplicates,
                bad_rows_skipped: r.read.skipped,
                started: r.read.span.clone(),
                usd_per_kwh: r.energy.usd_per_kwh,
                kg_co2_per_kwh: r.energy.kg_co2_per_kwh,
            },
            instances: r.instances.clone(),
            workloads: r
                .workloads
                .iter()
                .map(|w| Workload {
                    workload: w.workload.clone(),
                    model: w.model.clone(),
                    metric_name: w.metric_name.clone(),
                    configurations: w.groups.iter().map(configuration).collect(),
                })
                .collect(),
            unfinished: r
                .unfinished
                .iter()
                .map(|u| Unfinished {
                    run_id: u.run_id.clone(),
                    instance: u.instance.clone(),
                    workload: u.workload.clone(),
                    backend: u.backend.clone(),
                    batch_size: u.batch_size,
                    status: u.status.as_str().into(),
                    error: u.error.clone(),
                })
                .collect(),
        }
    }
}

fn configuration(g: &Group) -> Configuration {
    Configuration {
        label: g.label(),
        instance: g.instance.clone(),
        backend: g.backend.clone(),
        batch_size: g.batch_size,
        details: g
            .config
            .details
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        replicas: g.replicas,
        gpus_used: g.gpus_used,
        gpu_count: g.gpu_count,
        on_gpu: g.on_gpu,
        statuses: g
            .statuses
            .iter()
            .map(|(s, n)| (s.as_str().to_string(), *n))
            .collect(),
        time_rank: g.time_rank,
        cost_rank: g.cost_rank,
        pareto: g.pareto,
        target: g.target,
        reached_target: g.reached,
        slowdowns: g.slowdowns.clone(),
        stats: measures(g)
            .into_iter()
            .filter_map(|(k, s)| Some((k.to_string(), s?)))
            .collect(),
        curve: g
            .curve
            .iter()
            .map(|p| Epoch {
                epoch: p.epoch,
                train_loss: p.train_loss,
                val_metric: p.val_metric,
                seconds: p.seconds,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RunRow, Status};
    use crate::report::Loaded;

    fn run(backend: &str, repeat: usize, epoch_s: f64) -> RunRow {
        RunRow {
            run_id: "r".into(),
            status: Status::Ok,
            instance: "g5.xlarge".into(),
            backend: backend.into(),
            driver: Some("580.65".into()),
            workload: "keypoints".into(),
            model: "net2".into(),
            batch_size: 32,
            repeat,
            epoch_s_median: Some(epoch_s),
            gpubench_version: "0.1.0".into(),
            burn_version: "0.21.0".into(),
            ..RunRow::default()
        }
    }

    #[test]
    fn the_document_round_trips_and_leaves_unmeasured_figures_out() {
        let loaded = Loaded {
            runs: vec![run("cuda", 0, 1.0), run("cuda", 1, 3.0), run("cpu", 0, 9.0)],
            ..Loaded::default()
        };
        let report = Report::new(&loaded, std::path::Path::new("out"), 0.01);
        let text = Json.render(&report).unwrap();
        let doc: Doc = serde_json::from_str(&text).unwrap();
        assert_eq!(doc, Doc::of(&report));
        assert_eq!(serde_json::to_string_pretty(&doc).unwrap() + "\n", text);

        let cuda = &doc.workloads[0].configurations[0];
        assert_eq!(cuda.backend, "cuda");
        let epoch = cuda.stats["epoch_s"];
        assert_eq!((epoch.median, epoch.min, epoch.max, epoch.n), (2.0, 1.0, 3.0, 2));
        assert!(!cuda.stats.contains_key("images_per_s"), "never measured, so absent");
        assert_eq!(doc.provenance.drivers, ["cpu: 580.65", "cuda: 580.65"]);
        assert_eq!(doc.provenance.burn_versions, ["0.21.0"]);
    }
}
