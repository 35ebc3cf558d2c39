//! `gpubench run`: every (backend, workload, batch size, repeat), one CSV row each.

use anyhow::{Context as _, Result};
use chrono::{SecondsFormat, Utc};
use rand::Rng;

use super::RunArgs;
use crate::backend;
use crate::error::input;
use crate::instance;
use crate::instance::host::Host;
use crate::record::{self, Context, EPOCHS_FILE, EpochRow, Key, RUNS_FILE, RunRow, Status};
use crate::train::{self, Job, Outcome};
use crate::workload::{self, DataSource};

pub fn run(args: &RunArgs, out: &mut impl std::io::Write) -> Result<()> {
    // Everything that can be wrong with the input is checked before the first row is written.
    let (instance, instance_source) = instance::resolve(&args.instance)?;
    let price = instance.price(args.price, args.spot)?;
    let n_train = train::n_train(args.synthetic as usize);
    if let Some(b) = args.batch_size.iter().find(|&&b| b as usize > n_train) {
        return input(format!(
            "--batch-size {b} is larger than the {n_train} training images of --synthetic {} \
             (20 % are held out for validation)",
            args.synthetic
        ));
    }
    let runs_csv = args.out.join(RUNS_FILE);
    let epochs_csv = args.out.join(EPOCHS_FILE);
    record::check_header::<RunRow>(&runs_csv)?;
    record::check_header::<EpochRow>(&epochs_csv)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let workloads = or_all(&args.workload, workload::NAMES);
    let backends = or_all(&args.backend, &backend::names());
    let ctx = Context {
        run_id: format!(
            "{}-{:04x}",
            Utc::now().format("%Y%m%dT%H%M%SZ"),
            rand::rng().random::<u16>()
        ),
        price,
        gpu: instance.gpu_model()?,
        instance,
        instance_source,
        host: Host::read(),
        epochs: args.epochs as usize,
        seed: args.seed,
    };
    let data = DataSource::Synthetic {
        n: args.synthetic as usize,
    };
    eprintln!(
        "run {} on {} -> {}",
        ctx.run_id,
        ctx.instance.name,
        args.out.display()
    );

    let mut rows = Vec::new();
    for name in &backends {
        let be = backend::find(name).expect("validated by clap");
        let probe = backend::probe(be);
        match &probe {
            Ok(d) => eprintln!("{name}: {} ({})", d.name, d.kind),
            Err(why) => eprintln!("{name}: unavailable: {why}"),
        }
        for w in &workloads {
            let info = workload::info(w).expect("validated by clap");
            for &b in &args.batch_size {
                for repeat in 0..args.repeats as usize {
                    let key = Key {
                        backend: name,
                        batch_size: b as usize,
                        repeat,
                    };
                    let started_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                    let fits = probe.as_ref().map_err(|why| reason(why, name, &ctx));
                    let outcome = match fits.and_then(|d| d.check_fits(&info, b as usize)) {
                        Err(why) => Outcome::empty(&info, Status::Unavailable, Some(why)),
                        Ok(()) => {
                            let job = Job {
                                workload: w,
                                data: &data,
                                batch_size: b as usize,
                                epochs: args.epochs as usize,
                                seed: args.seed,
                                label: format!("{w}/{name} b{b} #{repeat}"),
                            };
                            backend::train(be, &job).unwrap_or_else(|e| {
                                Outcome::empty(&info, Status::Failed, Some(format!("{e:#}")))
                            })
                        }
                    };
                    let row = RunRow::new(&ctx, key, started_at, probe.as_ref().ok(), &outcome);
                    record::append(&runs_csv, &row)?;
                    for e in EpochRow::all(&ctx, key, &outcome) {
                        record::append(&epochs_csv, &e)?;
                    }
                    report_line(&row);
                    rows.push(row);
                }
            }
        }
    }
    record::print_summary(out, &rows)?;
    Ok(())
}

fn or_all(chosen: &[String], all: &[&str]) -> Vec<String> {
    if chosen.is_empty() {
        all.iter().map(|s| s.to_string()).collect()
    } else {
        chosen.to_vec()
    }
}

/// The probe's reason, plus what the catalog says this instance should have for a GPU backend.
fn reason(why: &str, backend: &str, ctx: &Context) -> String {
    match (backend, ctx.instance.gpu_summary()) {
        ("cuda" | "wgpu", Some(gpu)) => {
            format!("{why} (the catalog lists {gpu} for {})", ctx.instance.name)
        }
        _ => why.to_string(),
    }
}

fn report_line(r: &RunRow) {
    let what = format!(
        "{}/{} b{} #{}",
        r.workload, r.backend, r.batch_size, r.repeat
    );
    match (r.status, r.total_s) {
        (Status::Ok, Some(t)) => eprintln!("{what}: ok in {t:.1} s"),
        _ => eprintln!("{what}: {}", r.status.as_str()),
    }
}
