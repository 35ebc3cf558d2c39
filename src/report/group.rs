//! One configuration (instance × backend × batch size) over its repeats: the statistics of the
//! runs that finished, and per-epoch curves joined from `epochs.csv`.

use std::collections::{BTreeMap, HashMap};

use super::stats::Stat;
use crate::record::{EpochRow, RunRow, Status};

/// How one measure is read from a row.
pub type Measure = fn(&RunRow) -> Option<f64>;

/// One configuration: instance × backend × batch size, over its repeats. Statistics are of
/// the runs with status ok only.
#[derive(Debug, Default)]
pub struct Group {
    pub instance: String,
    pub backend: String,
    pub batch_size: usize,
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
    /// 1 = fastest epoch / cheapest epoch; ties share a rank.
    pub time_rank: Option<usize>,
    pub cost_rank: Option<usize>,
    /// No other configuration has an epoch both as fast or faster and as cheap or cheaper
    /// (and is better in one of the two).
    pub pareto: bool,
    /// Per epoch, the median over repeats of training loss and validation metric.
    pub curve: Vec<Point>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub epoch: usize,
    pub train_loss: Option<f64>,
    pub val_metric: Option<f64>,
}

impl Group {
    /// How the configuration is named in tables and charts.
    pub fn label(&self) -> String {
        format!(
            "{} · {} · bs{}",
            self.instance, self.backend, self.batch_size
        )
    }

    pub fn ok(&self) -> usize {
        self.statuses
            .iter()
            .filter(|(s, _)| *s == Status::Ok)
            .map(|(_, n)| n)
            .sum()
    }

    pub(super) fn new(runs: &[&RunRow], epochs: &Epochs) -> Self {
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
        Self {
            instance: first.instance.clone(),
            backend: first.backend.clone(),
            batch_size: first.batch_size,
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
            curve: curve(ok.iter().filter_map(|r| epochs.get(&key(r)))),
            ..Self::default()
        }
    }
}

/// What joins an epoch row to its run: (run_id, workload, backend, batch_size, repeat).
pub(super) type RunKey<'a> = (&'a str, &'a str, &'a str, usize, usize);

pub(super) type Epochs<'a> = HashMap<RunKey<'a>, Vec<&'a EpochRow>>;

fn key(r: &RunRow) -> RunKey<'_> {
    (&r.run_id, &r.workload, &r.backend, r.batch_size, r.repeat)
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
        })
        .collect()
}
