//! Charts of many series: time against cost, each run's phase timeline, per-epoch curves.

use anyhow::Result;
use plotters::prelude::*;

use super::bars::{bar, bar_axes, beside, log_range};
use super::*;
use crate::record::{RunRow, Status};
use crate::report::aggregate::{Group, PHASES, Point};

/// Epoch time against cost per epoch, one point per configuration, with the Pareto front.
pub(super) fn scatter(w: &Workload) -> Result<Option<String>> {
    let points: Vec<(&Group, f64, f64)> = w
        .groups
        .iter()
        .filter_map(|g| Some((g, g.epoch_s?.median, g.cost_per_epoch_usd?.median)))
        .filter(|p| p.1 > 0.0 && p.2 > 0.0)
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    let mut front: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.0.pareto)
        .map(|p| (p.1, p.2))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    // A staircase: the edge of the region the front dominates.
    let stairs = front
        .windows(2)
        .flat_map(|p| [p[0], (p[1].0, p[0].1)])
        .chain(front.last().copied());
    let entries: Vec<(String, RGBColor)> = points
        .iter()
        .map(|p| (p.0.label(), colour(p.0.colour)))
        .collect();
    let x = log_range(points.iter().map(|p| p.1));
    let y = log_range(points.iter().map(|p| p.2));
    svg(legend_height(entries.len()).max(520), |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(96)
            .build_cartesian_2d(x.log_scale(), y.log_scale())?;
        chart
            .configure_mesh()
            .x_desc("steady epoch time (s)")
            .y_desc("cost per epoch (USD)")
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| usd_tick(*v))
            .label_style(text_style(15))
            .axis_desc_style(text_style(16))
            .light_line_style(LIGHT)
            .draw()?;
        chart.draw_series(LineSeries::new(stairs, BLACK.mix(0.6).stroke_width(2)))?;
        for &(g, t, c) in &points {
            chart.draw_series([Circle::new((t, c), 7, colour(g.colour).filled())])?;
            if g.pareto {
                chart.draw_series([Circle::new((t, c), 11, BLACK.stroke_width(2))])?;
            }
        }
        legend(&side, &entries)
    })
    .map(Some)
}

/// The names of runs in the timeline; the run id tells apart runs of one configuration and
/// repeat made by different `gpubench run` invocations.
pub(super) fn run_labels(runs: &[&RunRow]) -> Vec<String> {
    let names: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{} · {} · bs{} · r{}",
                r.instance, r.backend, r.batch_size, r.repeat
            )
        })
        .collect();
    runs.iter()
        .zip(&names)
        .map(|(r, name)| {
            let mut label = name.clone();
            if names.iter().filter(|n| *n == name).count() > 1 {
                label += &format!(" · {}", r.run_id.rsplit('-').next().unwrap_or(&r.run_id));
            }
            if r.status != Status::Ok {
                label += &format!(" ({})", r.status.as_str());
            }
            label
        })
        .collect()
}

/// One stacked bar of phases per run: a timeline of each worker from start to finish. Each
/// backend gets its own panel and scale, since a software-Vulkan run can take 100 times as
/// long as a cpu run and would flatten its bars to nothing.
pub(super) fn timeline(w: &Workload) -> Result<Option<String>> {
    let runs: Vec<&RunRow> = w
        .runs
        .iter()
        .filter(|r| PHASES.iter().any(|(_, f)| f(r).is_some()))
        .collect();
    if runs.is_empty() {
        return Ok(None);
    }
    let mut backends: Vec<&str> = Vec::new();
    for r in &runs {
        if !backends.contains(&r.backend.as_str()) {
            backends.push(&r.backend);
        }
    }
    let panels: Vec<Vec<&RunRow>> = backends
        .iter()
        .map(|b| runs.iter().copied().filter(|r| r.backend == *b).collect())
        .collect();
    let height = |n: usize| 70 + ROW * n as u32;
    let entries: Vec<(String, RGBColor)> = PHASES
        .iter()
        .zip(PHASE_COLOURS)
        .map(|((name, _), c)| (name.to_string(), c))
        .collect();
    let total_height: u32 = panels.iter().map(|p| height(p.len())).sum();
    svg(total_height.max(legend_height(entries.len())), |root| {
        // The phase legend is short: give the bars most of the width.
        let (plots, side) = root.split_horizontally(WIDTH - 160);
        let mut rest = plots;
        for (backend, runs) in backends.iter().zip(&panels) {
            let (panel, below) = rest.split_vertically(height(runs.len()));
            rest = below;
            phase_bars(&panel, backend, runs)?;
        }
        legend(&side, &entries)
    })
    .map(Some)
}

/// The panel of one backend's runs in [`timeline`], on its own time scale.
fn phase_bars(area: &Area, backend: &str, runs: &[&RunRow]) -> Result<()> {
    let n = runs.len();
    let labels = run_labels(runs);
    let total = |r: &RunRow| PHASES.iter().filter_map(|(_, f)| f(r)).sum::<f64>();
    let top = runs.iter().map(|r| total(r)).fold(0.0, f64::max);
    let x_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    let mut chart = bar_axes(
        area,
        &labels,
        x_max,
        &format!("{backend}: seconds since the run started"),
        &|v| tick(*v),
    )?;
    for (row, r) in runs.iter().enumerate() {
        let mut start = 0.0;
        for ((_, phase), c) in PHASES.iter().zip(PHASE_COLOURS) {
            if let Some(d) = phase(r) {
                chart.draw_series([bar(row, n, start, start + d, c)])?;
                start += d;
            }
        }
        let x = start + x_max * 0.01;
        chart.draw_series([beside(row, n, x, format!("{} s", num(start)))])?;
    }
    Ok(())
}

/// One line per configuration of `value` per epoch, times `scale`.
pub(super) fn curves(
    w: &Workload,
    value: fn(&Point) -> Option<f64>,
    axis: &str,
    scale: f64,
) -> Result<Option<String>> {
    let series: Vec<(&Group, Vec<(i32, f64)>)> = w
        .groups
        .iter()
        .map(|g| {
            let points: Vec<(i32, f64)> = g
                .curve
                .iter()
                .filter_map(|p| Some((i32::try_from(p.epoch).ok()?, value(p)? * scale)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            (g, points)
        })
        .filter(|s| !s.1.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let y = value_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)));
    let last = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let entries: Vec<(String, RGBColor)> = series
        .iter()
        .map(|(g, _)| (g.label(), colour(g.colour)))
        .collect();
    svg(legend_height(entries.len()).max(420), |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut chart = line_chart(&plot).build_cartesian_2d(0..last.saturating_add(1), y)?;
        chart
            .configure_mesh()
            .x_labels((last as usize + 2).min(21))
            .x_label_formatter(&|e| {
                if (1..=last).contains(e) {
                    e.to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| tick(*v))
            .x_desc("epoch")
            .y_desc(axis)
            .label_style(text_style(15))
            .axis_desc_style(text_style(16))
            .light_line_style(LIGHT)
            .draw()?;
        for (g, points) in &series {
            let c = colour(g.colour);
            chart.draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(3)))?;
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
        }
        legend(&side, &entries)
    })
    .map(Some)
}

/// A padded axis range around `values`.
pub(super) fn value_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        hi.abs().max(1.0) * 0.1
    };
    // Losses, accuracies and errors are never negative: keep the axis from suggesting so.
    (if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    })..hi + pad
}
