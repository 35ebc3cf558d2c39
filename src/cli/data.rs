//! `gpubench data synth`: stand-in files in the real dataset formats, for demos and tests.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use crate::workload::synth;

pub fn synth(out: &mut impl Write, dir: &Path, rows: usize, seed: u64, force: bool) -> Result<()> {
    let summary = synth::write(dir, rows, seed, force)?;
    writeln!(out, "{summary}")?;
    writeln!(
        out,
        "train on them: gpubench run --instance local --data-keypoints {} --data-turtle {}",
        summary.keypoints.display(),
        summary.crops.display()
    )?;
    Ok(())
}
