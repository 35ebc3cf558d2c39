//! The SVG charts of `report.html`, drawn with plotters into strings. Text is left to the
//! browser's fonts (plotters' SVG backend needs none); sizes suit a page about 1280 px wide.
//! A configuration keeps one colour in every chart.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::coord::combinators::{BindKeyPoints, WithKeyPoints};
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::aggregate::{Group, PHASES, Point, Workload};
use super::stats::Stat;
use super::tables::{num, sig, usd};
use crate::record::{RunRow, Status};

/// One chart: `svg` is None when nothing was measured to draw, and `note` then says why.
pub struct Chart {
    /// Unique within a workload; the page prefixes the workload.
    pub id: &'static str,
    pub title: &'static str,
    pub svg: Option<String>,
    pub note: String,
}

const WIDTH: u32 = 1160;
/// Room for the names of configurations and runs left of bars.
const NAMES: u32 = 300;
const LEGEND: u32 = 290;
const ROW: u32 = 30;
const FONT: &str = "sans-serif";

/// Tableau 10: distinguishable, and mild enough for large bars.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

/// One per entry of `PHASES`; warm-up in red, since compilation is the cost to notice.
const PHASE_COLOURS: [RGBColor; 6] = [
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
    RGBColor(176, 122, 161),
    RGBColor(225, 87, 89),
    RGBColor(78, 121, 167),
    RGBColor(89, 161, 79),
];

/// The faint minor grid lines.
const LIGHT: RGBColor = RGBColor(242, 242, 242);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn colour(group: usize) -> RGBColor {
    PALETTE[group % PALETTE.len()]
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// An axis tick: 3 significant digits without trailing zeros.
fn tick(v: f64) -> String {
    let s = sig(v, 3);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn usd_tick(v: f64) -> String {
    format!("${}", tick(v))
}

/// Every chart of a workload, in page order.
pub fn charts(w: &Workload) -> Result<Vec<Chart>> {
    let no_price = "No prices: give --price, or run on an instance of the catalog.";
    let whiskers = "Median over repeats; the black line spans min–max.";
    let chart = |id, title, svg: Option<String>, note: &str, empty: &str| Chart {
        id,
        title,
        note: if svg.is_some() { note } else { empty }.to_string(),
        svg,
    };
    let (metric_axis, metric_scale) = match w.metric_name.as_deref() {
        Some("accuracy") => ("validation accuracy (%)".to_string(), 100.0),
        Some("rmse_px") => ("validation RMSE (px)".to_string(), 1.0),
        name => (format!("validation {}", name.unwrap_or("metric")), 1.0),
    };
    Ok(vec![
        chart(
            "epoch-time",
            "Epoch time by instance and backend",
            bars(w, |g| g.epoch_s, "steady epoch time (s)", tick, num)?,
            whiskers,
            "No configuration measured a steady epoch (that takes 2 or more epochs).",
        ),
        chart(
            "epoch-cost",
            "Cost per epoch by instance and backend",
            bars(
                w,
                |g| g.cost_per_epoch_usd,
                "cost per epoch (USD)",
                usd_tick,
                usd,
            )?,
            whiskers,
            no_price,
        ),
        chart(
            "time-vs-cost",
            "Time vs cost per epoch, with the Pareto front",
            scatter(w)?,
            "Each point is a configuration; ringed points, joined by the line, form the Pareto \
             front: nothing else is both faster and cheaper. Both axes are logarithmic.",
            no_price,
        ),
        chart(
            "phases",
            "Where each run's time went (per-worker timeline)",
            timeline(w)?,
            "One bar per run, its phases in the order they happen; the number is their total.",
            "No run measured a phase.",
        ),
        chart(
            "loss",
            "Training loss per epoch",
            curves(w, |p| p.train_loss, "training loss", 1.0)?,
            "Median over repeats at each epoch.",
            "No epochs.csv rows for the runs that finished.",
        ),
        chart(
            "metric",
            "Validation metric per epoch",
            curves(w, |p| p.val_metric, &metric_axis, metric_scale)?,
            "Median over repeats at each epoch.",
            "No validation metric per epoch was recorded.",
        ),
    ])
}

/// Draws into a white SVG `WIDTH` wide and `height` tall, and returns its text.
fn svg(height: u32, draw: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(out)
}

/// Coloured squares with labels, one per line, in the panel right of a chart.
fn legend(area: &Area, entries: &[(String, RGBColor)]) -> Result<()> {
    for (i, (label, c)) in entries.iter().enumerate() {
        let y = 16 + 24 * i as i32;
        area.draw(&Rectangle::new([(8, y), (22, y + 14)], c.filled()))?;
        area.draw(&Text::new(short(label), (30, y), text_style(15)))?;
    }
    Ok(())
}

/// Long names would run out of the legend panel.
fn short(label: &str) -> String {
    const MAX: usize = 34;
    if label.chars().count() <= MAX {
        label.to_string()
    } else {
        label.chars().take(MAX - 1).chain(['…']).collect()
    }
}

fn legend_height(entries: usize) -> u32 {
    32 + 24 * entries as u32
}

type Bars<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, WithKeyPoints<RangedCoordi32>>>;

/// The height of a bar's slot in y units; integers, since plotters formats only integer key
/// points on its own.
const SLOT: i32 = 10;

/// Axes for horizontal bars named by `labels`, the first on top. Bar `i` counted from the
/// bottom owns y from `SLOT * i` to `SLOT * (i + 1)`; its label sits at the middle.
fn bar_axes<'a, 'b>(
    area: &'a Area<'b>,
    labels: &[String],
    x_max: f64,
    axis: &str,
    ticks: &dyn Fn(&f64) -> String,
) -> Result<Bars<'a, 'b>> {
    let n = labels.len();
    let centres: Vec<i32> = (0..n as i32).map(|i| SLOT * i + SLOT / 2).collect();
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(NAMES)
        .build_cartesian_2d(0.0..x_max, (0..SLOT * n as i32).with_key_points(centres))?;
    let name = |y: &i32| {
        let from_top = n - 1 - (*y / SLOT).clamp(0, n as i32 - 1) as usize;
        short(&labels[from_top])
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_label_formatter(&name)
        .x_labels(8)
        .x_label_formatter(ticks)
        .x_desc(axis)
        .label_style(text_style(15))
        .axis_desc_style(text_style(16))
        .light_line_style(LIGHT)
        .draw()?;
    Ok(chart)
}

/// The bottom of the slot of bar `row` (0 on top of `n`).
fn slot(row: usize, n: usize) -> i32 {
    SLOT * (n - 1 - row) as i32
}

/// Bar `row` from `x0` to `x1`.
fn bar(row: usize, n: usize, x0: f64, x1: f64, c: RGBColor) -> Rectangle<(f64, i32)> {
    let y = slot(row, n);
    Rectangle::new([(x0, y + 2), (x1, y + SLOT - 2)], c.filled())
}

/// `text` just right of `x` on bar `row`.
fn beside(row: usize, n: usize, x: f64, text: String) -> Text<'static, (f64, i32), String> {
    let at = (x, slot(row, n) + SLOT / 2);
    Text::new(
        text,
        at,
        text_style(14).pos(Pos::new(HPos::Left, VPos::Center)),
    )
}

/// Horizontal bars of one statistic per configuration, fastest configuration on top; `ticks`
/// formats the axis, `value` the number beside each bar.
fn bars(
    w: &Workload,
    stat: fn(&Group) -> Option<Stat>,
    axis: &str,
    ticks: fn(f64) -> String,
    value: fn(f64) -> String,
) -> Result<Option<String>> {
    let rows: Vec<(&Group, Stat)> = w
        .groups
        .iter()
        .filter_map(|g| Some((g, stat(g)?)))
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let n = rows.len();
    let labels: Vec<String> = rows.iter().map(|(g, _)| g.label()).collect();
    let top = rows.iter().map(|(_, s)| s.max).fold(0.0, f64::max);
    // Room right of the longest bar for its number.
    let x_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    svg(70 + ROW * n as u32, |root| {
        let mut chart = bar_axes(root, &labels, x_max, axis, &|v| ticks(*v))?;
        for (row, (g, s)) in rows.iter().enumerate() {
            chart.draw_series([bar(row, n, 0.0, s.median, colour(g.colour))])?;
            if s.n > 1 {
                let y = slot(row, n) + SLOT / 2;
                let whisker = [(s.min, y), (s.max, y)];
                chart.draw_series([PathElement::new(whisker, BLACK.stroke_width(2))])?;
            }
            let x = s.max + x_max * 0.01;
            chart.draw_series([beside(row, n, x, value(s.median))])?;
        }
        Ok(())
    })
    .map(Some)
}

/// A log axis range around `values` (all positive) from one power of ten to another, since
/// plotters labels only those: every axis then has at least two labels.
fn log_range(values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let lo = values.clone().fold(f64::INFINITY, f64::min) / 1.5;
    let hi = values.fold(0.0, f64::max) * 1.5;
    // A hair wider, so rounding cannot drop the end labels.
    10f64.powf(lo.log10().floor()) * 0.99..10f64.powf(hi.log10().ceil()) * 1.01
}

/// Epoch time against cost per epoch, one point per configuration, with the Pareto front.
fn scatter(w: &Workload) -> Result<Option<String>> {
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
fn run_labels(runs: &[&RunRow]) -> Vec<String> {
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

/// One stacked bar of phases per run: a timeline of each worker from start to finish.
fn timeline(w: &Workload) -> Result<Option<String>> {
    let runs: Vec<&RunRow> = w
        .runs
        .iter()
        .filter(|r| PHASES.iter().any(|(_, f)| f(r).is_some()))
        .collect();
    if runs.is_empty() {
        return Ok(None);
    }
    let n = runs.len();
    let labels = run_labels(&runs);
    let total = |r: &RunRow| PHASES.iter().filter_map(|(_, f)| f(r)).sum::<f64>();
    let top = runs.iter().map(|r| total(r)).fold(0.0, f64::max);
    let x_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    let entries: Vec<(String, RGBColor)> = PHASES
        .iter()
        .zip(PHASE_COLOURS)
        .map(|((name, _), c)| (name.to_string(), c))
        .collect();
    svg(
        (70 + ROW * n as u32).max(legend_height(entries.len())),
        |root| {
            // The phase legend is short: give the bars most of the width.
            let (plot, side) = root.split_horizontally(WIDTH - 160);
            let mut chart = bar_axes(
                &plot,
                &labels,
                x_max,
                "seconds since the run started",
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
            legend(&side, &entries)
        },
    )
    .map(Some)
}

/// One line per configuration of `value` per epoch, times `scale`.
fn curves(
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
    let values = series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        hi.abs().max(1.0) * 0.1
    };
    // Losses, accuracies and errors are never negative: keep the axis from suggesting so.
    let y = (if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    })..hi + pad;
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
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(0..last.saturating_add(1), y)?;
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
