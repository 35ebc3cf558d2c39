//! Power over a run's timeline: for each configuration whose readings were kept
//! (`run --keep-samples`), its latest finished run's watts against the seconds since it began,
//! so a compile-bound warm-up, an idle evaluation or a power cap shows as a shape.

use anyhow::Result;
use plotters::prelude::*;

use super::plots::value_range;
use super::*;

pub(super) fn power(w: &Workload) -> Result<Option<String>> {
    let series: Vec<_> = w.groups.iter().filter(|g| !g.power.is_empty()).collect();
    if series.is_empty() {
        return Ok(None);
    }
    let end = series
        .iter()
        .flat_map(|g| g.power.iter().map(|p| p.0))
        .fold(0.0, f64::max)
        .max(1e-3);
    let y = value_range(
        series
            .iter()
            .flat_map(|g| g.power.iter().map(|p| p.1))
            .chain([0.0]),
    );
    let entries: Vec<(String, RGBColor)> = series
        .iter()
        .map(|g| (g.label(), colour(g.colour)))
        .collect();
    svg(legend_height(entries.len()).max(420), |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut chart = line_chart(&plot).build_cartesian_2d(0.0..end, y)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .x_desc("seconds since the run began")
            .y_desc("power (W, all devices)")
            .label_style(text_style(15))
            .axis_desc_style(text_style(16))
            .light_line_style(LIGHT)
            .draw()?;
        for g in &series {
            let c = colour(g.colour);
            chart.draw_series(LineSeries::new(g.power.iter().copied(), c.stroke_width(2)))?;
        }
        legend(&side, &entries)
    })
    .map(Some)
}
