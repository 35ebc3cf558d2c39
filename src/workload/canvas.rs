//! Pictures painted for the stand-in data files: soft blobs of colour over noise.

use image::RgbImage;
use rand::Rng;
use rand::rngs::StdRng;

/// A `w × h` picture of `ch` interleaved channels in [0, 1].
pub(super) struct Canvas {
    w: usize,
    h: usize,
    ch: usize,
    v: Vec<f32>,
}

impl Canvas {
    pub(super) fn new(w: usize, h: usize, fill: &[f32]) -> Self {
        Self {
            w,
            h,
            ch: fill.len(),
            v: fill.repeat(w * h),
        }
    }

    /// Uniform noise in ±amp from xorshift64 seeded by `r`: a per-pixel `random_range` costs
    /// seconds per image in debug builds.
    pub(super) fn noise(&mut self, r: &mut StdRng, amp: f32) {
        let mut s = r.random::<u64>() | 1;
        for v in &mut self.v {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *v += amp * ((s >> 40) as f32 / (1u64 << 23) as f32 - 1.0);
        }
    }

    /// Blends toward `color` with weight `alpha · exp(−(dx²/rx² + dy²/ry²)/2)` over ±3 radii.
    pub(super) fn blob(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, color: &[f32], alpha: f32) {
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

    pub(super) fn to_u8(&self) -> Vec<u8> {
        self.v
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }

    pub(super) fn to_rgb(&self) -> RgbImage {
        RgbImage::from_raw(self.w as u32, self.h as u32, self.to_u8()).expect("w × h × 3 values")
    }
}
