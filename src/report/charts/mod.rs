//! The SVG charts of `report.html`, drawn with plotters into strings. Text is left to the
//! browser's fonts (plotters' SVG backend needs none); sizes suit a page about 1280 px wide.
//! A configuration keeps one colour in every chart.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

mod bars;
mod plots;
mod power;
mod speedup;
mod target;

use super::aggregate::Workload;
use super::format::{num, rate, sig, usd};
use bars::bars;
use plots::{curves, scatter, timeline};
use power::power;
use speedup::speedup;
use target::metric_vs_time;

/// One chart: `svg` is None when nothing was measured to draw, and `note` then says why.
pub struct Chart {
    /// Unique within a workload; the page prefixes the workload.
    pub id: &'static str,
    pub title: &'static str,
    pub svg: Option<String>,
    pub note: String,
}

pub(super) const WIDTH: u32 = 1160;
/// Room for the names of configurations and runs left of bars.
pub(super) const NAMES: u32 = 300;
pub(super) const LEGEND: u32 = 290;
pub(super) const ROW: u32 = 30;
pub(super) const FONT: &str = "sans-serif";

/// Tableau 10: distinguishable, and mild enough for large bars.
pub(super) const PALETTE: [RGBColor; 10] = [
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
pub(super) const PHASE_COLOURS: [RGBColor; 6] = [
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
    RGBColor(176, 122, 161),
    RGBColor(225, 87, 89),
    RGBColor(78, 121, 167),
    RGBColor(89, 161, 79),
];

/// The faint minor grid lines.
pub(super) const LIGHT: RGBColor = RGBColor(242, 242, 242);

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

pub(super) fn colour(group: usize) -> RGBColor {
    PALETTE[group % PALETTE.len()]
}

pub(super) fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// An axis tick: 3 significant digits without trailing zeros.
pub(super) fn tick(v: f64) -> String {
    let s = sig(v, 3);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub(super) fn usd_tick(v: f64) -> String {
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
            "energy",
            "Images per joule by instance and backend",
            bars(
                w,
                |g| g.images_per_j,
                "images per joule (steady training)",
                tick,
                rate,
            )?,
            "Median over repeats; the black line spans min–max. Higher is better.",
            "No run read an energy counter or power (NVML on NVIDIA GPUs, RAPL on CPUs).",
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
            "One bar per run, its phases in the order they happen; the number is their total. \
             Each backend has its own panel and time scale.",
            "No run measured a phase.",
        ),
        chart(
            "power",
            "Power over a run's timeline",
            power(w)?,
            "Each configuration's latest finished run, all its devices together, from the \
             readings `run --keep-samples` kept (about ten a second).",
            "No readings were kept: run with --keep-samples on a device with telemetry.",
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
        chart(
            "to-target",
            "Validation metric against training time, to the target",
            metric_vs_time(w, &metric_axis, metric_scale)?,
            "Median over repeats at each epoch, against the sum of the median epoch times so \
             far (the first epoch holds the warm-up step). The dashed line is the target: where \
             a line first crosses it is that configuration's time to target.",
            "No validation metric per epoch was recorded.",
        ),
        chart(
            "speedup",
            "Speedup over devices and nodes",
            speedup(w)?,
            "Images/s on N replicas over the same job's on one, median over repeats; the \
             dashed line is linear scaling. Below it, communication and synchronisation ate \
             the rest.",
            "No configuration ran on several devices and on one (--devices 1,2).",
        ),
    ])
}

/// Draws into a white SVG `WIDTH` wide and `height` tall, and returns its text.
pub(super) fn svg(height: u32, draw: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(out)
}

/// A chart on `plot` with the margin and label areas the line charts share.
pub(super) fn line_chart<'a, 'b, 's>(plot: &'a Area<'s>) -> ChartBuilder<'a, 'b, SVGBackend<'s>> {
    let mut b = ChartBuilder::on(plot);
    b.margin(12).x_label_area_size(44).y_label_area_size(80);
    b
}

/// Coloured squares with labels, one per line, in the panel right of a chart.
pub(super) fn legend(area: &Area, entries: &[(String, RGBColor)]) -> Result<()> {
    for (i, (label, c)) in entries.iter().enumerate() {
        let y = 16 + 24 * i as i32;
        area.draw(&Rectangle::new([(8, y), (22, y + 14)], c.filled()))?;
        area.draw(&Text::new(short(label), (30, y), text_style(15)))?;
    }
    Ok(())
}

/// Long names would run out of the legend panel.
pub(super) fn short(label: &str) -> String {
    const MAX: usize = 34;
    if label.chars().count() <= MAX {
        label.to_string()
    } else {
        label.chars().take(MAX - 1).chain(['…']).collect()
    }
}

pub(super) fn legend_height(entries: usize) -> u32 {
    32 + 24 * entries as u32
}
