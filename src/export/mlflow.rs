//! `gpubench export mlflow`: one MLflow run per runs.csv row, over MLflow's REST API.
//!
//! Each run carries the row's identity in the tag [`mapping::KEY_TAG`] from its creation on,
//! and is ended (FINISHED, FAILED or KILLED, as the row ended) only after all its params,
//! metrics and tags were logged. So an export finds what an earlier one finished and skips it,
//! and a run an earlier export left RUNNING (the server or the export died in between) is
//! deleted and made again: exporting twice adds nothing, and a torn export is repaired.

mod auth;
mod batch;
mod describe;
mod mapping;
mod rest;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::record::EpochRow;

use mapping::{KEY_TAG, RunSpec};
use rest::{Client, Existing};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// The tracking server, e.g. http://127.0.0.1:5000.
    #[arg(long, env = "MLFLOW_TRACKING_URI")]
    pub tracking_uri: String,
    /// The experiment the runs go into; created if absent.
    #[arg(long, default_value = "gpubench")]
    pub experiment: String,
    /// A runs.csv / epochs.csv file, or a directory searched recursively; repeatable.
    #[arg(long = "in", value_name = "DIR_OR_CSV", required = true)]
    pub inputs: Vec<PathBuf>,
}

/// Whether an earlier export ended this run (it ends a run only after logging all of it).
fn finished(e: &Existing) -> bool {
    matches!(e.status.as_str(), "FINISHED" | "FAILED" | "KILLED")
}

pub fn run(opts: &Options, out: &mut impl Write) -> Result<()> {
    let auth = auth::auth_header(|name| std::env::var(name).ok())?;
    let client = Client::new(&opts.tracking_uri, auth)?;
    let loaded = crate::report::load(&opts.inputs)?;
    let experiment = client
        .experiment(&opts.experiment)
        .context("nothing was exported")?;
    let existing = client
        .search(&experiment, KEY_TAG)
        .context("nothing was exported")?;
    let mut by_key: HashMap<&str, Vec<&Existing>> = HashMap::new();
    for e in &existing {
        by_key.entry(e.key.as_str()).or_default().push(e);
    }

    let now_ms = chrono::Utc::now().timestamp_millis();
    let total = loaded.runs.len();
    let (mut exported, mut there, mut replaced) = (0, 0, 0);
    for (i, row) in loaded.runs.iter().enumerate() {
        let epochs: Vec<&EpochRow> = loaded
            .epochs
            .iter()
            .filter(|e| mapping::epoch_of(e, row))
            .collect();
        let spec = mapping::spec(row, &epochs, now_ms);
        let earlier = by_key.remove(spec.key.as_str()).unwrap_or_default();
        let (done, torn): (Vec<&Existing>, Vec<&Existing>) =
            earlier.into_iter().partition(|e| finished(e));
        let stopped = || {
            format!(
                "export stopped after {exported} new runs of {total} ({there} were already there); \
                 `{}` is not exported (the next export makes it)",
                spec.name
            )
        };
        // A run an earlier export never finished is deleted, beside a finished one as well.
        for t in &torn {
            client.delete_run(&t.run_id).with_context(stopped)?;
        }
        if !done.is_empty() {
            there += 1;
            continue;
        }
        let id = export_one(&client, &experiment, &spec).with_context(stopped)?;
        exported += 1;
        let what = if torn.is_empty() {
            "exported"
        } else {
            replaced += 1;
            "replaced an unfinished run with"
        };
        writeln!(
            out,
            "[{}/{total}] {what} {} (MLflow run {id})",
            i + 1,
            spec.name
        )?;
    }
    let repaired = match replaced {
        0 => String::new(),
        1 => "; 1 replacing an unfinished run".to_string(),
        n => format!("; {n} replacing unfinished runs"),
    };
    writeln!(
        out,
        "exported {exported} runs ({there} already there{repaired}) to {} experiment {} (id {experiment})",
        client.uri(),
        opts.experiment
    )?;
    if !loaded.skipped.is_empty() {
        writeln!(
            out,
            "skipped {} bad rows (warned above)",
            loaded.skipped.len()
        )?;
    }
    Ok(())
}

/// Creates the run, logs everything within MLflow's limits per call, then ends it; returns
/// its id. An error leaves the run RUNNING, which the next export replaces.
fn export_one(client: &Client, experiment: &str, spec: &RunSpec) -> Result<String> {
    let key = [(KEY_TAG.to_string(), spec.key.clone())];
    let id = client.create_run(experiment, &spec.name, spec.start_ms, &key)?;
    for b in batch::batches(&spec.params, &spec.tags, &spec.metrics) {
        client
            .log_batch(&id, &b)
            .with_context(|| format!("MLflow run {id} is left unfinished"))?;
    }
    client
        .finish(&id, spec.status, spec.end_ms)
        .with_context(|| format!("MLflow run {id} is left unfinished"))?;
    Ok(id)
}
