//! Stand-in files in the real formats, so the readers can be run, tested and benchmarked
//! without Kaggle: `training.csv`, the seed's crop folders and the raw images with YOLO labels
//! and `labels.csv`. Faces are drawn, not random, so a model has something to learn; everything
//! is deterministic by seed.

use std::fmt;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::{DynamicImage, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::kaggle::{COLUMNS, SIDE, TARGETS};
use super::turtle;
use crate::error::input;

pub const KEYPOINTS_FILE: &str = "training.csv";
pub const CROPS_DIR: &str = "turtle-crops";
pub const RAW_DIR: &str = "turtle-raw";

/// Mean keypoint positions of the Kaggle faces, in pixels, in column order.
const TEMPLATE: [(f32, f32); 15] = [
    (66.4, 37.7),
    (30.3, 37.6),
    (59.2, 37.9),
    (73.1, 37.6),
    (36.7, 37.9),
    (22.4, 38.0),
    (56.1, 29.3),
    (79.5, 29.9),
    (39.3, 29.6),
    (15.9, 30.4),
    (48.4, 62.7),
    (63.3, 75.9),
    (32.9, 76.2),
    (48.0, 72.9),
    (48.6, 79.0),
];
/// The four points nearly every Kaggle row has: eye centres, nose tip, bottom lip.
const COMMON: [usize; 4] = [0, 1, 10, 14];

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
/// under `dir`.
pub fn write(dir: &Path, rows: usize, seed: u64) -> Result<Summary> {
    if rows == 0 {
        return input("data synth needs at least 1 row");
    }
    let turtles = rows.div_ceil(2).clamp(2, 500);
    let keypoints = dir.join(KEYPOINTS_FILE);
    let crops = dir.join(CROPS_DIR);
    let raw = dir.join(RAW_DIR);
    for sub in [
        crops.join("face"),
        crops.join("noface"),
        raw.join("images"),
        raw.join("labels"),
    ] {
        fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
    }
    let complete_rows = write_csv(&keypoints, rows, seed)?;
    write_crops(&crops, turtles, seed)?;
    let raw_boxes = write_raw(&raw, turtles, seed)?;
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

/// An independent generator for item `i` of stream `salt`, so items can be made in parallel.
fn rng(seed: u64, salt: u64, i: usize) -> StdRng {
    let i = i as u64;
    StdRng::seed_from_u64(
        seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// Row `i` of `training.csv`: the 96×96 pixels and the 30 coordinates (None = missing). About
/// 70 % of rows lack the 11 rarer points, as in Kaggle's file; a few lack a common one.
fn face_row(seed: u64, i: usize) -> (Vec<u8>, [Option<f32>; TARGETS]) {
    let mut r = rng(seed, 1, i);
    let mut c = Canvas::new(SIDE, SIDE, &[r.random_range(0.15..0.5)]);
    c.noise(&mut r, 0.08);
    let (s, dx, dy): (f32, f32, f32) = (
        r.random_range(0.9..1.1),
        r.random_range(-5.0..5.0),
        r.random_range(-5.0..5.0),
    );
    c.blob(
        48.0 + dx,
        52.0 + dy,
        26.0 * s,
        34.0 * s,
        &[r.random_range(0.45..0.65)],
        0.9,
    );
    let sparse = r.random::<f32>() < 0.7;
    let mut coords = [None; TARGETS];
    for (k, &(tx, ty)) in TEMPLATE.iter().enumerate() {
        let x = 48.0 + (tx - 48.0) * s + dx + r.random_range(-1.0..1.0);
        let y = 48.0 + (ty - 48.0) * s + dy + r.random_range(-1.0..1.0);
        let (rx, ry, tone) = match k {
            0 | 1 => (3.5, 2.0, 0.1), // eye centres
            2..=5 => (1.5, 1.5, 0.3), // eye corners
            6..=9 => (2.5, 1.2, 0.2), // eyebrow ends
            10 => (3.0, 2.5, 0.4),    // nose tip
            _ => (3.0, 1.5, 0.25),    // mouth
        };
        c.blob(x, y, rx * s, ry * s, &[tone], 0.8);
        let labelled = if COMMON.contains(&k) {
            r.random::<f32>() > 0.003 || k == 10
        } else {
            !sparse
        };
        if labelled {
            (coords[2 * k], coords[2 * k + 1]) = (Some(x), Some(y));
        }
    }
    (c.to_u8(), coords)
}

/// Writes `training.csv` in blocks of rows made in parallel; returns the number of complete
/// rows. Coordinates are written in Rust's shortest round-trip form, so reading them back gives
/// the same f32; every fifth `Image` is quoted, as a CSV writer may do.
fn write_csv(path: &Path, rows: usize, seed: u64) -> Result<usize> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    writeln!(out, "{}", COLUMNS.join(","))?;
    let mut complete = 0;
    for block in (0..rows).collect::<Vec<_>>().chunks(256) {
        let lines: Vec<(Vec<u8>, bool)> = block
            .par_iter()
            .map(|&i| {
                let (pixels, coords) = face_row(seed, i);
                let mut line = Vec::with_capacity(40_000);
                for c in coords {
                    if let Some(v) = c {
                        write!(line, "{v}").expect("writing to memory");
                    }
                    line.push(b',');
                }
                let quote = i % 5 == 4;
                line.extend(quote.then_some(b'"'));
                for (j, p) in pixels.iter().enumerate() {
                    if j > 0 {
                        line.push(b' ');
                    }
                    push_u8(&mut line, *p);
                }
                line.extend(quote.then_some(b'"'));
                line.push(b'\n');
                (line, coords.iter().all(Option::is_some))
            })
            .collect();
        for (line, full) in lines {
            out.write_all(&line)?;
            complete += usize::from(full);
        }
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(complete)
}

fn push_u8(out: &mut Vec<u8>, v: u8) {
    if v >= 100 {
        out.push(b'0' + v / 100);
    }
    if v >= 10 {
        out.push(b'0' + v / 10 % 10);
    }
    out.push(b'0' + v % 10);
}

/// Crop `i` of a class: PNG, except every fourth a `.JPG` (lossy, upper-case extension).
fn crop_name(face: bool, i: usize) -> String {
    let class = if face { "face" } else { "noface" };
    let ext = if i % 4 == 3 { "JPG" } else { "png" };
    format!("{class}/{class}_{:04}.{ext}", i + 1)
}

fn crop_image(seed: u64, face: bool, i: usize) -> RgbImage {
    let mut r = rng(seed, if face { 2 } else { 3 }, i);
    let n = turtle::SIDE;
    let mut c = background(&mut r, n, n);
    if face {
        let s = n as f32 * r.random_range(0.8..1.0);
        paint_face(&mut c, &mut r, n as f32 / 2.0, n as f32 / 2.0, s);
    }
    c.to_rgb()
}

fn write_crops(dir: &Path, per_class: usize, seed: u64) -> Result<()> {
    let jobs: Vec<(bool, usize)> = [true, false]
        .into_iter()
        .flat_map(|f| (0..per_class).map(move |i| (f, i)))
        .collect();
    jobs.par_iter().try_for_each(|&(face, i)| {
        let path = dir.join(crop_name(face, i));
        let img = crop_image(seed, face, i);
        img.save(&path)
            .with_context(|| format!("writing {}", path.display()))
    })
}

/// Raw image `i` (name, picture, integer pixel boxes `[x, y, w, h]`): 240–560 × 200–420
/// pixels, one face (two in every seventh), some touching an edge so squaring leaves the image.
fn raw_image(seed: u64, i: usize) -> (String, RgbImage, Vec<[u32; 4]>) {
    let mut r = rng(seed, 4, i);
    let (w, h) = (r.random_range(240..=560), r.random_range(200..=420));
    let mut c = background(&mut r, w, h);
    let faces = if i % 7 == 3 { 2 } else { 1 };
    let mut boxes = Vec::new();
    for f in 0..faces {
        // Faces take separate halves of the width so they never overlap.
        let room = w / faces;
        let bw = r.random_range(50..=(room / 2).min(h / 2));
        let bh = bw * r.random_range(70..=100) / 100;
        let x = f * room + r.random_range(0..=room - bw);
        let y = if i % 5 == 2 {
            0
        } else {
            r.random_range(0..=h - bh)
        };
        let side = bw.max(bh) as f32;
        paint_face(
            &mut c,
            &mut r,
            x as f32 + bw as f32 / 2.0,
            y as f32 + bh as f32 / 2.0,
            side,
        );
        boxes.push([x as u32, y as u32, bw as u32, bh as u32]);
    }
    let ext = if i == 1 { "png" } else { "jpg" };
    (format!("Image_{}.{ext}", i + 1), c.to_rgb(), boxes)
}

/// Writes the raw layout: images (the second an RGBA PNG), one YOLO file per image and
/// Kaggle's headerless `labels.csv`; returns the number of boxes.
fn write_raw(dir: &Path, images: usize, seed: u64) -> Result<usize> {
    let done: Vec<(String, usize)> = (0..images)
        .into_par_iter()
        .map(|i| {
            let (name, img, boxes) = raw_image(seed, i);
            let (w, h) = img.dimensions();
            let path = dir.join("images").join(&name);
            let saved = if i == 1 {
                DynamicImage::ImageRgb8(img).to_rgba8().save(&path)
            } else {
                img.save(&path)
            };
            saved.with_context(|| format!("writing {}", path.display()))?;
            let (mut yolo, mut csv) = (String::new(), String::new());
            let (fw, fh) = (f64::from(w), f64::from(h));
            for &[x, y, bw, bh] in &boxes {
                let (x, y, bw, bh) = (f64::from(x), f64::from(y), f64::from(bw), f64::from(bh));
                let (cx, cy) = ((x + bw / 2.0) / fw, (y + bh / 2.0) / fh);
                yolo += &format!("0 {cx} {cy} {} {}\n", bw / fw, bh / fh);
                csv += &format!("Turtle,{x},{y},{bw},{bh},{name},{w},{h}\n");
            }
            let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
            let path = dir.join("labels").join(format!("{stem}.txt"));
            fs::write(&path, yolo).with_context(|| format!("writing {}", path.display()))?;
            Ok((csv, boxes.len()))
        })
        .collect::<Result<_>>()?;
    let path = dir.join("labels.csv");
    let csv: String = done.iter().map(|d| d.0.as_str()).collect();
    fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?;
    Ok(done.iter().map(|d| d.1).sum())
}

/// Sand, water or rock with spots of other colours, so no-face crops are not one flat colour.
fn background(r: &mut StdRng, w: usize, h: usize) -> Canvas {
    const GROUNDS: [[f32; 3]; 3] = [[0.82, 0.72, 0.52], [0.12, 0.35, 0.52], [0.45, 0.45, 0.43]];
    let mut c = Canvas::new(w, h, &GROUNDS[r.random_range(0..GROUNDS.len())]);
    for _ in 0..r.random_range(3..8) {
        let ground = GROUNDS[r.random_range(0..GROUNDS.len())];
        let (x, y) = (r.random_range(0.0..w as f32), r.random_range(0.0..h as f32));
        let rad = r.random_range(0.05..0.2) * w.min(h) as f32;
        c.blob(x, y, rad, rad * r.random_range(0.5..1.5), &ground, 0.7);
    }
    c.noise(r, 0.06);
    c
}

/// A turtle head filling a square of `side` about (cx, cy): olive skin, dark scutes, two eyes.
fn paint_face(c: &mut Canvas, r: &mut StdRng, cx: f32, cy: f32, side: f32) {
    c.blob(cx, cy, 0.32 * side, 0.4 * side, &[0.42, 0.36, 0.18], 0.95);
    for _ in 0..6 {
        let (dx, dy) = (
            r.random_range(-0.2..0.2) * side,
            r.random_range(-0.1..0.3) * side,
        );
        c.blob(
            cx + dx,
            cy + dy,
            0.06 * side,
            0.05 * side,
            &[0.2, 0.15, 0.07],
            0.8,
        );
    }
    for ex in [-0.17, 0.17] {
        c.blob(
            cx + ex * side,
            cy - 0.12 * side,
            0.045 * side,
            0.04 * side,
            &[0.02; 3],
            0.95,
        );
    }
}

/// A `w × h` picture of `ch` interleaved channels in [0, 1].
struct Canvas {
    w: usize,
    h: usize,
    ch: usize,
    v: Vec<f32>,
}

impl Canvas {
    fn new(w: usize, h: usize, fill: &[f32]) -> Self {
        Self {
            w,
            h,
            ch: fill.len(),
            v: fill.repeat(w * h),
        }
    }

    /// Uniform noise in ±amp from xorshift64 seeded by `r`: a per-pixel `random_range` costs
    /// seconds per image in debug builds.
    fn noise(&mut self, r: &mut StdRng, amp: f32) {
        let mut s = r.random::<u64>() | 1;
        for v in &mut self.v {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *v += amp * ((s >> 40) as f32 / (1u64 << 23) as f32 - 1.0);
        }
    }

    /// Blends toward `color` with weight `alpha · exp(−(dx²/rx² + dy²/ry²)/2)` over ±3 radii.
    fn blob(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, color: &[f32], alpha: f32) {
        let span = |c: f32, r: f32, n: usize| {
            ((c - 3.0 * r).floor().max(0.0) as usize)
                ..((c + 3.0 * r).ceil().max(0.0) as usize).min(n)
        };
        for y in span(cy, ry, self.h) {
            for x in span(cx, rx, self.w) {
                let d = ((x as f32 - cx) / rx).powi(2) + ((y as f32 - cy) / ry).powi(2);
                let a = alpha * (-d / 2.0).exp();
                let px = &mut self.v[(y * self.w + x) * self.ch..][..self.ch];
                for (p, c) in px.iter_mut().zip(color) {
                    *p += a * (c - *p);
                }
            }
        }
    }

    fn to_u8(&self) -> Vec<u8> {
        self.v
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }

    fn to_rgb(&self) -> RgbImage {
        RgbImage::from_raw(self.w as u32, self.h as u32, self.to_u8()).expect("w × h × 3 values")
    }
}

#[cfg(test)]
mod tests {
    use super::super::UNIT;
    use super::super::kaggle::{self, PIXELS};
    use super::*;

    #[test]
    fn csv_round_trips_exactly_and_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), 20, 7).unwrap();
        let d = kaggle::load(&s.keypoints, kaggle::Missing::Mask).unwrap();
        assert_eq!(d.len(TARGETS), 20);
        for i in 0..20 {
            let (pixels, coords) = face_row(7, i);
            let x = &d.x[i * PIXELS..(i + 1) * PIXELS];
            assert!(
                x.iter()
                    .zip(&pixels)
                    .all(|(&x, &p)| x == UNIT[usize::from(p)]),
                "row {i}"
            );
            for (k, c) in coords.iter().enumerate() {
                let (y, m) = (d.y[i * TARGETS + k], d.mask[i * TARGETS + k]);
                match c {
                    Some(v) => assert_eq!((y, m), ((v - 48.0) / 48.0, 1.0), "row {i} col {k}"),
                    None => assert_eq!(m, 0.0),
                }
            }
        }
        let dropped = kaggle::load(&s.keypoints, kaggle::Missing::Drop).unwrap();
        assert_eq!(dropped.len(TARGETS), s.complete_rows);
        assert!(s.complete_rows > 0 && s.complete_rows < 20);

        let again = |seed| {
            let path = dir.path().join("again.csv");
            write_csv(&path, 20, seed).unwrap();
            fs::read(path).unwrap()
        };
        assert_eq!(fs::read(&s.keypoints).unwrap(), again(7));
        assert_ne!(fs::read(&s.keypoints).unwrap(), again(8));
    }

    #[test]
    fn missing_fields_come_in_kaggle_proportions() {
        let rows: Vec<_> = (0..500).map(|i| face_row(1, i).1).collect();
        let share = |k: usize| rows.iter().filter(|c| c[2 * k].is_some()).count() as f32 / 500.0;
        assert!((0.22..0.38).contains(&share(2)), "{}", share(2));
        assert!(share(0) > 0.97 && share(10) == 1.0);
    }

    #[test]
    fn crops_round_trip_png_exactly_and_jpeg_closely() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), 8, 3).unwrap();
        let d = turtle::load(&s.crops, 0, false).unwrap();
        let n = s.crops_per_class;
        assert_eq!((d.kind, d.len(1), d.skipped), ("crops", 2 * n, 0));
        let plane = turtle::SIDE * turtle::SIDE;
        for (k, (face, i)) in [true, false]
            .into_iter()
            .flat_map(|f| (0..n).map(move |i| (f, i)))
            .enumerate()
        {
            assert_eq!(d.y[k], if face { 1.0 } else { 0.0 });
            let img = crop_image(3, face, i);
            let x = &d.x[k * 3 * plane..(k + 1) * 3 * plane];
            let err: Vec<f32> = img
                .pixels()
                .enumerate()
                .flat_map(|(j, p)| {
                    (0..3).map(move |c| (x[c * plane + j] - UNIT[usize::from(p[c])]).abs())
                })
                .collect();
            // JPEG is lossy: compared by mean error; PNG exactly.
            let (max, mean) = (
                err.iter().copied().fold(0.0, f32::max),
                err.iter().sum::<f32>() / err.len() as f32,
            );
            if crop_name(face, i).ends_with("png") {
                assert_eq!(max, 0.0, "{}", crop_name(face, i));
            } else {
                assert!(mean < 0.03, "{}: {mean}", crop_name(face, i));
            }
        }
    }

    #[test]
    fn raw_layout_gives_the_same_crops_from_yolo_and_labels_csv() {
        let dir = tempfile::tempdir().unwrap();
        let s = write(dir.path(), 16, 5).unwrap();
        let yolo = turtle::load(&s.raw, 9, false).unwrap();
        let faces = yolo.y.iter().filter(|&&y| y == 1.0).count();
        assert_eq!((yolo.kind, faces), ("yolo", s.raw_boxes));
        assert!(s.raw_boxes > s.raw_images);
        assert!(yolo.len(1) > faces, "no no-face crops");
        fs::remove_dir_all(s.raw.join("labels")).unwrap();
        assert_eq!(turtle::load(&s.raw, 9, false).unwrap(), yolo);
        assert_ne!(turtle::load(&s.raw, 10, false).unwrap().x, yolo.x);
    }
}
