//! Speedup against replicas, with the ideal (speedup = replicas) dashed: how far each
//! configuration's scaling falls short of linear, and where communication eats the gain.

use anyhow::Result;
use plotters::prelude::*;

use super::*;
use crate::report::scaling::lines;

/// A line's label, colour and (replicas, speedup) points.
type Series = (String, usize, Vec<(f64, f64)>);

/// One line per configuration and scaling that ran on several replicas; `None` without one.
pub(super) fn speedup(w: &Workload) -> Result<Option<String>> {
    let series: Vec<Series> = lines(w)
        .iter()
        .map(|line| {
            let points = line
                .points
                .iter()
                .filter_map(|g| Some((g.replicas as f64, line.speedup(g)?)))
                .collect();
            (line.label(), line.base.colour, points)
        })
        .filter(|s: &Series| s.2.len() > 1)
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let most = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let top = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(most, f64::max);
    let mut entries: Vec<(String, RGBColor)> = series
        .iter()
        .map(|(label, c, _)| (label.clone(), colour(*c)))
        .collect();
    entries.push(("ideal: speedup = replicas (dashed)".into(), BLACK));
    svg(legend_height(entries.len()).max(420), |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut chart = line_chart(&plot).build_cartesian_2d(0.8..most + 0.2, 0.0..top * 1.1)?;
        chart
            .configure_mesh()
            // Replicas are whole: no label between them.
            .x_label_formatter(&|v| {
                if v.fract() == 0.0 {
                    tick(*v)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| format!("{}×", tick(*v)))
            .x_desc("replicas (devices × nodes)")
            .y_desc("speedup in images/s over one replica")
            .label_style(text_style(15))
            .axis_desc_style(text_style(16))
            .light_line_style(LIGHT)
            .draw()?;
        let ideal = [(1.0, 1.0), (most, most)];
        chart.draw_series(DashedLineSeries::new(ideal, 10, 6, BLACK.stroke_width(2)))?;
        for (_, c, points) in &series {
            let c = colour(*c);
            chart.draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(3)))?;
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, c.filled())))?;
        }
        legend(&side, &entries)
    })
    .map(Some)
}
