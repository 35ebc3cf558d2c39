//! `gpubench compare`: a candidate's runs against a baseline's, configuration by configuration.
//!
//! A configuration is a place (instance, backend, device, workload, batch size, replicas, and
//! the compile cache the run found, since `init_s` holds the warm-up) and the work measured
//! there (model, dataset hash); its figure is the median over its ok repeats.
//! A change counts when it exceeds both `--threshold` and the repeats' noise, bounded as twice
//! the larger coefficient of variation of the two sides (about two standard deviations); with a
//! single run on either side only the threshold applies. Rank tests cannot help at the usual 3
//! repeats (Mann–Whitney's smallest two-sided p is then 0.1), so the bound is CV-based. Where
//! the two sides measured different work in one place, the pair is refused, not compared.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use thiserror::Error;

use super::format::{pct, sig};
use super::stats::Stat;
use super::{load, write_atomic};
use crate::error::input;
use crate::record::{RunRow, Status};

/// The figure compared; lower is better for all but images/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Metric {
    EpochS,
    ImagesPerS,
    InitS,
    CostPerEpochUsd,
    TimeToTargetS,
}

impl Metric {
    fn of(self, r: &RunRow) -> Option<f64> {
        match self {
            Self::EpochS => r.epoch_s_median,
            Self::ImagesPerS => r.images_per_s,
            Self::InitS => r.init_s,
            Self::CostPerEpochUsd => r.cost_per_epoch_usd,
            Self::TimeToTargetS => r.time_to_target_s,
        }
    }

    /// Its `--metric` name.
    fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map_or_else(String::new, |v| v.get_name().to_string())
    }
}

#[derive(Debug, clap::Args)]
pub struct CompareOptions {
    /// The runs before the change: a runs.csv, or a directory searched recursively; repeatable
    #[arg(long, value_name = "DIR_OR_CSV", required = true)]
    pub baseline: Vec<PathBuf>,
    /// The runs after it, likewise.
    #[arg(long, value_name = "DIR_OR_CSV", required = true)]
    pub candidate: Vec<PathBuf>,
    /// The figure compared (its median over repeats).
    #[arg(long, value_enum, default_value = "epoch_s")]
    pub metric: Metric,
    /// The smallest relative change that counts, as a percentage (`5%`) or a fraction.
    #[arg(long, default_value = "5%", value_parser = percentage)]
    pub threshold: f64,
    /// Exit with code 1 when any configuration regressed.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Also write the table to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `5%` or `0.05`, as the fraction 0.05.
fn percentage(s: &str) -> Result<f64, String> {
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => s.parse::<f64>(),
    };
    match v {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a percentage (5%) or a fraction (0.05) of at least 0"
        )),
    }
}

/// Some configuration got worse by more than the threshold and the noise.
#[derive(Debug, Error)]
#[error("{0} regressed beyond the threshold and the repeats' noise (--fail-on-regression)")]
pub struct Regressed(pub String);

/// Where and how big: (instance, backend, device, workload, batch size, replicas, compile
/// cache). A cold warm-up compiles every kernel, so cold and warm runs are not compared.
type Place = (String, String, String, String, usize, usize, String);
/// What was measured there: (model, dataset sha256). Only equal work is compared.
type Work = (String, String);
/// Each place's work, with the figure over its ok repeats.
type Side = BTreeMap<Place, BTreeMap<Work, Option<Stat>>>;

fn side(runs: &[RunRow], metric: Metric) -> Side {
    let mut by: BTreeMap<Place, BTreeMap<Work, Vec<f64>>> = BTreeMap::new();
    for r in runs {
        let place = (
            r.instance.clone(),
            r.backend.clone(),
            r.device_name.clone().unwrap_or_default(),
            r.workload.clone(),
            r.batch_size,
            r.devices.unwrap_or(1) * r.nodes.unwrap_or(1),
            r.compile_cache.clone().unwrap_or_default(),
        );
        let work = (
            r.model.clone(),
            r.dataset_sha256.clone().unwrap_or_default(),
        );
        let values = by.entry(place).or_default().entry(work).or_default();
        if let Some(v) = metric.of(r).filter(|_| r.status == Status::Ok) {
            values.push(v);
        }
    }
    by.into_iter()
        .map(|(p, works)| {
            let stats = works.into_iter().map(|(w, v)| (w, Stat::of(v))).collect();
            (p, stats)
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Regression,
    Improvement,
    WithinNoise,
    Unchanged,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Self::Regression => "**regression**",
            Self::Improvement => "improvement",
            Self::WithinNoise => "within noise",
            Self::Unchanged => "unchanged",
        }
    }
}

/// The verdict on `b` → `c` and the noise bound used (None without repeats on both sides).
fn judge(metric: Metric, b: &Stat, c: &Stat, threshold: f64) -> (Verdict, Option<f64>) {
    let change = c.median / b.median - 1.0;
    let noise = b.cv.zip(c.cv).map(|(x, y)| 2.0 * x.max(y));
    let worse = if metric == Metric::ImagesPerS {
        change < 0.0
    } else {
        change > 0.0
    };
    let verdict = if change.abs() <= threshold {
        Verdict::Unchanged
    } else if noise.is_some_and(|n| change.abs() <= n) {
        Verdict::WithinNoise
    } else if worse {
        Verdict::Regression
    } else {
        Verdict::Improvement
    };
    (verdict, noise)
}

fn label(p: &Place, w: &Work) -> String {
    let (instance, backend, device, workload, batch, replicas, cache) = p;
    let mut s = format!("{workload} {} · {instance} · {backend} · bs{batch}", w.0);
    if !device.is_empty() {
        s += &format!(" · {device}");
    }
    if *replicas > 1 {
        s += &format!(" · ×{replicas}");
    }
    // `none` (nothing compiles) tells nothing apart.
    if !cache.is_empty() && cache != "none" {
        s += &format!(" · cache {cache}");
    }
    s.replace('|', "\\|")
}

fn figure(s: &Stat) -> String {
    let n = if s.n > 1 {
        format!(" (n={}, CV {})", s.n, s.cv.map_or("–".into(), pct))
    } else {
        String::new()
    };
    format!("{}{n}", sig(s.median, 4))
}

/// Why work `b` of the baseline is not compared with work `c` the candidate measured in its
/// place.
fn refusal(b: &Work, c: &Work) -> String {
    if b.0 != c.0 {
        format!("refused: model {} vs {}", b.0, c.0)
    } else {
        let short = |h: &str| match h {
            "" => "none".to_string(),
            h => h.chars().take(12).collect(),
        };
        format!("refused: dataset sha256 {} vs {}", short(&b.1), short(&c.1))
    }
}

pub fn compare(opts: &CompareOptions, out: &mut impl Write) -> Result<()> {
    let base = side(&load(&opts.baseline)?.runs, opts.metric);
    let cand = side(&load(&opts.candidate)?.runs, opts.metric);
    let m = opts.metric.name();
    let mut s = format!(
        "| configuration | baseline {m} | candidate {m} | ratio | noise bound | verdict |\n\
         |---|---:|---:|---:|---:|---|\n"
    );
    let mut compared = 0;
    let mut regressed = Vec::new();
    let none = BTreeMap::new();
    let places: BTreeSet<&Place> = base.keys().chain(cand.keys()).collect();
    for place in places {
        let (b, c) = (
            base.get(place).unwrap_or(&none),
            cand.get(place).unwrap_or(&none),
        );
        // The candidate's work that the baseline did not measure here, and the reverse.
        let c_other: Vec<&Work> = c.keys().filter(|w| !b.contains_key(*w)).collect();
        let works: BTreeSet<&Work> = b.keys().chain(c.keys()).collect();
        for work in works {
            let cell =
                |st: Option<&Option<Stat>>| st.and_then(|x| x.as_ref()).map_or("–".into(), figure);
            let (bs, cs) = (b.get(work), c.get(work));
            let (shown_c, ratio, noise, verdict) = match (bs, cs) {
                (Some(Some(x)), Some(Some(y))) => {
                    let (v, bound) = judge(opts.metric, x, y, opts.threshold);
                    if v == Verdict::Regression {
                        regressed.push(label(place, work));
                    }
                    compared += 1;
                    let ratio = format!("{}×", sig(y.median / x.median, 4));
                    (
                        cs,
                        ratio,
                        bound.map_or("no repeats".into(), pct),
                        v.text().to_string(),
                    )
                }
                (Some(_), Some(_)) => (
                    cs,
                    String::new(),
                    String::new(),
                    format!("no {m} on one side"),
                ),
                (Some(_), None) => match c_other.first() {
                    Some(other) => (
                        c.get(*other),
                        String::new(),
                        String::new(),
                        refusal(work, other),
                    ),
                    None => (None, String::new(), String::new(), "baseline only".into()),
                },
                // Work the baseline measured otherwise here was refused on its own row.
                (None, _) if b.keys().any(|w| !c.contains_key(w)) => continue,
                (None, _) => (cs, String::new(), String::new(), "candidate only".into()),
            };
            writeln!(
                s,
                "| {} | {} | {} | {ratio} | {noise} | {verdict} |",
                label(place, work),
                cell(bs),
                cell(shown_c)
            )?;
        }
    }
    writeln!(
        s,
        "\nThreshold {}; noise bound: twice the larger CV of the two sides' repeats, where both \
         have repeats. {compared} compared, {} regressed.",
        pct(opts.threshold),
        regressed.len()
    )?;
    out.write_all(s.as_bytes())?;
    if let Some(path) = &opts.out {
        write_atomic(path, s.as_bytes())?;
        writeln!(out, "wrote {}", path.display())?;
    }
    if compared == 0 {
        return input(
            "nothing to compare: no configuration has the metric on both sides with the same model and data",
        );
    }
    if opts.fail_on_regression && !regressed.is_empty() {
        return Err(Regressed(regressed.join("; ")).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(v: &[f64]) -> Stat {
        Stat::of(v.iter().copied()).unwrap()
    }

    #[test]
    fn a_change_counts_beyond_both_the_threshold_and_the_noise() {
        let base = stat(&[1.0, 1.01, 0.99]);
        let (v, noise) = judge(Metric::EpochS, &base, &stat(&[1.2, 1.21, 1.19]), 0.05);
        assert_eq!(v, Verdict::Regression);
        assert_eq!(noise.map(|n| (n * 1e4).round()), Some(200.0)); // 2 × CV 1 %
        let (v, _) = judge(Metric::EpochS, &base, &stat(&[0.8, 0.81, 0.79]), 0.05);
        assert_eq!(v, Verdict::Improvement);
        let (v, _) = judge(Metric::EpochS, &base, &stat(&[1.03, 1.04, 1.02]), 0.05);
        assert_eq!(v, Verdict::Unchanged);
        // +8 % against a spread of CV 10 %: beyond the threshold, within the noise.
        let noisy = stat(&[2.0, 2.2, 1.8]);
        let (v, _) = judge(Metric::EpochS, &noisy, &stat(&[2.16, 2.38, 1.94]), 0.05);
        assert_eq!(v, Verdict::WithinNoise);
    }

    #[test]
    fn fewer_images_per_second_is_the_regression_and_one_run_uses_the_threshold_only() {
        let (v, noise) = judge(Metric::ImagesPerS, &stat(&[100.0]), &stat(&[80.0]), 0.05);
        assert_eq!((v, noise), (Verdict::Regression, None));
        let (v, _) = judge(Metric::ImagesPerS, &stat(&[100.0]), &stat(&[120.0]), 0.05);
        assert_eq!(v, Verdict::Improvement);
    }
}
