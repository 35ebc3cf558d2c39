//! Stand-in files in the real formats, so the readers can be run, tested and benchmarked
//! without Kaggle: `training.csv`, the seed's crop folders and the raw images with YOLO labels
//! and `labels.csv`. Faces are drawn, not random, so a model has something to learn; everything
//! is deterministic by seed.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{keypoints, turtle};
use crate::error::input;

pub const KEYPOINTS_FILE: &str = "training.csv";
pub const CROPS_DIR: &str = "turtle-crops";
pub const RAW_DIR: &str = "turtle-raw";

/// What [`write`] wrote, for the CLI to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub keypoints: PathBuf,
    pub rows: usize,
    pub complete_rows: usize,
    pub crops: PathBuf,
    pub crops_per_class: usize,
    pub raw: PathBuf,
    pub raw_images: usize,
    pub raw_boxes: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let (k, c, r) = (
            self.keypoints.display(),
            self.crops.display(),
            self.raw.display(),
        );
        writeln!(
            f,
            "{k}: {} rows, {} with all 30 keypoints",
            self.rows, self.complete_rows
        )?;
        writeln!(
            f,
            "{c}: {n} face + {n} noface 198×198 crops",
            n = self.crops_per_class
        )?;
        write!(
            f,
            "{r}: {} images with {} boxes in labels/*.txt and labels.csv",
            self.raw_images, self.raw_boxes
        )
    }
}

/// Writes `rows` keypoint rows and ⌈rows/2⌉ (2..=500) turtle crops per class and raw images
/// under `dir`, which must be absent or empty: old images left beside new ones would be
/// trained on too. With `force`, what an earlier `data synth` wrote there is removed first.
pub fn write(dir: &Path, rows: usize, seed: u64, force: bool) -> Result<Summary> {
    if rows == 0 {
        return input("data synth needs at least 1 row");
    }
    let turtles = rows.div_ceil(2).clamp(2, 500);
    let keypoints = dir.join(KEYPOINTS_FILE);
    let crops = dir.join(CROPS_DIR);
    let raw = dir.join(RAW_DIR);
    if dir.exists() && !dir.is_dir() {
        return input(format!("--out {}: a file, not a folder", dir.display()));
    }
    // What else the folder holds is checked before anything is removed: a refusal changes nothing.
    let ours = [KEYPOINTS_FILE, CROPS_DIR, RAW_DIR];
    let mut left: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    left.retain(|n| !(force && ours.contains(&n.as_str())));
    if !left.is_empty() {
        left.sort();
        let more = if left.len() > 3 { ", …" } else { "" };
        left.truncate(3);
        let hint = if force {
            "; --force removes only what data synth writes"
        } else {
            "; choose an empty folder, or --force to replace what an earlier data synth wrote"
        };
        return input(format!(
            "--out {} is not empty (it holds {}{more}){hint}",
            dir.display(),
            left.join(", ")
        ));
    }
    if force {
        for old in [&crops, &raw] {
            if old.exists() {
                fs::remove_dir_all(old).with_context(|| format!("removing {}", old.display()))?;
            }
        }
        if keypoints.exists() {
            fs::remove_file(&keypoints)
                .with_context(|| format!("removing {}", keypoints.display()))?;
        }
    }
    for sub in [
        crops.join("face"),
        crops.join("noface"),
        raw.join("images"),
        raw.join("labels"),
    ] {
        fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
    }
    let complete_rows = keypoints::synth::write_csv(&keypoints, rows, seed)?;
    turtle::synth::write_crops(&crops, turtles, seed)?;
    let raw_boxes = turtle::synth::write_raw(&raw, turtles, seed)?;
    Ok(Summary {
        keypoints,
        rows,
        complete_rows,
        crops,
        crops_per_class: turtles,
        raw,
        raw_images: turtles,
        raw_boxes,
    })
}
