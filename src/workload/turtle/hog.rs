//! Histogram of oriented gradients as the seed computed it: `skimage.feature.hog(rgb2gray(img),
//! orientations=9, pixels_per_cell=(14, 14), cells_per_block=(2, 2), block_norm='L2-Hys')`.
//! Follows skimage 0.19+ step by step (float64 inside, like numpy), so features match it to
//! float rounding.

const BINS: usize = 9;
const CELL: usize = 14;
const BLOCK: usize = 2;
const WIDTH: f64 = 180.0 / BINS as f64;

/// Features of a 198×198 image: 13 × 13 blocks × 2 × 2 cells × 9 orientations.
pub const HOG_LEN: usize = 6084;

/// HOG of one `3 × side × side` RGB image in [0, 1] (CHW), in skimage's order
/// (block row, block column, cell row, cell column, orientation).
pub fn features(chw_rgb: &[f32], side: usize) -> Vec<f32> {
    let plane = side * side;
    assert_eq!(
        chw_rgb.len(),
        3 * plane,
        "features() takes one 3 × side × side image"
    );
    let (r, g, b) = (
        &chw_rgb[..plane],
        &chw_rgb[plane..2 * plane],
        &chw_rgb[2 * plane..],
    );
    // skimage's rgb2gray weights (ITU-R BT.709).
    let gray: Vec<f64> = (0..plane)
        .map(|i| 0.2125 * f64::from(r[i]) + 0.7154 * f64::from(g[i]) + 0.0721 * f64::from(b[i]))
        .collect();

    // Cell histograms: central differences, zero on the border rows / columns; unsigned
    // orientation in [0, 180); bin i holds [20i, 20(i+1)); each cell's sum divided by its area.
    let cells = side / CELL;
    let mut hist = vec![0.0f64; cells * cells * BINS];
    for y in 0..cells * CELL {
        for x in 0..cells * CELL {
            let at = |yy: usize, xx: usize| gray[yy * side + xx];
            let gr = if y == 0 || y + 1 == side {
                0.0
            } else {
                at(y + 1, x) - at(y - 1, x)
            };
            let gc = if x == 0 || x + 1 == side {
                0.0
            } else {
                at(y, x + 1) - at(y, x - 1)
            };
            // Bins by comparison, as skimage does; a remainder rounded up to 180 is in none.
            let angle = gr.atan2(gc).to_degrees().rem_euclid(180.0);
            if angle < 180.0 {
                let bin = (1..BINS).filter(|&i| angle >= WIDTH * i as f64).count();
                hist[((y / CELL) * cells + x / CELL) * BINS + bin] += (gr * gr + gc * gc).sqrt();
            }
        }
    }
    let area = (CELL * CELL) as f64;
    hist.iter_mut().for_each(|h| *h /= area);

    // Overlapping 2 × 2-cell blocks, each normalised with L2-Hys (L2, clip at 0.2, L2 again).
    let blocks = cells.saturating_sub(BLOCK - 1);
    let mut out = Vec::with_capacity(blocks * blocks * BLOCK * BLOCK * BINS);
    let mut block = Vec::with_capacity(BLOCK * BLOCK * BINS);
    for by in 0..blocks {
        for bx in 0..blocks {
            block.clear();
            for cy in by..by + BLOCK {
                let row = (cy * cells + bx) * BINS;
                block.extend_from_slice(&hist[row..row + BLOCK * BINS]);
            }
            l2(&mut block);
            block.iter_mut().for_each(|v| *v = v.min(0.2));
            l2(&mut block);
            out.extend(block.iter().map(|&v| v as f32));
        }
    }
    out
}

/// Divides by √(Σv² + ε²) with skimage's ε = 1e-5, so an all-zero block stays zero.
fn l2(v: &mut [f64]) {
    let norm = (v.iter().map(|x| x * x).sum::<f64>() + 1e-10).sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIDE: usize = 198;

    fn rgb(f: impl Fn(usize, usize) -> f32) -> Vec<f32> {
        let plane: Vec<f32> = (0..SIDE * SIDE).map(|i| f(i / SIDE, i % SIDE)).collect();
        plane.repeat(3)
    }

    #[test]
    fn constant_image_gives_zeros_of_the_right_length() {
        let f = features(&rgb(|_, _| 0.4), SIDE);
        assert_eq!(f.len(), HOG_LEN);
        assert!(f.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn vertical_edge_fills_the_horizontal_gradient_bin() {
        let f = features(&rgb(|_, x| if x < 100 { 0.0 } else { 1.0 }), SIDE);
        let energy = |bin: usize| f.iter().skip(bin).step_by(BINS).sum::<f32>();
        assert!(energy(0) > 0.0);
        assert!((1..BINS).all(|b| energy(b) == 0.0));
        // Only blocks over columns 99..=100 (cell column 7) see it: block columns 6 and 7.
        for (i, v) in f.iter().enumerate() {
            let block_col = (i / (BLOCK * BLOCK * BINS)) % 13;
            assert!(*v == 0.0 || block_col == 6 || block_col == 7, "feature {i}");
        }
        // A horizontal edge: orientation 90°, bin 4.
        let h = features(&rgb(|y, _| if y < 100 { 0.0 } else { 1.0 }), SIDE);
        assert!(h.iter().skip(4).step_by(BINS).sum::<f32>() > 0.0);
        assert_eq!(
            h.iter().sum::<f32>(),
            h.iter().skip(4).step_by(BINS).sum::<f32>()
        );
    }

    #[test]
    fn blocks_have_unit_norm() {
        let f = features(&rgb(|y, x| ((x * 7 + y * 13) % 23) as f32 / 23.0), SIDE);
        for block in f.chunks(BLOCK * BLOCK * BINS) {
            let norm: f32 = block.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        }
    }

    /// Values printed by skimage 0.26 for the same image (as uint8, through `rgb2gray`).
    #[test]
    fn matches_skimage() {
        let img: Vec<f32> = (0..3 * SIDE * SIDE)
            .map(|i| {
                let (c, y, x) = (i / (SIDE * SIDE), i / SIDE % SIDE, i % SIDE);
                ((x * 7 + y * 13 + c * 50 + (x * y) % 17) % 256) as f32 / 255.0
            })
            .collect();
        let f = features(&img, SIDE);
        let want = [
            (0, 0.029694356697865396),
            (1000, 0.06424559908267145),
            (3333, 0.2312244939338955),
            (6083, 0.09828495312927386),
        ];
        for (i, v) in want {
            assert!(
                (f64::from(f[i]) - v).abs() < 1e-6,
                "feature {i}: {} vs {v}",
                f[i]
            );
        }
        let sum: f64 = f.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 682.3871228319359).abs() < 1e-3, "{sum}");
    }
}
