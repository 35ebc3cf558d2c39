//! Backends side by side: median images/s per backend on each instance and batch size, and
//! speed ratios. Backends are known only by the names in the rows and by where they ran
//! (`device_kind`), so a backend gpubench adds later gets its column with no change here.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::group::{CACHE, Config, DEVICE, Group, shown};

/// The table of one workload. A ratio above 1 means its numerator is faster.
#[derive(Debug, PartialEq)]
pub struct Backends {
    /// Every backend of the workload: those that ran on a GPU first, each group by name.
    pub names: Vec<String>,
    /// (numerator, denominator) of each GPU-to-GPU ratio: every other backend that ran on a GPU
    /// over the first one.
    pub ratios: Vec<(String, String)>,
    pub rows: Vec<Row>,
}

/// One instance and batch size (and whatever else tells apart runs of them: the data, its
/// options, the price).
#[derive(Debug, PartialEq)]
pub struct Row {
    /// The instance, with the fields that tell this row from others of the same instance.
    pub instance: String,
    pub batch_size: usize,
    /// Median images/s of each of [`Backends::names`]; `None` where it did not finish.
    pub speeds: Vec<Option<f64>>,
    /// One per [`Backends::ratios`].
    pub ratios: Vec<Option<f64>>,
    /// The fastest backend that ran on a GPU over the fastest that ran on the CPU.
    pub gpu_over_cpu: Option<f64>,
}

impl Backends {
    pub fn new(groups: &[Group]) -> Self {
        let on_gpu: BTreeSet<&str> = groups
            .iter()
            .filter(|g| g.on_gpu)
            .map(|g| g.backend.as_str())
            .collect();
        let mut names: Vec<&str> = on_gpu.iter().copied().collect();
        let others: BTreeSet<&str> = groups.iter().map(|g| g.backend.as_str()).collect();
        names.extend(others.difference(&on_gpu));
        let ratios: Vec<(&str, &str)> = match on_gpu.first() {
            Some(first) => on_gpu.iter().skip(1).map(|b| (*b, *first)).collect(),
            None => Vec::new(),
        };
        let mut by: BTreeMap<Config, Vec<&Group>> = BTreeMap::new();
        for g in groups {
            by.entry(g.config.setting()).or_default().push(g);
        }
        let rows = by
            .into_iter()
            .map(|(setting, gs)| {
                let batch_size = setting.batch_size;
                let mut instance = setting.instance.clone();
                let mut parts: Vec<&(&str, String)> = Vec::new();
                for d in gs.iter().flat_map(|g| &g.distinct) {
                    if ![DEVICE, CACHE].contains(&d.0) && !parts.contains(&d) {
                        parts.push(d);
                    }
                }
                for part in parts {
                    instance += &format!(" · {}", shown(part));
                }
                let of = |b: &str| {
                    gs.iter()
                        .filter(|g| g.backend == b)
                        .min_by_key(|g| Reverse(warmth(g)))
                        .and_then(|g| speed(g))
                };
                let fastest = |gpu: bool| {
                    gs.iter()
                        .filter(|g| g.on_gpu == gpu && (gpu || g.on_cpu))
                        .filter_map(|g| speed(g))
                        .max_by(f64::total_cmp)
                };
                Row {
                    instance,
                    batch_size,
                    speeds: names.iter().map(|b| of(b)).collect(),
                    ratios: ratios.iter().map(|(a, b)| ratio(of(a), of(b))).collect(),
                    gpu_over_cpu: ratio(fastest(true), fastest(false)),
                }
            })
            .collect();
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Self {
            names: owned(&names),
            ratios: ratios
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            rows,
        }
    }
}

/// How warm a configuration's compile cache was. A backend that ran with several caches in one
/// setting is shown by its warmest (the first of equals): the steady speed a user gets once
/// the kernels exist. Schema 3 rows said only `warm`.
fn warmth(g: &Group) -> u8 {
    let cache = g.config.details.iter().find(|(f, _)| *f == CACHE);
    match cache.map(|(_, v)| v.as_str()) {
        Some("warm-process") => 3,
        Some("warm-disk" | "warm") => 2,
        Some("cold") => 1,
        _ => 0,
    }
}

fn speed(g: &Group) -> Option<f64> {
    g.images_per_s.map(|s| s.median)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b)
}
