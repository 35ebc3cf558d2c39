//! What a run shows while it works: a spinner with the elapsed time through device init, data
//! and model init, then a bar over the steps of all epochs, with what the run is doing now
//! (compiling kernels in the warm-up step, training, evaluating).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressFinish, ProgressStyle};

use super::Job;

/// A spinner showing `msg` and the elapsed time until it is dropped, then cleared.
pub fn spinner(msg: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_finish(ProgressFinish::AndClear);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}, {elapsed}").expect("valid template"),
    );
    bar.set_message(msg);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The spinner of one run, from device init on.
pub(super) fn progress(job: &Job) -> ProgressBar {
    spinner(format!("{} device init (starting the backend)", job.label))
}

/// Turns the run's spinner into a bar over every step, once their number is known.
pub(super) fn count_steps(bar: &ProgressBar, job: &Job, steps: usize) {
    bar.set_length((steps * job.epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} steps, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{} warm-up (compiling kernels)", job.label));
}
