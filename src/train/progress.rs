//! The progress bar of one run: steps over all epochs, with what the run is doing now.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Job;

pub(super) fn progress(job: &Job, steps: usize) -> ProgressBar {
    let bar = ProgressBar::new((steps * job.epochs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} steps, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{} warm-up (compiling kernels)", job.label));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
