//! Shared pieces of the synthetic data generators: seeded RNGs and soft blobs drawn on planes.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// A generator for one workload's data; `salt` keeps two workloads with one seed apart.
pub fn rng(seed: u64, salt: u64) -> StdRng {
    item_rng(seed, salt, 0)
}

/// An independent generator for item `i` of stream `salt`, so items can be made in parallel.
pub fn item_rng(seed: u64, salt: u64, i: usize) -> StdRng {
    let i = i as u64;
    StdRng::seed_from_u64(
        seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// Adds a Gaussian blob of height `amp` and width `sigma` at (`cx`, `cy`) to a `side × side`
/// plane, clamping to [0, 1]. Only the ±3σ box is touched.
pub fn add_blob(plane: &mut [f32], side: usize, cx: f32, cy: f32, sigma: f32, amp: f32) {
    let r = (3.0 * sigma).ceil() as isize;
    let (x0, y0) = (cx.round() as isize, cy.round() as isize);
    let inv = 1.0 / (2.0 * sigma * sigma);
    for y in (y0 - r).max(0)..(y0 + r + 1).min(side as isize) {
        for x in (x0 - r).max(0)..(x0 + r + 1).min(side as isize) {
            let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
            let p = &mut plane[y as usize * side + x as usize];
            *p = (*p + amp * (-d2 * inv).exp()).clamp(0.0, 1.0);
        }
    }
}
