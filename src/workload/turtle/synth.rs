//! Stand-in turtle files: the seed's crop folders and the raw images with YOLO labels and
//! Kaggle's `labels.csv`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use image::{DynamicImage, RgbImage};
use rand::Rng;
use rand::rngs::StdRng;
use rayon::prelude::*;

use super::SIDE;
use crate::workload::canvas::Canvas;
use crate::workload::synthetic::item_rng;

/// Crop `i` of a class: PNG, except every fourth a `.JPG` (lossy, upper-case extension).
fn crop_name(face: bool, i: usize) -> String {
    let class = if face { "face" } else { "noface" };
    let ext = if i % 4 == 3 { "JPG" } else { "png" };
    format!("{class}/{class}_{:04}.{ext}", i + 1)
}

fn crop_image(seed: u64, face: bool, i: usize) -> RgbImage {
    let mut r = item_rng(seed, if face { 2 } else { 3 }, i);
    let n = SIDE;
    let mut c = background(&mut r, n, n);
    if face {
        let s = n as f32 * r.random_range(0.8..1.0);
        paint_face(&mut c, &mut r, n as f32 / 2.0, n as f32 / 2.0, s);
    }
    c.to_rgb()
}

pub(in crate::workload) fn write_crops(dir: &Path, per_class: usize, seed: u64) -> Result<()> {
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
    let mut r = item_rng(seed, 4, i);
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
pub(in crate::workload) fn write_raw(dir: &Path, images: usize, seed: u64) -> Result<usize> {
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

#[cfg(test)]
mod tests {
    use super::super::images;
    use super::*;
    use crate::workload::{UNIT, synth};

    #[test]
    fn crops_round_trip_png_exactly_and_jpeg_closely() {
        let dir = tempfile::tempdir().unwrap();
        let s = synth::write(dir.path(), 8, 3, false).unwrap();
        let d = images::load(&s.crops, 0, false).unwrap();
        let n = s.crops_per_class;
        assert_eq!((d.kind, d.len(1), d.skipped), ("crops", 2 * n, 0));
        let plane = SIDE * SIDE;
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
        let s = synth::write(dir.path(), 16, 5, false).unwrap();
        let yolo = images::load(&s.raw, 9, false).unwrap();
        let faces = yolo.y.iter().filter(|&&y| y == 1.0).count();
        assert_eq!((yolo.kind, faces), ("yolo", s.raw_boxes));
        assert!(s.raw_boxes > s.raw_images);
        assert!(yolo.len(1) > faces, "no no-face crops");
        fs::remove_dir_all(s.raw.join("labels")).unwrap();
        assert_eq!(images::load(&s.raw, 9, false).unwrap(), yolo);
        assert_ne!(images::load(&s.raw, 10, false).unwrap().x, yolo.x);
    }
}
