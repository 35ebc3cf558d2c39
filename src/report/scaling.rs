//! Data-parallel scaling: each configuration run on several replicas against the same job on
//! one (same instance, backend, batch size and everything else), and what each GPU costs.

use std::collections::BTreeMap;

use super::aggregate::{Group, Workload};
use super::format::{median, opt, pct, rate, ratio, usd};
use super::group::{Config, DEVICES, SCALING};
use super::tables::Table;

/// One configuration's replicas against its one-replica run.
pub struct Line<'a> {
    pub base: &'a Group,
    /// `weak` or `strong`.
    pub scaling: String,
    /// The one-replica run first, then by replicas.
    pub points: Vec<&'a Group>,
}

impl Line<'_> {
    /// Images/s over the one-replica run's.
    pub fn speedup(&self, g: &Group) -> Option<f64> {
        Some(g.images_per_s?.median / self.base.images_per_s?.median)
    }

    pub fn label(&self) -> String {
        format!(
            "{} · {} · bs{} · {}",
            self.base.instance, self.base.backend, self.base.batch_size, self.scaling
        )
    }
}

/// The configuration without its replicas and scaling: what the runs of one line share.
fn family(c: &Config) -> Config {
    Config {
        details: c
            .details
            .iter()
            .filter(|(f, _)| *f != DEVICES && *f != SCALING)
            .cloned()
            .collect(),
        ..c.clone()
    }
}

/// Every line with a one-replica run and at least one run on more.
pub fn lines(w: &Workload) -> Vec<Line<'_>> {
    let mut families: BTreeMap<Config, Vec<&Group>> = BTreeMap::new();
    for g in &w.groups {
        families.entry(family(&g.config)).or_default().push(g);
    }
    let mut lines = Vec::new();
    for groups in families.values() {
        let Some(base) = groups.iter().find(|g| g.replicas == 1) else {
            continue;
        };
        let mut by_scaling: BTreeMap<String, Vec<&Group>> = BTreeMap::new();
        for g in groups.iter().filter(|g| g.replicas > 1) {
            let scaling = g.config.details.iter().find(|(f, _)| *f == SCALING);
            let scaling = scaling.map_or(String::new(), |(_, s)| s.clone());
            by_scaling.entry(scaling).or_default().push(g);
        }
        for (scaling, mut more) in by_scaling {
            more.sort_by_key(|g| g.replicas);
            lines.push(Line {
                base,
                scaling,
                points: std::iter::once(*base).chain(more).collect(),
            });
        }
    }
    lines
}

/// Devices → images/s, speedup, efficiency (speedup ÷ replicas), the share of training time
/// spent in the all-reduce, and cost per epoch.
pub fn table(w: &Workload) -> Option<Table> {
    let lines = lines(w);
    if lines.is_empty() {
        return None;
    }
    let mut t = Table::new(
        "Scaling over devices and nodes",
        &[
            "configuration",
            "scaling",
            "replicas",
            "devices",
            "nodes",
            "images/s",
            "speedup",
            "efficiency",
            "comm share",
            "$/epoch",
            "GPUs",
        ],
    );
    for line in &lines {
        for g in &line.points {
            let speedup = line.speedup(g);
            let comm = g.comm_s.zip(g.train_s).map(|(c, t)| c.median / t.median);
            t.rows.push(vec![
                line.label(),
                line.scaling.clone(),
                g.replicas.to_string(),
                g.devices.to_string(),
                g.nodes.to_string(),
                median(&g.images_per_s, rate),
                opt(speedup, ratio),
                opt(speedup.map(|s| s / g.replicas as f64), pct),
                opt(comm, pct),
                median(&g.cost_per_epoch_usd, usd),
                g.gpu_use(),
            ]);
        }
    }
    Some(t)
}
