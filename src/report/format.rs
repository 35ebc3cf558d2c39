//! How numbers read in the report, shared by tables and charts: significant digits that keep
//! small values visible, units, and "–" for a value that was not measured (never a zero).

use super::stats::Stat;

pub const NONE: &str = "–";

pub fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `v` to `digits` significant digits, keeping every integer digit.
pub fn sig(v: f64, digits: i32) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (digits - 1 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

/// Seconds and dollars: 2 decimals, or 3 significant digits below 1 so small values show.
pub fn num(v: f64) -> String {
    if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        sig(v, 3)
    }
}

pub fn usd(v: f64) -> String {
    format!("${}", num(v))
}

pub fn rate(v: f64) -> String {
    sig(v, 3)
}

/// A fraction as a percentage.
pub fn pct(v: f64) -> String {
    let p = v * 100.0;
    if p.abs() >= 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{}%", sig(p, 2))
    }
}

pub fn ratio(v: f64) -> String {
    format!("{}×", sig(v, 3))
}

/// A validation metric in its unit: accuracy as %, RMSE in pixels.
pub fn metric(name: Option<&str>, v: f64) -> String {
    match name {
        Some("accuracy") => pct(v),
        Some("rmse_px") => format!("{} px", num(v)),
        _ => sig(v, 3),
    }
}

/// The column name of a metric.
pub fn metric_name(name: Option<&str>) -> String {
    match name {
        Some("rmse_px") => "val RMSE".into(),
        Some(n) => format!("val {n}"),
        None => "val metric".into(),
    }
}

pub fn opt(v: Option<f64>, f: fn(f64) -> String) -> String {
    v.map_or(NONE.into(), f)
}

/// A median, flagged when its repeats are noisy.
pub fn median(s: &Option<Stat>, f: impl Fn(f64) -> String) -> String {
    match s {
        Some(s) if s.noisy() => format!("{} ⚠", f(s.median)),
        Some(s) => f(s.median),
        None => NONE.into(),
    }
}

/// Min–max and CV over repeats.
pub fn spread(s: &Option<Stat>, f: fn(f64) -> String) -> String {
    match s {
        Some(s) if s.n > 1 => format!(
            "{}–{}, CV {}{}",
            f(s.min),
            f(s.max),
            s.cv.map_or(NONE.into(), pct),
            if s.noisy() { " ⚠" } else { "" }
        ),
        Some(s) => f(s.median),
        None => NONE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_small_values_visible() {
        assert_eq!(num(632.5806), "632.58");
        assert_eq!(num(0.000203346), "0.000203");
        assert_eq!(num(0.13), "0.130");
        assert_eq!(usd(0.0012), "$0.00120");
        assert_eq!(usd(3.06), "$3.06");
        assert_eq!(rate(34.605), "34.6");
        assert_eq!(rate(1234.4), "1234");
        assert_eq!(pct(0.123), "12.3%");
        assert_eq!(pct(0.00012), "0.012%");
        assert_eq!(metric(Some("accuracy"), 0.923), "92.3%");
        assert_eq!(metric(Some("rmse_px"), 8.3403), "8.34 px");
        assert_eq!(num(f64::NAN), "NaN");
    }
}
