//! From rows to what the report shows: configurations (everything that changes a result, see
//! [`Config`]) with their repeats reduced to statistics, ranked by time and by cost, the
//! time-vs-cost Pareto set marked; backend speed ratios; per-epoch curves; the machines.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::backends::Backends;
use super::group::local_host;
pub use super::group::{Config, Group, Measure, Point};
use super::group::{Epochs, Power};
use super::load::{Loaded, Pictures};
use super::rates::EnergyRates;
use super::stats::{Stat, pareto, ranks};
use crate::record::{RunRow, Status};

/// The phases of a run in the order they happen.
pub const PHASES: [(&str, Measure); 6] = [
    ("device init", |r| r.device_init_s),
    ("data", |r| r.data_load_s),
    ("model init", |r| r.model_init_s),
    ("warm-up", |r| r.warmup_s),
    ("train", |r| r.train_s),
    ("eval", |r| r.eval_s),
];

/// Everything the exporters render.
#[derive(Debug)]
pub struct Report {
    pub instances: Vec<Instance>,
    pub workloads: Vec<Workload>,
    /// Runs whose status is not ok, with their reasons: shown, never dropped.
    pub unfinished: Vec<RunRow>,
    pub read: Read,
    /// Where the report is written: pictures are linked relative to it.
    pub out: PathBuf,
    /// A run whose training loss leaves the cpu reference's by more than this is flagged.
    pub parity_tol: f64,
    /// What a kWh costs and emits, where the user said.
    pub energy: EnergyRates,
}

/// What was read, for the report's header.
#[derive(Debug)]
pub struct Read {
    pub files: usize,
    pub runs: usize,
    pub epochs: usize,
    pub duplicates: usize,
    /// Rows left out as torn or malformed (`report` warned of each).
    pub skipped: usize,
    /// The earliest and latest `started_at`.
    pub span: Option<(String, String)>,
    pub versions: Vec<String>,
}

/// One machine, as its latest run described it (and as report.json gives it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub name: String,
    pub provider: Option<String>,
    pub region: Option<String>,
    /// The catalog's GPU for this instance type.
    pub gpu: Option<String>,
    /// Each device that ran, with the backends that used it.
    pub devices: BTreeMap<String, Vec<String>>,
    pub cpu: Option<String>,
    pub cores: Option<usize>,
    pub mem_gib: Option<f64>,
    pub price_usd_per_hour: Option<f64>,
    pub price_kind: Option<String>,
    pub price_date: Option<String>,
}

/// One (workload, model) pair: tables and charts are drawn per workload.
#[derive(Debug)]
pub struct Workload {
    pub workload: String,
    pub model: String,
    pub metric_name: Option<String>,
    /// Sorted fastest first (by median epoch time); configurations without one last.
    pub groups: Vec<Group>,
    /// Every run, finished or not, in group order then by repeat.
    pub runs: Vec<RunRow>,
    /// Backends side by side per instance and batch size.
    pub backends: Backends,
}

impl Workload {
    fn new(runs: Vec<&RunRow>, epochs: &Epochs, power: &Power, pictures: &Pictures) -> Self {
        let mut by_config: BTreeMap<Config, Vec<&RunRow>> = BTreeMap::new();
        for r in &runs {
            by_config.entry(Config::of(r)).or_default().push(r);
        }
        let mut groups: Vec<Group> = by_config
            .values()
            .map(|rs| Group::new(rs, epochs, power, pictures))
            .collect();
        distinguish(&mut groups);
        // Stable: configurations without an epoch time keep their name order, last.
        groups.sort_by(|a, b| match (&a.epoch_s, &b.epoch_s) {
            (Some(x), Some(y)) => x.median.total_cmp(&y.median),
            (x, y) => y.is_some().cmp(&x.is_some()),
        });
        let median = |s: &Option<Stat>| s.map(|s| s.median);
        let times: Vec<_> = groups.iter().map(|g| median(&g.epoch_s)).collect();
        let costs: Vec<_> = groups
            .iter()
            .map(|g| median(&g.cost_per_epoch_usd))
            .collect();
        let points: Vec<_> = times.iter().zip(&costs).map(|(t, c)| t.zip(*c)).collect();
        for (((g, t), c), p) in groups
            .iter_mut()
            .zip(ranks(&times))
            .zip(ranks(&costs))
            .zip(pareto(&points))
        {
            (g.time_rank, g.cost_rank, g.pareto) = (t, c, p);
        }
        let order = |r: &RunRow| {
            let config = Config::of(r);
            let g = groups.iter().position(|g| g.config == config);
            (g, r.repeat, r.run_id.clone())
        };
        let mut runs: Vec<RunRow> = runs.into_iter().cloned().collect();
        runs.sort_by_cached_key(order);
        let first = &runs[0];
        Self {
            workload: first.workload.clone(),
            model: first.model.clone(),
            metric_name: runs.iter().find_map(|r| r.val_metric_name.clone()),
            backends: Backends::new(&groups),
            groups,
            runs,
        }
    }
}

/// Marks in each group the fields that tell it from the other groups of its instance, backend
/// and batch size, so that their names differ and say why.
fn distinguish(groups: &mut [Group]) {
    let configs: Vec<Config> = groups.iter().map(|g| g.config.clone()).collect();
    for g in groups.iter_mut() {
        let c = &g.config;
        let neighbours: Vec<&Config> = configs
            .iter()
            .filter(|o| {
                *o != c
                    && (&o.instance, &o.backend, o.batch_size)
                        == (&c.instance, &c.backend, c.batch_size)
            })
            .collect();
        g.distinct = c
            .details
            .iter()
            .enumerate()
            .filter(|(i, (_, v))| neighbours.iter().any(|o| o.details[*i].1 != *v))
            .map(|(_, d)| d.clone())
            .collect();
    }
}

/// What tells two machines of one name apart: their CPU, and for `local` or a name of the
/// user's, the host id.
type MachineKey<'a> = (&'a str, Option<&'a str>, Option<&'a str>);

fn machine(r: &RunRow) -> MachineKey<'_> {
    (&r.instance, r.cpu_model.as_deref(), local_host(r))
}

fn instance(name: &str, runs: &[&RunRow]) -> Instance {
    // Rows of one instance agree on the machine; the latest is the freshest price.
    let latest = runs
        .iter()
        .max_by(|a, b| a.started_at.cmp(&b.started_at))
        .copied()
        .unwrap_or(runs[0]);
    let mut devices: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in runs {
        if let Some(d) = &r.device_name {
            devices
                .entry(d.clone())
                .or_default()
                .insert(r.backend.clone());
        }
    }
    Instance {
        name: name.to_string(),
        provider: latest.provider.clone(),
        region: latest.region.clone(),
        gpu: runs.iter().find_map(|r| r.instance_gpu.clone()),
        devices: devices
            .into_iter()
            .map(|(d, b)| (d, b.into_iter().collect()))
            .collect(),
        cpu: latest.cpu_model.clone(),
        cores: latest.cpu_cores,
        mem_gib: latest.mem_gib,
        price_usd_per_hour: latest.price_usd_per_hour,
        price_kind: latest.price_kind.clone(),
        price_date: latest.price_date.clone(),
    }
}

impl Report {
    pub fn new(loaded: &Loaded, out: &Path, parity_tol: f64) -> Self {
        let mut epochs: Epochs = HashMap::new();
        for e in &loaded.epochs {
            let k = (
                &*e.run_id,
                &*e.workload,
                &*e.backend,
                e.batch_size,
                e.repeat,
                e.devices,
            );
            epochs.entry(k).or_default().push(e);
        }
        let mut power: Power = HashMap::new();
        for s in &loaded.samples {
            let k = (
                &*s.run_id,
                &*s.workload,
                &*s.backend,
                s.batch_size,
                s.repeat,
                s.devices,
            );
            if let Some(w) = s.power_w {
                power.entry(k).or_default().push((s.t_s, w));
            }
        }
        // The same readings synced twice are drawn once.
        for points in power.values_mut() {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            points.dedup_by(|a, b| a.0 == b.0);
        }
        let mut by_workload: BTreeMap<(&str, &str), Vec<&RunRow>> = BTreeMap::new();
        let mut by_instance: BTreeMap<MachineKey, Vec<&RunRow>> = BTreeMap::new();
        for r in &loaded.runs {
            by_workload
                .entry((&r.workload, &r.model))
                .or_default()
                .push(r);
            by_instance.entry(machine(r)).or_default().push(r);
        }
        let mut workloads: Vec<Workload> = by_workload
            .into_values()
            .map(|runs| Workload::new(runs, &epochs, &power, &loaded.pictures))
            .collect();
        let configs: BTreeSet<String> = workloads
            .iter()
            .flat_map(|w| &w.groups)
            .map(Group::label)
            .collect();
        for g in workloads.iter_mut().flat_map(|w| &mut w.groups) {
            g.colour = configs.iter().position(|c| *c == g.label()).unwrap_or(0);
        }
        let unfinished = workloads
            .iter()
            .flat_map(|w| &w.runs)
            .filter(|r| r.status != Status::Ok)
            .cloned()
            .collect();
        let starts = loaded
            .runs
            .iter()
            .map(|r| &r.started_at)
            .filter(|s| !s.is_empty());
        let versions: BTreeSet<String> = loaded
            .runs
            .iter()
            .map(|r| format!("gpubench {}, burn {}", r.gpubench_version, r.burn_version))
            .collect();
        Self {
            instances: by_instance
                .iter()
                .map(|((n, _, _), rs)| instance(n, rs))
                .collect(),
            workloads,
            unfinished,
            parity_tol,
            energy: EnergyRates::default(),
            read: Read {
                files: loaded.runs_files + loaded.epochs_files,
                runs: loaded.runs.len(),
                epochs: loaded.epochs.len(),
                duplicates: loaded.duplicate_runs + loaded.duplicate_epochs,
                skipped: loaded.skipped.len(),
                span: starts.clone().min().cloned().zip(starts.max().cloned()),
                versions: versions.into_iter().collect(),
            },
            out: out.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::EpochRow;

    fn run(instance: &str, backend: &str, repeat: usize, epoch_s: f64, price: f64) -> RunRow {
        let ips = 100.0 / epoch_s;
        RunRow {
            run_id: format!("{instance}-run"),
            instance: instance.into(),
            backend: backend.into(),
            device_kind: Some(
                if backend == "cpu" {
                    "cpu"
                } else {
                    "discrete-gpu"
                }
                .into(),
            ),
            workload: "keypoints".into(),
            model: "net2".into(),
            batch_size: 32,
            repeat,
            epoch_s_median: Some(epoch_s),
            images_per_s: Some(ips),
            price_usd_per_hour: Some(price),
            cost_per_epoch_usd: Some(price * epoch_s / 3600.0),
            ..RunRow::default()
        }
    }

    #[test]
    fn groups_ratios_and_unfinished_runs() {
        let mut failed = run("a", "wgpu", 2, 1.0, 3600.0);
        failed.status = Status::Failed;
        failed.epoch_s_median = None;
        let loaded = Loaded {
            runs: vec![
                run("a", "cuda", 0, 1.0, 3600.0),
                run("a", "cuda", 1, 4.0, 3600.0),
                run("a", "wgpu", 0, 5.0, 3600.0),
                failed,
                run("a", "cpu", 0, 20.0, 3600.0),
                run("b", "cpu", 0, 10.0, 360.0),
            ],
            epochs: [(1, 0.5), (2, 0.25)]
                .into_iter()
                .flat_map(|(epoch, loss)| {
                    (0..2).map(move |repeat| EpochRow {
                        run_id: "a-run".into(),
                        workload: "keypoints".into(),
                        backend: "cuda".into(),
                        batch_size: 32,
                        repeat,
                        epoch,
                        seconds: 1.0,
                        train_loss: loss * (repeat + 1) as f64,
                        val_metric: None,
                        devices: 1,
                    })
                })
                .collect(),
            runs_files: 2,
            ..Loaded::default()
        };
        let r = Report::new(&loaded, Path::new("."), 0.01);
        assert_eq!(r.instances.len(), 2);
        assert_eq!(r.unfinished.len(), 1);
        let w = &r.workloads[0];
        let labels: Vec<String> = w.groups.iter().map(Group::label).collect();
        assert_eq!(
            labels,
            [
                "a · cuda · bs32",
                "a · wgpu · bs32",
                "b · cpu · bs32",
                "a · cpu · bs32"
            ]
        );
        let cuda = &w.groups[0];
        // At $3600/h an epoch costs as many dollars as it takes seconds.
        assert_eq!(cuda.epoch_s.unwrap().median, 2.5);
        assert_eq!(cuda.cost_per_epoch_usd.unwrap().median, 2.5);
        assert_eq!(
            cuda.curve[1],
            Point {
                epoch: 2,
                train_loss: Some(0.375),
                val_metric: None,
                seconds: Some(1.0),
            }
        );
        let wgpu = &w.groups[1];
        assert_eq!(
            (wgpu.ok(), wgpu.statuses.len(), wgpu.epoch_s.unwrap().n),
            (1, 2, 1)
        );
        // b's cpu: slower than a's wgpu, but ten times cheaper per hour.
        let ranks: Vec<_> = w
            .groups
            .iter()
            .map(|g| (g.time_rank, g.cost_rank, g.pareto))
            .collect();
        assert_eq!(
            ranks,
            [
                (Some(1), Some(2), true),
                (Some(2), Some(3), false),
                (Some(3), Some(1), true),
                (Some(4), Some(4), false),
            ]
        );
        // Median img/s: cuda (100 + 25)/2, wgpu 20, cpu 5; backends by name, GPUs first.
        let b = &w.backends;
        assert_eq!(b.names, ["cuda", "wgpu", "cpu"]);
        assert_eq!(b.ratios, [("wgpu".to_string(), "cuda".to_string())]);
        let a = &b.rows[0];
        assert_eq!(a.instance, "a");
        assert_eq!(a.speeds, [Some(62.5), Some(20.0), Some(5.0)]);
        assert_eq!(a.ratios, [Some(20.0 / 62.5)]);
        assert_eq!(a.gpu_over_cpu, Some(12.5));
        assert_eq!(
            (&b.rows[1].speeds, b.rows[1].gpu_over_cpu),
            (&vec![None, None, Some(10.0)], None)
        );
    }

    /// The rows of `runs`, all of one instance, backend and batch size, as one report.
    fn groups_of(runs: Vec<RunRow>) -> Vec<(String, usize)> {
        let loaded = Loaded {
            runs,
            runs_files: 1,
            ..Loaded::default()
        };
        let r = Report::new(&loaded, Path::new("."), 0.01);
        r.workloads[0]
            .groups
            .iter()
            .map(|g| (g.label(), g.statuses[0].1))
            .collect()
    }

    #[test]
    fn only_rows_equal_in_everything_that_changes_a_result_are_repeats() {
        let base = RunRow {
            provider: Some("local".into()),
            cpu_model: Some("Intel Xeon".into()),
            host_id: Some("aaaaaaaaaaaa".into()),
            ..run("local", "cpu", 0, 1.0, 0.1)
        };
        let again = |repeat| RunRow {
            repeat,
            ..base.clone()
        };
        // Repeats stay one configuration, named as before.
        assert_eq!(
            groups_of(vec![again(0), again(1)]),
            [("local · cpu · bs32".to_string(), 2)]
        );
        // Two machines called local: their CPU (and host) tell them apart.
        let other = RunRow {
            cpu_model: Some("AMD EPYC".into()),
            host_id: Some("bbbbbbbbbbbb".into()),
            ..again(0)
        };
        assert_eq!(
            groups_of(vec![again(0), other]),
            [
                (
                    "local · cpu · bs32 · cpu AMD EPYC · host bbbbbbbbbbbb".to_string(),
                    1
                ),
                (
                    "local · cpu · bs32 · cpu Intel Xeon · host aaaaaaaaaaaa".to_string(),
                    1
                )
            ]
        );
        // Real data masked, and the same file with flipped batches.
        let mask = RunRow {
            dataset: Some("kaggle".into()),
            dataset_sha256: Some("0123".into()),
            missing: Some("mask".into()),
            flip: Some(false),
            ..again(0)
        };
        let flip = RunRow {
            flip: Some(true),
            ..mask.clone()
        };
        let labels: Vec<String> = groups_of(vec![mask, flip])
            .into_iter()
            .map(|g| g.0)
            .collect();
        assert_eq!(
            labels,
            [
                "local · cpu · bs32 · flip off",
                "local · cpu · bs32 · flip on"
            ]
        );
        // On-demand and spot prices of one catalog type: two configurations.
        let on_demand = RunRow {
            price_kind: Some("on-demand".into()),
            price_usd_per_hour: Some(1.006),
            ..run("g5.xlarge", "cpu", 0, 1.0, 1.006)
        };
        let spot = RunRow {
            price_kind: Some("spot".into()),
            price_usd_per_hour: Some(0.451),
            ..on_demand.clone()
        };
        let labels: Vec<String> = groups_of(vec![on_demand, spot])
            .into_iter()
            .map(|g| g.0)
            .collect();
        assert_eq!(
            labels,
            [
                "g5.xlarge · cpu · bs32 · price on-demand $1.006/h",
                "g5.xlarge · cpu · bs32 · price spot $0.451/h"
            ]
        );
        // Two hosts of one catalog type are one configuration: the host id is not asked.
        let host = |id: &str| RunRow {
            provider: Some("aws".into()),
            host_id: Some(id.into()),
            ..run("g5.xlarge", "cpu", 0, 1.0, 1.006)
        };
        assert_eq!(groups_of(vec![host("a"), host("b")]).len(), 1);
    }

    #[test]
    fn cold_and_warm_compile_caches_are_apart_and_backends_compare_the_warmest() {
        let wgpu = |repeat, cache: &str, epoch_s| RunRow {
            compile_cache: Some(cache.into()),
            ..run("a", "wgpu", repeat, epoch_s, 1.0)
        };
        let cpu = RunRow {
            compile_cache: Some("none".into()),
            ..run("a", "cpu", 0, 10.0, 1.0)
        };
        let loaded = Loaded {
            runs: vec![
                wgpu(0, "cold", 4.0),
                wgpu(1, "warm-process", 2.0),
                wgpu(2, "warm-process", 2.0),
                cpu,
            ],
            runs_files: 1,
            ..Loaded::default()
        };
        let r = Report::new(&loaded, Path::new("."), 0.01);
        let w = &r.workloads[0];
        let groups: Vec<(String, usize)> = w
            .groups
            .iter()
            .map(|g| (g.label(), g.statuses[0].1))
            .collect();
        assert_eq!(
            groups,
            [
                ("a · wgpu · bs32 · cache warm-process".to_string(), 2),
                ("a · wgpu · bs32 · cache cold".to_string(), 1),
                ("a · cpu · bs32".to_string(), 1),
            ]
        );
        // One machine, one row: the cache does not name it, and wgpu's speed is its warm one.
        let b = &w.backends;
        assert_eq!(b.rows.len(), 1);
        assert_eq!(b.rows[0].instance, "a");
        assert_eq!(b.rows[0].speeds, [Some(50.0), Some(10.0)]);
    }

    #[test]
    fn a_curve_leaving_the_cpu_reference_is_flagged_and_targets_are_ranked_by_cost() {
        let row = |backend: &str, dev: Option<f64>, cost: Option<f64>| RunRow {
            init_sha256: Some("0123456789abcdef".into()),
            loss_rel_dev: dev,
            target: Some(3.0),
            epochs_to_target: cost.map(|_| 2),
            time_to_target_init_s: cost,
            cost_to_target_usd: cost,
            ..run("a", backend, 0, 1.0, 3600.0)
        };
        let loaded = Loaded {
            runs: vec![
                row("cpu", None, Some(8.0)),
                row("wgpu", Some(0.17), Some(2.0)),
                row("cuda", Some(0.002), None),
            ],
            runs_files: 1,
            ..Loaded::default()
        };
        let r = Report::new(&loaded, Path::new("."), 0.01);
        let w = &r.workloads[0];
        let t = super::super::tables::to_target(w, r.parity_tol);
        let cell = |backend: &str, col: usize| {
            t.rows.iter().find(|row| row[1] == backend).unwrap()[col].clone()
        };
        assert_eq!(
            (cell("wgpu", 4), cell("cuda", 4), cell("cpu", 4)),
            (
                "✗ 1.7e-1".to_string(),
                "2.0e-3".to_string(),
                "–".to_string()
            )
        );
        assert_eq!(
            (cell("cpu", 6), cell("cuda", 6)),
            ("1 of 1".into(), "0 of 1".into())
        );
        assert_eq!(cell("wgpu", 3), "0123456789abcdef");
        // Cheapest to target first; a configuration that never reached it is not ranked.
        let ranking = super::super::tables::ranking(w);
        let cheapest: Vec<&str> = ranking.rows.iter().map(|r| r[7].as_str()).collect();
        assert_eq!(cheapest, ["a · wgpu · bs32", "a · cpu · bs32", ""]);
    }
}
