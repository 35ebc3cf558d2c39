//! A picture of keypoint predictions: up to 16 faces, 4 per row, each drawn 2× with the true
//! points in green and the predicted ones in red under a legend strip.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use image::{Rgb, RgbImage};

use super::kaggle::{PIXELS, SIDE, TARGETS};

const MAX: usize = 16;
const PER_ROW: usize = 4;
const SCALE: usize = 2;
const TILE: usize = SIDE * SCALE;
const GAP: usize = 4;
const LEGEND: usize = 20;
const BACK: Rgb<u8> = Rgb([32, 32, 32]);
const TRUE: Rgb<u8> = Rgb([0, 230, 0]);
const PRED: Rgb<u8> = Rgb([255, 40, 40]);

/// Writes the grid to `path` (PNG) through a temporary file, so a reader never sees half a
/// picture. `images` is `n × 96 × 96` in [0, 1]; `truth`, `mask` and `pred` are `n × 30`
/// normalised ((c − 48)/48); only the first 16 faces are drawn.
pub fn write_png(
    path: &Path,
    images: &[f32],
    truth: &[f32],
    mask: &[f32],
    pred: &[f32],
    n: usize,
) -> Result<()> {
    ensure!(n > 0, "no faces to draw");
    ensure!(
        images.len() >= n * PIXELS && [truth, mask, pred].iter().all(|t| t.len() >= n * TARGETS),
        "overlay of {n} faces: images or targets are too short"
    );
    let shown = n.min(MAX);
    let (cols, rows) = (shown.min(PER_ROW), shown.div_ceil(PER_ROW));
    let width = cols * (TILE + GAP) + GAP;
    let height = LEGEND + rows * (TILE + GAP) + GAP;
    let mut img = RgbImage::from_pixel(width as u32, height as u32, BACK);
    legend(&mut img);
    for i in 0..shown {
        let (x0, y0) = (
            GAP + (i % PER_ROW) * (TILE + GAP),
            LEGEND + GAP + (i / PER_ROW) * (TILE + GAP),
        );
        for (j, &p) in images[i * PIXELS..(i + 1) * PIXELS].iter().enumerate() {
            let v = (p.clamp(0.0, 1.0) * 255.0).round() as u8;
            for dy in 0..SCALE {
                for dx in 0..SCALE {
                    let (x, y) = (x0 + (j % SIDE) * SCALE + dx, y0 + (j / SIDE) * SCALE + dy);
                    img.put_pixel(x as u32, y as u32, Rgb([v; 3]));
                }
            }
        }
        let t = i * TARGETS..(i + 1) * TARGETS;
        let tile = Tile { x0, y0 };
        for (k, xy) in truth[t.clone()].chunks_exact(2).enumerate() {
            if mask[t.start + 2 * k] > 0.0 {
                tile.cross(&mut img, xy, TRUE);
            }
        }
        for xy in pred[t].chunks_exact(2) {
            tile.cross(&mut img, xy, PRED);
        }
    }
    let name = path
        .file_name()
        .context("an overlay path needs a file name")?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let written = img
        .save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(std::fs::rename(&tmp, path)?));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

struct Tile {
    x0: usize,
    y0: usize,
}

impl Tile {
    /// A 7-pixel plus at normalised (x, y); the parts outside the tile are not drawn.
    fn cross(&self, img: &mut RgbImage, xy: &[f32], color: Rgb<u8>) {
        let at = |v: f32| ((v * 48.0 + 48.0) * SCALE as f32).round() as i64;
        let (cx, cy) = (at(xy[0]), at(xy[1]));
        for d in -3..=3 {
            for (x, y) in [(cx + d, cy), (cx, cy + d)] {
                if (0..TILE as i64).contains(&x) && (0..TILE as i64).contains(&y) {
                    let (x, y) = (self.x0 + x as usize, self.y0 + y as usize);
                    img.put_pixel(x as u32, y as u32, color);
                }
            }
        }
    }
}

/// "+ TRUE  + PRED" in a 3×5 pixel font drawn 2×, so no font file is needed.
fn legend(img: &mut RgbImage) {
    const GLYPHS: [(char, [u8; 5]); 6] = [
        ('T', [0b111, 0b010, 0b010, 0b010, 0b010]),
        ('R', [0b110, 0b101, 0b110, 0b101, 0b101]),
        ('U', [0b101, 0b101, 0b101, 0b101, 0b111]),
        ('E', [0b111, 0b100, 0b110, 0b100, 0b111]),
        ('P', [0b110, 0b101, 0b110, 0b100, 0b100]),
        ('D', [0b110, 0b101, 0b101, 0b101, 0b110]),
    ];
    let mut x = GAP;
    for (word, color) in [("TRUE", TRUE), ("PRED", PRED)] {
        Tile { x0: x, y0: 3 }.cross(img, &[-1.0 + 3.5 / 48.0, -1.0 + 3.5 / 48.0], color);
        x += 12;
        for c in word.chars() {
            let rows = GLYPHS.iter().find(|g| g.0 == c).map_or([0; 5], |g| g.1);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3 {
                    if bits >> (2 - col) & 1 == 1 {
                        for (dx, dy) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                            img.put_pixel(
                                (x + col * 2 + dx) as u32,
                                (5 + r * 2 + dy) as u32,
                                color,
                            );
                        }
                    }
                }
            }
            x += 8;
        }
        x += 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_grid_with_both_colours_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("val.png");
        std::fs::write(&path, b"old").unwrap();
        let n = 5;
        let images = vec![0.5; n * PIXELS];
        let truth = vec![0.0; n * TARGETS];
        let mut mask = vec![1.0; n * TARGETS];
        mask[TARGETS..].fill(0.0); // only the first face has true points
        let pred = vec![0.25; n * TARGETS];
        write_png(&path, &images, &truth, &mask, &pred, n).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(
            img.dimensions(),
            (
                (4 * (TILE + GAP) + GAP) as u32,
                (LEGEND + 2 * (TILE + GAP) + GAP) as u32
            )
        );
        let count = |c: Rgb<u8>| img.pixels().filter(|&&p| p == c).count();
        // One plus of 13 pixels on the first face, one in the legend, "TRUE" = 38 font pixels × 4.
        assert_eq!(count(TRUE), 13 + 13 + 38 * 4);
        assert!(count(PRED) >= 5 * 13);
        assert!(!dir.path().join(".val.png.tmp").exists());
        assert!(write_png(&path, &images, &truth, &mask, &pred, 6).is_err());
    }
}
