//! The stand-in `training.csv`: faces drawn at the template's points, in Kaggle's format.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use rand::Rng;
use rayon::prelude::*;

use super::kaggle::{COLUMNS, SIDE, TARGETS};
use super::{COMMON, TEMPLATE};
use crate::workload::canvas::Canvas;
use crate::workload::synthetic::item_rng;

/// Row `i` of `training.csv`: the 96×96 pixels and the 30 coordinates (None = missing). About
/// 70 % of rows lack the 11 rarer points, as in Kaggle's file; a few lack a common one.
fn face_row(seed: u64, i: usize) -> (Vec<u8>, [Option<f32>; TARGETS]) {
    let mut r = item_rng(seed, 1, i);
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
pub(in crate::workload) fn write_csv(path: &Path, rows: usize, seed: u64) -> Result<usize> {
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

#[cfg(test)]
mod tests {
    use super::super::kaggle::{self, PIXELS};
    use super::*;
    use crate::workload::{UNIT, synth};

    #[test]
    fn csv_round_trips_exactly_and_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let s = synth::write(dir.path(), 20, 7, false).unwrap();
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
}
