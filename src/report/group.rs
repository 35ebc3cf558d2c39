//! One configuration over its repeats: the statistics of the runs that finished, and per-epoch
//! curves joined from `epochs.csv`. A configuration is everything that changes a result, so
//! only rows equal in all of it are repeats.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::load::{Pictures, run_id};
use super::stats::Stat;
use crate::record::{EpochRow, RunRow, Status};

/// How one measure is read from a row.
pub type Measure = fn(&RunRow) -> Option<f64>;

/// Everything that changes a result. Rows of one workload and model equal in all of it are
/// repeats; any other difference makes another configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Config {
    pub instance: String,
    pub backend: String,
    pub batch_size: usize,
    /// The rest as (field, value), always the same fields in the same order: the hardware
    /// that ran, the data and its options, the epochs, and the price charged.
    pub details: Vec<(&'static str, String)>,
}

/// The host id of a `local` or user-named machine: two machines of one such name are told apart
/// by it, while two instances of one catalog type are the same machine.
pub fn local_host(r: &RunRow) -> Option<&str> {
    (r.provider.as_deref() == Some("local"))
        .then_some(r.host_id.as_deref())
        .flatten()
}

/// The field of [`Config::details`] that names the device: it differs between backends of one
/// machine by nature, so comparing backends leaves it out.
pub const DEVICE: &str = "device";
/// The field that names whose kernels the layers ran on, which differs between backends too.
pub const OPS: &str = "ops";
/// The fields of a data-parallel run: replicas (`2`, or `2×2 nodes`) and weak or strong
/// scaling (empty for one replica, where the two are the same).
pub const DEVICES: &str = "devices";
pub const SCALING: &str = "scaling";
/// The compile cache a run found (`cold`, `warm-disk`, `warm-process`; `none` where nothing
/// compiles): a cold warm-up is minutes where a warm one is seconds, so they are not repeats.
/// Backends differ in it by nature, like the device.
pub const CACHE: &str = "cache";

impl Config {
    pub fn of(r: &RunRow) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let host = local_host(r).unwrap_or_default().to_string();
        let price = match (&r.price_kind, r.price_usd_per_hour) {
            (Some(kind), Some(p)) => format!("{kind} ${p}/h"),
            (None, Some(p)) => format!("${p}/h"),
            _ => "none".into(),
        };
        let (devices, nodes) = (r.devices.unwrap_or(1), r.nodes.unwrap_or(1));
        let replicas = match nodes {
            1 => devices.to_string(),
            n => format!("{devices}×{n} nodes"),
        };
        let scaling = match devices * nodes {
            1 => String::new(),
            _ => text(&r.scaling),
        };
        let flip = match r.flip {
            Some(true) => "on",
            Some(false) => "off",
            None => "",
        };
        Self {
            instance: r.instance.clone(),
            backend: r.backend.clone(),
            batch_size: r.batch_size,
            details: vec![
                (DEVICE, text(&r.device_name)),
                ("cpu", text(&r.cpu_model)),
                ("host", host),
                ("data", text(&r.dataset)),
                ("dataset", text(&r.dataset_sha256)),
                ("missing", text(&r.missing)),
                ("flip", flip.into()),
                (OPS, text(&r.layer_ops)),
                (CACHE, text(&r.compile_cache)),
                ("epochs", r.epochs.to_string()),
                (DEVICES, replicas),
                (SCALING, scaling),
                (
                    "target",
                    r.target.map(|t| t.to_string()).unwrap_or_default(),
                ),
                ("price", price),
            ],
        }
    }

    /// The configuration without its backend, device, kernels and compile cache: what the
    /// backends of one machine share when they ran the same job.
    pub fn setting(&self) -> Self {
        Self {
            backend: String::new(),
            details: self
                .details
                .iter()
                .filter(|(f, _)| ![DEVICE, OPS, CACHE].contains(f))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// One configuration over its repeats. Statistics are of the runs with status ok only.
#[derive(Debug, Default)]
pub struct Group {
    pub config: Config,
    /// The fields of [`Config::details`] in which this configuration differs from another of
    /// the same instance, backend and batch size: what its name adds to tell them apart.
    pub distinct: Vec<(&'static str, String)>,
    pub instance: String,
    pub backend: String,
    pub batch_size: usize,
    /// Replicas per node, nodes, and their product.
    pub devices: usize,
    pub nodes: usize,
    pub replicas: usize,
    /// GPUs the runs trained on, and GPUs the instance bills for (the catalog's count).
    pub gpus_used: Option<usize>,
    pub gpu_count: Option<usize>,
    pub train_s: Option<Stat>,
    pub comm_s: Option<Stat>,
    /// Whether the backend ran on a GPU (wgpu on a software rasteriser does not).
    pub on_gpu: bool,
    /// Whether it ran on the CPU (the cpu backend, or wgpu on a software rasteriser).
    pub on_cpu: bool,
    /// The configuration's place among all of the report's: its colour in every chart.
    pub colour: usize,
    /// How many runs ended in each status.
    pub statuses: Vec<(Status, usize)>,
    pub init_s: Option<Stat>,
    pub warmup_s: Option<Stat>,
    pub epoch_s: Option<Stat>,
    pub images_per_s: Option<Stat>,
    pub price_usd_per_hour: Option<Stat>,
    pub cost_per_epoch_usd: Option<Stat>,
    pub cost_usd: Option<Stat>,
    pub mfu: Option<Stat>,
    pub mfu_measured: Option<Stat>,
    pub metric: Option<Stat>,
    /// Over all runs (finished or stopped): how far the training loss left the cpu
    /// reference's, and the initial weights' hashes seen.
    pub loss_rel_dev: Option<Stat>,
    pub init_sha256: Vec<String>,
    /// The target trained to, and of the finished runs, how many reached it; the statistics
    /// of those that did.
    pub target: Option<f64>,
    pub reached: usize,
    pub epochs_to_target: Option<Stat>,
    pub time_to_target_s: Option<Stat>,
    pub time_to_target_init_s: Option<Stat>,
    pub cost_to_target_usd: Option<Stat>,
    /// Telemetry (schema 8), over the finished runs: what read it (the latest run's
    /// `energy_source`), images per steady joule, joules per steady epoch (mean steady power
    /// times the epoch time), the warm-up step's joules, mean and largest power, SM clock,
    /// hottest device, and the slowdowns (power cap, thermal, hardware) any run's training saw.
    pub energy_source: Option<String>,
    pub images_per_j: Option<Stat>,
    pub energy_per_epoch_j: Option<Stat>,
    pub warmup_energy_j: Option<Stat>,
    pub power_mean_w: Option<Stat>,
    pub power_max_w: Option<Stat>,
    pub clock_sm_mhz: Option<Stat>,
    pub temp_max_c: Option<Stat>,
    pub slowdowns: Vec<String>,
    /// The latest finished run's power over its timeline, where its readings were kept.
    pub power: Vec<(f64, f64)>,
    /// 1 = fastest epoch / cheapest epoch; ties share a rank.
    pub time_rank: Option<usize>,
    pub cost_rank: Option<usize>,
    /// No other configuration has an epoch both as fast or faster and as cheap or cheaper
    /// (and is better in one of the two).
    pub pareto: bool,
    /// Per epoch, the median over repeats of training loss and validation metric.
    pub curve: Vec<Point>,
    /// The last finished run's confusion counts: per true class, its name and the counts
    /// predicted as each class.
    pub confusion: Option<Vec<(String, Vec<u64>)>>,
    /// The last finished run's picture, as a path readable from here.
    pub picture: Option<PathBuf>,
}

/// The reasons in `throttle_reasons` that slow a GPU down, as opposed to NVML's idle and
/// clock-setting reasons: power caps and brakes, thermal and hardware slowdowns.
fn slowdowns(runs: &[&RunRow]) -> Vec<String> {
    let mut seen: Vec<String> = runs
        .iter()
        .filter_map(|r| r.throttle_reasons.as_deref())
        .flat_map(|s| s.split(';'))
        .filter(|n| n.ends_with("slowdown") || n.ends_with("power_cap"))
        .map(str::to_string)
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub epoch: usize,
    pub train_loss: Option<f64>,
    pub val_metric: Option<f64>,
    /// Median training seconds of the epoch.
    pub seconds: Option<f64>,
}

impl Group {
    /// How the configuration is named in tables and charts.
    pub fn label(&self) -> String {
        let mut label = format!(
            "{} · {} · bs{}",
            self.instance, self.backend, self.batch_size
        );
        for part in self.differs_by() {
            label += &format!(" · {part}");
        }
        label
    }

    /// `field value` for each field that tells this configuration from its neighbours.
    pub fn differs_by(&self) -> Vec<String> {
        self.distinct.iter().map(shown).collect()
    }

    /// `uses 1 of 8 GPUs ⚠` where the runs used fewer GPUs than the instance bills for.
    pub fn gpu_use(&self) -> String {
        match (self.gpus_used, self.gpu_count) {
            (Some(used), Some(count)) if used < count => {
                let cpu = if used == 0 {
                    " (trained on the CPU)"
                } else {
                    ""
                };
                format!("uses {used} of {count} GPUs{cpu} ⚠")
            }
            (Some(used), Some(count)) => format!("uses {used} of {count}"),
            (Some(used), None) => format!("uses {used}"),
            _ => super::format::NONE.into(),
        }
    }

    /// The hourly price over the GPUs the instance bills for.
    pub fn per_gpu_hour(&self) -> Option<f64> {
        match (self.price_usd_per_hour, self.gpu_count) {
            (Some(p), Some(n)) if n > 0 => Some(p.median / n as f64),
            _ => None,
        }
    }

    pub fn ok(&self) -> usize {
        self.statuses
            .iter()
            .filter(|(s, _)| *s == Status::Ok)
            .map(|(_, n)| n)
            .sum()
    }

    pub(super) fn new(
        runs: &[&RunRow],
        epochs: &Epochs,
        power: &Power,
        pictures: &Pictures,
    ) -> Self {
        let first = runs[0];
        let ok: Vec<&RunRow> = runs
            .iter()
            .copied()
            .filter(|r| r.status == Status::Ok)
            .collect();
        let stat = |f: Measure| Stat::of(ok.iter().filter_map(|r| f(r)));
        let mut statuses: Vec<(Status, usize)> = Vec::new();
        for r in runs {
            match statuses.iter_mut().find(|(s, _)| *s == r.status) {
                Some((_, n)) => *n += 1,
                None => statuses.push((r.status, 1)),
            }
        }
        let last = ok.iter().max_by(|a, b| a.started_at.cmp(&b.started_at));
        Self {
            config: Config::of(first),
            instance: first.instance.clone(),
            backend: first.backend.clone(),
            batch_size: first.batch_size,
            devices: first.devices.unwrap_or(1),
            nodes: first.nodes.unwrap_or(1),
            replicas: first.devices.unwrap_or(1) * first.nodes.unwrap_or(1),
            gpus_used: runs.iter().find_map(|r| r.gpus_used),
            gpu_count: runs.iter().find_map(|r| r.gpu_count),
            train_s: stat(|r| r.train_s),
            comm_s: stat(|r| r.comm_s),
            on_gpu: runs
                .iter()
                .any(|r| r.device_kind.as_deref().is_some_and(|k| k.ends_with("gpu"))),
            on_cpu: runs.iter().any(|r| r.device_kind.as_deref() == Some("cpu")),
            statuses,
            init_s: stat(|r| r.init_s),
            warmup_s: stat(|r| r.warmup_s),
            epoch_s: stat(|r| r.epoch_s_median),
            images_per_s: stat(|r| r.images_per_s),
            price_usd_per_hour: stat(|r| r.price_usd_per_hour),
            cost_per_epoch_usd: stat(|r| r.cost_per_epoch_usd),
            cost_usd: stat(|r| r.cost_usd),
            mfu: stat(|r| r.mfu),
            mfu_measured: stat(|r| r.mfu_measured),
            metric: stat(|r| r.val_metric),
            loss_rel_dev: Stat::of(runs.iter().filter_map(|r| r.loss_rel_dev)),
            init_sha256: {
                let mut seen: Vec<String> =
                    runs.iter().filter_map(|r| r.init_sha256.clone()).collect();
                seen.sort();
                seen.dedup();
                seen
            },
            target: first.target,
            reached: ok.iter().filter(|r| r.epochs_to_target.is_some()).count(),
            epochs_to_target: stat(|r| r.epochs_to_target.map(|e| e as f64)),
            time_to_target_s: stat(|r| r.time_to_target_s),
            time_to_target_init_s: stat(|r| r.time_to_target_init_s),
            cost_to_target_usd: stat(|r| r.cost_to_target_usd),
            energy_source: last.and_then(|r| r.energy_source.clone()),
            images_per_j: stat(|r| r.joules_per_image.filter(|j| *j > 0.0).map(|j| 1.0 / j)),
            energy_per_epoch_j: stat(|r| Some(r.power_mean_w? * r.epoch_s_median?)),
            warmup_energy_j: stat(|r| r.warmup_energy_j),
            power_mean_w: stat(|r| r.power_mean_w),
            power_max_w: stat(|r| r.power_max_w),
            clock_sm_mhz: stat(|r| r.clock_sm_mhz_mean),
            temp_max_c: stat(|r| r.temp_max_c),
            slowdowns: slowdowns(&ok),
            power: ok
                .iter()
                .filter_map(|r| Some((r.started_at.as_str(), power.get(&key(r))?)))
                .max_by(|a, b| a.0.cmp(b.0))
                .map(|(_, p)| p.clone())
                .unwrap_or_default(),
            curve: curve(ok.iter().filter_map(|r| epochs.get(&key(r)))),
            confusion: last.and_then(|r| parse_confusion(r.val_confusion.as_deref()?)),
            picture: ok
                .iter()
                .filter(|r| pictures.contains_key(&run_id(r)))
                .max_by(|a, b| a.started_at.cmp(&b.started_at))
                .and_then(|r| pictures.get(&run_id(r)).cloned()),
            ..Self::default()
        }
    }
}

/// One field of [`Config::details`] as a name shows it: `missing drop`, `host –` when empty.
pub fn shown((field, value): &(&'static str, String)) -> String {
    match (*field, value.as_str()) {
        (_, "") => format!("{field} –"),
        // Eight hex digits tell datasets apart; the column has all sixteen.
        ("dataset", v) => format!("{field} {}", &v[..v.len().min(8)]),
        (_, v) => format!("{field} {v}"),
    }
}

/// `val_confusion` (`noface: 40 3; face: 5 52`) as (true class, counts per predicted class);
/// `None` for a value that is not square.
pub fn parse_confusion(text: &str) -> Option<Vec<(String, Vec<u64>)>> {
    let rows: Vec<(String, Vec<u64>)> = text
        .split(';')
        .map(|row| {
            let (name, counts) = row.split_once(':')?;
            let counts: Option<Vec<u64>> =
                counts.split_whitespace().map(|n| n.parse().ok()).collect();
            Some((name.trim().to_string(), counts?))
        })
        .collect::<Option<_>>()?;
    rows.iter()
        .all(|(_, c)| c.len() == rows.len())
        .then_some(rows)
        .filter(|r| !r.is_empty())
}

/// What joins an epoch row to its run: (run_id, workload, backend, batch_size, repeat).
pub(super) type RunKey<'a> = (&'a str, &'a str, &'a str, usize, usize, usize);

pub(super) type Epochs<'a> = HashMap<RunKey<'a>, Vec<&'a EpochRow>>;

/// Each run's power readings (`samples.csv`): (seconds since the run began, watts).
pub(super) type Power<'a> = HashMap<RunKey<'a>, Vec<(f64, f64)>>;

fn key(r: &RunRow) -> RunKey<'_> {
    (
        &r.run_id,
        &r.workload,
        &r.backend,
        r.batch_size,
        r.repeat,
        r.devices.unwrap_or(1),
    )
}

/// The per-epoch median over the given runs' epochs.
fn curve<'a>(runs: impl Iterator<Item = &'a Vec<&'a EpochRow>>) -> Vec<Point> {
    let mut by_epoch: BTreeMap<usize, Vec<&EpochRow>> = BTreeMap::new();
    for e in runs.flatten() {
        by_epoch.entry(e.epoch).or_default().push(e);
    }
    by_epoch
        .into_iter()
        .map(|(epoch, es)| Point {
            epoch,
            train_loss: Stat::of(es.iter().map(|e| e.train_loss)).map(|s| s.median),
            val_metric: Stat::of(es.iter().filter_map(|e| e.val_metric)).map(|s| s.median),
            seconds: Stat::of(es.iter().map(|e| e.seconds)).map(|s| s.median),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_counts_read_back_and_odd_ones_are_left_out() {
        assert_eq!(
            parse_confusion("noface: 40 3; face: 5 52"),
            Some(vec![
                ("noface".to_string(), vec![40, 3]),
                ("face".to_string(), vec![5, 52])
            ])
        );
        assert_eq!(parse_confusion("a: 1 2"), None);
        assert_eq!(parse_confusion("a: x"), None);
        assert_eq!(parse_confusion(""), None);
    }
}
