//! The road to the target: each configuration's validation metric against the training
//! seconds it had spent by then, with the target drawn across, so the first line to cross it
//! is the fastest to that quality (what "time to target" reads off).

use anyhow::Result;
use plotters::prelude::*;

use super::bars::log_range;
use super::plots::value_range;
use super::*;
use crate::report::aggregate::Group;

/// One line per configuration of its validation metric (times `scale`) against cumulative
/// training seconds, on a logarithmic time axis (a cold compile and a cpu epoch differ 100×).
pub(super) fn metric_vs_time(w: &Workload, axis: &str, scale: f64) -> Result<Option<String>> {
    let series: Vec<(&Group, Vec<(f64, f64)>)> = w
        .groups
        .iter()
        .map(|g| {
            let mut elapsed = 0.0;
            let points = g
                .curve
                .iter()
                .map_while(|p| {
                    elapsed += p.seconds?;
                    Some((elapsed, p.val_metric.map(|v| v * scale)))
                })
                .filter_map(|(t, v)| Some((t, v?)))
                .filter(|(t, v)| *t > 0.0 && v.is_finite())
                .collect();
            (g, points)
        })
        .filter(|s: &(&Group, Vec<(f64, f64)>)| !s.1.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let targets: Vec<f64> = series
        .iter()
        .filter_map(|(g, _)| g.target.map(|t| t * scale))
        .collect();
    let x = log_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)));
    let y = value_range(
        series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.1))
            .chain(targets.iter().copied()),
    );
    let mut entries: Vec<(String, RGBColor)> = series
        .iter()
        .map(|(g, _)| (g.label(), colour(g.colour)))
        .collect();
    if !targets.is_empty() {
        entries.push(("target (dashed)".into(), BLACK));
    }
    svg(legend_height(entries.len()).max(420), |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut chart = line_chart(&plot).build_cartesian_2d(x.clone().log_scale(), y)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .x_desc("training seconds so far (log scale; evaluation excluded)")
            .y_desc(axis)
            .label_style(text_style(15))
            .axis_desc_style(text_style(16))
            .light_line_style(LIGHT)
            .draw()?;
        let mut drawn: Vec<f64> = Vec::new();
        for &t in &targets {
            if !drawn.contains(&t) {
                let line = [(x.start, t), (x.end, t)];
                chart.draw_series(DashedLineSeries::new(line, 10, 6, BLACK.stroke_width(2)))?;
                drawn.push(t);
            }
        }
        for (g, points) in &series {
            let c = colour(g.colour);
            chart.draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(3)))?;
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
        }
        legend(&side, &entries)
    })
    .map(Some)
}
