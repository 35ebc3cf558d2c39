//! The report's text, shared by both formats: title, notes, and every table as rows of
//! already formatted cells. A value that was not measured is "–", never a zero.

use super::aggregate::{Group, PHASES, Report, Workload};
use super::format::{
    NONE, median, metric, metric_name, num, opt, pct, plural, rate, ratio, spread, usd,
};

/// What the symbols and columns mean, printed under the tables.
pub const NOTES: &[&str] = &[
    "Each row is a configuration: instance, backend and batch size, and everything else that \
     changes a result (device, CPU, a local machine's host id, the data and its options, \
     epochs, the price charged). Only runs equal in all of it are repeats; where two rows share \
     instance, backend and batch size, \"differs by\" names the fields that tell them apart. \
     Numbers are the median over the repeats that finished (status ok).",
    "init = device init + model init + warm-up (the first step: kernel compilation and \
     autotuning); epoch = median of a run's steady epochs (2..N).",
    "$/epoch and $/run price the measured time at the instance's hourly price; mfu is achieved \
     FLOP/s over the GPU's spec fp32 peak, mfu meas. over the GEMM rate the device measured.",
    "CV = sample standard deviation / mean over repeats; ⚠ marks CV > 10 %.",
    "★ marks the Pareto set: no other configuration has an epoch that is both faster and cheaper.",
    "Every backend starts from the same weights, drawn on the host from the seed (init sha256). \
     loss vs cpu = the largest relative difference of a run's per-epoch training loss from the \
     cpu run of the same job (the largest over repeats); the cpu rows are that reference.",
    "Time to target (DAWNBench's and MLPerf's metric): the training seconds up to the first \
     epoch whose validation reaches the target, evaluation excluded; \"with init\" adds device \
     and model init, and $ to target prices that. Empty where no run reached it.",
    "$/GPU-h = the instance's price over the GPUs it bills for; GPUs = how many of them the \
     run trained on, ⚠ where fewer (a one-GPU run on an 8-GPU instance pays for eight). \
     Scaling: speedup = images/s over the same job's on one replica, efficiency = speedup ÷ \
     replicas, comm share = the part of the training time spent in the gradient all-reduce. \
     Weak scaling keeps the batch per device (the global batch grows); strong splits one \
     global batch.",
    "Speed ratios divide images/s; above 1 the first backend is faster. gpu = the fastest \
     backend that ran on a GPU.",
    "Energy: NVML on NVIDIA GPUs (the GPU board) and RAPL on CPUs (the CPU packages, not DRAM \
     or the rest of the machine), read at every phase boundary and ten times a second; NVML \
     refreshes every 20–100 ms, so energy is per phase, not per step. images/J = the steady \
     training's images over its joules (the warm-up step is apart); J/epoch = its mean power × \
     the epoch time. Compare images/J between rows whose energy source covers the same thing. \
     ⚠ slowdowns: the GPU held its clocks down for power or heat while it trained.",
];

/// A table: a title, column names (right-aligned when numeric) and formatted rows.
pub struct Table {
    pub title: String,
    pub columns: Vec<(String, bool)>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(title: impl Into<String>, columns: &[&str]) -> Self {
        Self {
            title: title.into(),
            // Columns named in TEXT hold words; the others numbers, aligned right.
            columns: columns
                .iter()
                .map(|c| (c.to_string(), !TEXT.contains(c)))
                .collect(),
            rows: Vec::new(),
        }
    }
}

const TEXT: &[&str] = &[
    "run",
    "instance",
    "backend",
    "status",
    "reason",
    "workload",
    "provider",
    "GPU",
    "devices",
    "CPU",
    "price",
    "fastest",
    "cheapest",
    "Pareto",
    "differs by",
    "configuration",
    "true class",
    "init sha256",
    "fastest to target",
    "cheapest to target",
    "scaling",
    "GPUs",
    "energy source",
    "slowdowns",
];

/// The report's title: which machines it covers.
pub fn title(r: &Report) -> String {
    let mut names: Vec<&str> = r.instances.iter().map(|i| i.name.as_str()).collect();
    names.dedup();
    // Machines of one name (two `local` hosts) are told apart in the Instances table.
    let more = match r.instances.len() {
        m if m > names.len() => format!(" on {m} machines"),
        _ => String::new(),
    };
    match names.len() {
        1 => format!("gpubench report: {}{more}", names[0]),
        n if n <= 6 => format!(
            "gpubench report: {n} instances ({}){more}",
            names.join(", ")
        ),
        n => format!(
            "gpubench report: {n} instances ({}, …){more}",
            names[..5].join(", ")
        ),
    }
}

/// One line on what was read.
pub fn provenance(r: &Report) -> String {
    let d = &r.read;
    let mut s = format!(
        "{} and {} from {}",
        plural(d.runs, "run"),
        plural(d.epochs, "epoch row"),
        plural(d.files, "file")
    );
    if d.duplicates > 0 {
        s += &format!(" ({} dropped)", plural(d.duplicates, "duplicate row"));
    }
    if d.skipped > 0 {
        s += &format!(
            "; {} skipped as torn or malformed",
            plural(d.skipped, "bad row")
        );
    }
    if let Some((from, to)) = &d.span {
        s += &format!("; started {from} to {to}");
    }
    format!("{s}; {}.", d.versions.join("; "))
}

fn statuses(g: &Group) -> String {
    let parts: Vec<String> = g
        .statuses
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    parts.join(", ")
}

pub fn instances(r: &Report) -> Table {
    let mut t = Table::new(
        "Instances",
        &[
            "instance",
            "provider",
            "GPU",
            "devices",
            "CPU",
            "cores",
            "memory GiB",
            "price",
        ],
    );
    for i in &r.instances {
        let devices: Vec<String> = i
            .devices
            .iter()
            .map(|(d, b)| format!("{d} ({})", b.join(", ")))
            .collect();
        let price = i.price_usd_per_hour.map_or(NONE.into(), |p| {
            let extra: Vec<&str> = [&i.price_kind, &i.price_date]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            format!("{}/h {}", usd(p), extra.join(", "))
                .trim_end()
                .to_string()
        });
        let place: Vec<&str> = [&i.provider, &i.region]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        t.rows.push(vec![
            i.name.clone(),
            if place.is_empty() {
                NONE.into()
            } else {
                place.join(" ")
            },
            i.gpu.clone().unwrap_or(NONE.into()),
            if devices.is_empty() {
                NONE.into()
            } else {
                devices.join("; ")
            },
            i.cpu.clone().unwrap_or(NONE.into()),
            i.cores.map_or(NONE.into(), |c| c.to_string()),
            opt(i.mem_gib, |m| format!("{m:.1}")),
            price,
        ]);
    }
    t
}

pub fn results(w: &Workload) -> Table {
    let metric_col = metric_name(w.metric_name.as_deref());
    let mut t = Table::new(
        "Results",
        &[
            "instance",
            "backend",
            "batch",
            "status",
            "init s",
            "warm-up s",
            "epoch s",
            "images/s",
            "$/h",
            "$/GPU-h",
            "GPUs",
            "$/epoch",
            "$/run",
            "mfu",
            "mfu meas.",
            &metric_col,
            "time #",
            "cost #",
            "Pareto",
            "differs by",
        ],
    );
    let m = w.metric_name.as_deref();
    for g in &w.groups {
        t.rows.push(vec![
            g.instance.clone(),
            g.backend.clone(),
            g.batch_size.to_string(),
            statuses(g),
            median(&g.init_s, num),
            median(&g.warmup_s, num),
            median(&g.epoch_s, num),
            median(&g.images_per_s, rate),
            median(&g.price_usd_per_hour, usd),
            opt(g.per_gpu_hour(), usd),
            g.gpu_use(),
            median(&g.cost_per_epoch_usd, usd),
            median(&g.cost_usd, usd),
            median(&g.mfu, pct),
            median(&g.mfu_measured, pct),
            median(&g.metric, |v| metric(m, v)),
            g.time_rank.map_or(NONE.into(), |r| r.to_string()),
            g.cost_rank.map_or(NONE.into(), |r| r.to_string()),
            if g.pareto { "★" } else { "" }.into(),
            g.differs_by().join("; "),
        ]);
    }
    t
}

/// Fastest and cheapest configurations side by side, best first: per epoch, and to the target.
pub fn ranking(w: &Workload) -> Table {
    let mut t = Table::new(
        "Ranking",
        &[
            "#",
            "fastest",
            "epoch s",
            "cheapest",
            "$/epoch",
            "fastest to target",
            "s to target",
            "cheapest to target",
            "$ to target",
        ],
    );
    let sorted = |f: fn(&Group) -> Option<f64>| {
        let mut v: Vec<(&Group, f64)> = w
            .groups
            .iter()
            .filter_map(|g| f(g).map(|x| (g, x)))
            .collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
        v
    };
    let columns = [
        (
            sorted(|g| g.epoch_s.map(|s| s.median)),
            num as fn(f64) -> String,
        ),
        (sorted(|g| g.cost_per_epoch_usd.map(|s| s.median)), usd),
        (sorted(|g| g.time_to_target_init_s.map(|s| s.median)), num),
        (sorted(|g| g.cost_to_target_usd.map(|s| s.median)), usd),
    ];
    let n = columns.iter().map(|c| c.0.len()).max().unwrap_or(0);
    for i in 0..n {
        let mut row = vec![(i + 1).to_string()];
        for (ranked, f) in &columns {
            match ranked.get(i) {
                Some((g, v)) => row.extend([g.label(), f(*v)]),
                None => row.extend([String::new(), String::new()]),
            }
        }
        t.rows.push(row);
    }
    t
}

/// Per configuration: the initial weights' hash, how far the training loss left the cpu
/// reference's (✗ beyond `tol`), and the epochs, seconds and dollars to the target.
pub fn to_target(w: &Workload, tol: f64) -> Table {
    let m = w.metric_name.as_deref();
    let mut t = Table::new(
        format!("Same start, parity and time to target (✗: loss leaves cpu's by more than {tol})"),
        &[
            "instance",
            "backend",
            "batch",
            "init sha256",
            "loss vs cpu",
            "target",
            "reached",
            "epochs",
            "s to target",
            "s with init",
            "$ to target",
            "differs by",
        ],
    );
    for g in &w.groups {
        let dev = g.loss_rel_dev.map_or(NONE.into(), |d| {
            let flag = if d.max > tol { "✗ " } else { "" };
            format!("{flag}{:.1e}", d.max)
        });
        t.rows.push(vec![
            g.instance.clone(),
            g.backend.clone(),
            g.batch_size.to_string(),
            if g.init_sha256.is_empty() {
                NONE.into()
            } else {
                g.init_sha256.join(" ")
            },
            dev,
            g.target.map_or(NONE.into(), |v| metric(m, v)),
            format!("{} of {}", g.reached, g.ok()),
            median(&g.epochs_to_target, |v| format!("{v:.0}")),
            median(&g.time_to_target_s, num),
            median(&g.time_to_target_init_s, num),
            median(&g.cost_to_target_usd, usd),
            g.differs_by().join("; "),
        ]);
    }
    t
}

/// Median images/s per backend, and how much faster each is than another.
pub fn backends(w: &Workload) -> Table {
    let b = &w.backends;
    let mut columns: Vec<String> = vec!["instance".into(), "batch".into()];
    columns.extend(b.names.iter().cloned());
    columns.extend(b.ratios.iter().map(|(n, d)| format!("{n} ÷ {d}")));
    columns.push("gpu ÷ cpu".into());
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut t = Table::new("Backends (images/s)", &columns);
    for r in &b.rows {
        let mut row = vec![r.instance.clone(), r.batch_size.to_string()];
        row.extend(r.speeds.iter().map(|v| opt(*v, rate)));
        row.extend(r.ratios.iter().map(|v| opt(*v, ratio)));
        row.push(opt(r.gpu_over_cpu, ratio));
        t.rows.push(row);
    }
    t
}

/// Min–max and CV of the configurations that finished more than once.
pub fn spread_table(w: &Workload) -> Option<Table> {
    let mut t = Table::new(
        "Spread over repeats (min–max, CV)",
        &[
            "instance",
            "backend",
            "batch",
            "repeats",
            "init s",
            "warm-up s",
            "epoch s",
            "images/s",
            "$/run",
            "differs by",
        ],
    );
    for g in w.groups.iter().filter(|g| g.ok() > 1) {
        t.rows.push(vec![
            g.instance.clone(),
            g.backend.clone(),
            g.batch_size.to_string(),
            g.ok().to_string(),
            spread(&g.init_s, num),
            spread(&g.warmup_s, num),
            spread(&g.epoch_s, num),
            spread(&g.images_per_s, rate),
            spread(&g.cost_usd, usd),
            g.differs_by().join("; "),
        ]);
    }
    (!t.rows.is_empty()).then_some(t)
}

/// A classifier's confusion counts, from the last finished run of each configuration: per
/// true class, how many validation images were predicted as each class, and its recall.
pub fn confusion(w: &Workload) -> Option<Table> {
    let classes: Vec<&str> = w
        .groups
        .iter()
        .find_map(|g| g.confusion.as_ref())?
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    let mut columns = vec!["configuration".to_string(), "true class".to_string()];
    columns.extend(classes.iter().map(|c| format!("predicted {c}")));
    columns.push("recall".into());
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut t = Table::new(
        "Confusion (validation, last run of each configuration)",
        &columns,
    );
    for g in &w.groups {
        let Some(rows) = &g.confusion else { continue };
        for (i, (class, counts)) in rows.iter().enumerate() {
            let total: u64 = counts.iter().sum();
            let recall =
                (total > 0).then(|| counts.get(i).copied().unwrap_or(0) as f64 / total as f64);
            let mut row = vec![g.label(), class.clone()];
            row.extend(counts.iter().map(u64::to_string));
            row.push(opt(recall, pct));
            t.rows.push(row);
        }
    }
    Some(t)
}

/// Every run's phases: the timeline of each worker, finished or not.
pub fn phases(w: &Workload) -> Table {
    let mut columns = vec!["run", "instance", "backend", "batch", "repeat", "status"];
    columns.extend(PHASES.iter().map(|(name, _)| *name));
    columns.push("total");
    let mut t = Table::new("Phases per run (s)", &columns);
    for r in &w.runs {
        let mut row = vec![
            r.run_id.clone(),
            r.instance.clone(),
            r.backend.clone(),
            r.batch_size.to_string(),
            r.repeat.to_string(),
            r.status.as_str().to_string(),
        ];
        row.extend(PHASES.iter().map(|(_, f)| opt(f(r), num)));
        row.push(opt(r.total_s, num));
        t.rows.push(row);
    }
    t
}

/// Runs that did not finish, with why.
pub fn unfinished(r: &Report) -> Option<Table> {
    let mut t = Table::new(
        "Status and reason",
        &[
            "workload", "instance", "backend", "batch", "repeat", "status", "reason",
        ],
    );
    for u in &r.unfinished {
        t.rows.push(vec![
            format!("{} · {}", u.workload, u.model),
            u.instance.clone(),
            u.backend.clone(),
            u.batch_size.to_string(),
            u.repeat.to_string(),
            u.status.as_str().to_string(),
            u.error.clone().unwrap_or(NONE.into()),
        ]);
    }
    (!t.rows.is_empty()).then_some(t)
}
