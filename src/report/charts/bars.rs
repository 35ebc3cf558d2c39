//! Horizontal bar charts: one bar per configuration, with the spread over repeats.

use anyhow::Result;
use plotters::coord::combinators::{BindKeyPoints, WithKeyPoints};
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::*;
use crate::report::aggregate::Group;
use crate::report::stats::Stat;

type Bars<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, WithKeyPoints<RangedCoordi32>>>;

/// The height of a bar's slot in y units; integers, since plotters formats only integer key
/// points on its own.
pub(super) const SLOT: i32 = 10;

/// Axes for horizontal bars named by `labels`, the first on top. Bar `i` counted from the
/// bottom owns y from `SLOT * i` to `SLOT * (i + 1)`; its label sits at the middle.
pub(super) fn bar_axes<'a, 'b>(
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
pub(super) fn slot(row: usize, n: usize) -> i32 {
    SLOT * (n - 1 - row) as i32
}

/// Bar `row` from `x0` to `x1`.
pub(super) fn bar(row: usize, n: usize, x0: f64, x1: f64, c: RGBColor) -> Rectangle<(f64, i32)> {
    let y = slot(row, n);
    Rectangle::new([(x0, y + 2), (x1, y + SLOT - 2)], c.filled())
}

/// `text` just right of `x` on bar `row`.
pub(super) fn beside(
    row: usize,
    n: usize,
    x: f64,
    text: String,
) -> Text<'static, (f64, i32), String> {
    let at = (x, slot(row, n) + SLOT / 2);
    Text::new(
        text,
        at,
        text_style(14).pos(Pos::new(HPos::Left, VPos::Center)),
    )
}

/// Horizontal bars of one statistic per configuration, fastest configuration on top; `ticks`
/// formats the axis, `value` the number beside each bar.
pub(super) fn bars(
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
pub(super) fn log_range(values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let lo = values.clone().fold(f64::INFINITY, f64::min) / 1.5;
    let hi = values.fold(0.0, f64::max) * 1.5;
    // A hair wider, so rounding cannot drop the end labels.
    10f64.powf(lo.log10().floor()) * 0.99..10f64.powf(hi.log10().ceil()) * 1.01
}
