//! The end-of-run table on stdout: one line per run, the numbers a user compares first.

use std::io::{self, Write};

use super::{RunRow, Status};

fn secs(v: Option<f64>) -> String {
    v.map_or("-".into(), |s| format!("{s:.2}"))
}

/// A table of `rows`: phases in seconds, throughput and cost; reasons for runs that did not finish.
pub fn print_summary(out: &mut impl Write, rows: &[RunRow]) -> io::Result<()> {
    writeln!(
        out,
        "{:<10} {:<7} {:>5} {:>3} {:<11} {:>8} {:>8} {:>8} {:>8} {:>6} {:>10} {:>10}",
        "workload",
        "backend",
        "batch",
        "rep",
        "status",
        "init_s",
        "warmup_s",
        "epoch_s",
        "img/s",
        "input",
        "metric",
        "cost_usd"
    )?;
    let mut said: Vec<&str> = Vec::new();
    for r in rows {
        let metric = match (&r.val_metric_name, r.val_metric) {
            (Some(n), Some(v)) if n == "accuracy" => format!("{:.1}%", v * 100.0),
            (Some(_), Some(v)) => format!("{v:.2}px"),
            _ => "-".into(),
        };
        let input = r.input_wait_s.zip(r.train_s).map(|(i, t)| 100.0 * i / t);
        writeln!(
            out,
            "{:<10} {:<7} {:>5} {:>3} {:<11} {:>8} {:>8} {:>8} {:>8} {:>6} {:>10} {:>10}",
            r.workload,
            r.backend,
            r.batch_size,
            r.repeat,
            r.status.as_str(),
            secs(r.init_s),
            secs(r.warmup_s),
            secs(r.epoch_s_median),
            r.images_per_s.map_or("-".into(), |v| format!("{v:.1}")),
            input.map_or("-".into(), |v| format!("{v:.1}%")),
            metric,
            r.cost_usd.map_or("-".into(), |c| format!("{c:.5}")),
        )?;
        // Each reason once: a missing driver is the same for every run of its backend.
        if r.status != Status::Ok
            && let Some(e) = &r.error
        {
            let line = e.lines().next().unwrap_or_default();
            if said.contains(&line) {
                writeln!(out, "    {}: as above", r.status.as_str())?;
            } else {
                writeln!(out, "    {}: {line}", r.status.as_str())?;
                said.push(line);
            }
        }
    }
    writeln!(
        out,
        "init_s = device init + model init + warm-up (the first step: kernel compilation and \
         autotuning); epoch_s = median of epochs 2..N; input = share of the steady steps spent \
         waiting for the next batch and uploading it. runs.csv's compile_cache says whether \
         that warm-up started cold, from an on-disk autotune cache, or after an earlier run in \
         this process."
    )
}
