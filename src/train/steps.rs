//! One run: device init, data, model init, the warm-up step, the steady epochs and their
//! validation, each phase closed by a device sync (of every replica's device).

use std::time::Instant;

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use rand::seq::SliceRandom;

use super::check::known_product;
use super::eval::evaluate;
use super::init::replicas;
use super::input::{prefetch, split};
use super::interrupt;
use super::progress::{count_steps, progress};
use super::trainer::Trainer;
use super::{EpochStats, Job, Outcome, Stopwatch};
use crate::ops::TrainBackend;
use crate::record::Status;
use crate::telemetry::{self, Sampler};
use crate::workload::{Info, Workload};

/// Trains `w` on `devices` (one replica each; the first also validates) for `job`, timing
/// each phase. Errors during the run become `status=failed` with whatever was measured
/// before them.
pub fn train<B, W>(w: W, devices: &[B::Device], job: &Job) -> Outcome
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B, InnerModule = W::Model<B::InnerBackend>>,
{
    let mut out = Outcome::empty(&Info::of(&w), Status::Ok, None);
    let sampler = Sampler::start(telemetry::open(&job.telemetry), job.keep_samples);
    let mut sw = Stopwatch::<B>::start(&devices[0], sampler);
    let mut tail = "end";
    if let Err(e) = run_phases(w, devices, job, &mut out, &mut sw) {
        out.status = Status::Failed;
        out.error = Some(format!("{e:#}"));
        tail = "unfinished";
    }
    (out.total_s, out.telemetry) = {
        let (total, telemetry) = sw.finish(tail);
        (Some(total), telemetry)
    };
    out
}

fn run_phases<B, W>(
    w: W,
    devices: &[B::Device],
    job: &Job,
    out: &mut Outcome,
    sw: &mut Stopwatch<B>,
) -> Result<()>
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B, InnerModule = W::Model<B::InnerBackend>>,
{
    let bar = progress(job);
    // Device init: the backend starts lazily, so make it run (and read back) one small product
    // whose value is known, through the backend's own kernel.
    for device in devices {
        known_product::<B>(device)?;
    }
    out.phases.device_init_s = Some(sw.lap("device_init")?);
    if stopped(out, "after device init") {
        return Ok(());
    }
    bar.set_message(format!("{} loading data", job.label));

    let data = job.data.load(&w, job.seed)?;
    let n = data.len(w.target_len());
    let (train_idx, val_idx) = split(n, job.seed);
    let b = job.global_batch();
    if train_idx.len() < b {
        anyhow::bail!(
            "{} training images, fewer than one batch of {b}",
            train_idx.len(),
        );
    }
    out.dataset = Some(data.kind);
    out.dataset_sha256 = Some(data.sha256_prefix());
    out.skipped = Some(data.skipped);
    out.n_train = Some(train_idx.len());
    out.n_val = Some(val_idx.len());
    out.phases.data_load_s = Some(sw.lap("data_load")?);
    if stopped(out, "after loading data") {
        return Ok(());
    }

    bar.set_message(format!("{} model init", job.label));
    let (models, init_sha256) = replicas::<B, W>(&w, devices, job.seed);
    out.init_sha256 = Some(init_sha256);
    out.params = Some(models[0].num_params());
    // Joining the collective waits for every node of a multi-node run: model init holds it.
    let mut trainer = Trainer::<B, W>::new(w, &job.spread, devices.to_vec(), models)?;
    out.phases.model_init_s = Some(sw.lap("model_init")?);
    if stopped(out, "after model init") {
        trainer.finish();
        return Ok(());
    }

    out.target = Some(job.target.value);
    let steps = train_idx.len() / b; // the last partial batch is dropped: shapes never change
    count_steps(&bar, job, steps);
    let (mut train_s, mut eval_s) = (0.0, 0.0);
    for epoch in 1..=job.epochs {
        let mut order = train_idx.clone();
        let mut rng = crate::workload::rng(job.seed, 1000 + epoch as u64);
        order.shuffle(&mut rng);
        let mut epoch_s = 0.0;
        let mut done = 0;
        std::thread::scope(|scope| -> Result<_> {
            let batches = prefetch(
                scope,
                w,
                &data,
                &order[..steps * b],
                b,
                job.flip.then_some(rng),
            );
            while !interrupt::requested() {
                // Waiting for the next batch and handing it over is the harness's own cost.
                let asked = Instant::now();
                let Ok(host) = batches.recv() else { break };
                let waited = asked.elapsed().as_secs_f64();
                let times = trainer.step(host)?;
                if out.phases.warmup_s.is_none() {
                    trainer.sync()?;
                    let s = sw.lap("warmup")?;
                    out.phases.warmup_s = Some(s);
                    epoch_s += s;
                    bar.set_message(format!("{} training", job.label));
                } else {
                    *out.input_wait_s.get_or_insert(0.0) += waited + times.upload_s;
                    if let Some(c) = times.comm_s {
                        *out.comm_s.get_or_insert(0.0) += c;
                    }
                }
                done += 1;
                bar.inc(1);
            }
            Ok(())
        })?;
        if done < steps {
            // Stopped by a signal: keep the steady steps this epoch got through.
            trainer.sync()?;
            let s = sw.lap("train")?;
            let steady = ((epoch - 1) * steps + done).saturating_sub(1);
            if steady > ((epoch - 1) * steps).saturating_sub(1) {
                out.phases.train_s = Some(train_s + s);
                out.steady_images = steady * b;
            }
            stopped(
                out,
                &format!("in epoch {epoch} after {done} of {steps} steps"),
            );
            trainer.finish();
            return Ok(());
        }
        let train_loss = trainer.take_loss()? / steps as f64;
        let s = sw.lap("train")?;
        epoch_s += s;
        train_s += s;
        out.phases.train_s = Some(train_s);
        out.steady_images = (epoch * steps - 1) * b;
        if !train_loss.is_finite() {
            out.status = Status::Diverged;
            out.error = Some(format!(
                "training loss became {train_loss} in epoch {epoch}"
            ));
            out.epochs.push(EpochStats {
                epoch,
                seconds: epoch_s,
                train_loss,
                val_metric: None,
            });
            trainer.finish();
            return Ok(());
        }

        bar.set_message(format!("{} epoch {epoch}: evaluating", job.label));
        let model = trainer.model()?.valid();
        let (sums, sample, confusion) = evaluate::<B::InnerBackend, W>(
            &w,
            &model,
            &data,
            &val_idx,
            job.batch_size,
            &devices[0],
        )?;
        eval_s += sw.lap("eval")?;
        let metric = w.metric(&sums);
        let reached = out.epochs_to_target.is_none() && job.target.reached(metric);
        if reached {
            out.epochs_to_target = Some(epoch);
        }
        let last = epoch == job.epochs || (reached && job.stop_at_target);
        if last && let Some(path) = &job.draw_to {
            // Drawn after the eval lap: a picture is not part of any timed phase.
            // A picture that cannot be written costs the picture, not the measurements.
            out.artifact = w.draw(path, &sample).unwrap_or_else(|e| {
                eprintln!("warning: {}: no picture: {e:#}", job.label);
                None
            });
            sw.lap("picture")?;
        }
        out.phases.eval_s = Some(eval_s);
        out.val_loss = Some(sums.loss_sum / sums.loss_count);
        out.val_metric = Some(metric);
        out.confusion = confusion;
        out.epochs.push(EpochStats {
            epoch,
            seconds: epoch_s,
            train_loss,
            val_metric: out.val_metric,
        });
        bar.set_message(format!("{} epoch {epoch}: loss {train_loss:.4}", job.label));
        if last {
            break;
        }
    }
    trainer.finish();
    Ok(())
}

/// Marks `out` interrupted when a signal asked the run to stop.
fn stopped(out: &mut Outcome, when: &str) -> bool {
    let asked = interrupt::requested();
    if asked {
        out.status = Status::Interrupted;
        out.error = Some(format!("interrupted by Ctrl-C or SIGTERM {when}"));
    }
    asked
}
