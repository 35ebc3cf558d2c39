//! Where compiled GPU kernels are cached between processes, so a run can say whether its
//! warm-up started cold.

use std::path::{Path, PathBuf};

/// Whether cubecl's autotune cache already holds results, so the first warm-up of a GPU
/// backend may skip autotuning. cubecl keeps it under the nearest Cargo project's `target/`,
/// or else under the user's cache directory (cubecl-runtime's `CacheConfig::Target`).
pub fn kernel_cache_warm() -> bool {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = cwd
        .ancestors()
        .find(|d| d.join("Cargo.toml").exists())
        .map(|d| d.join("target"))
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
                .map(|c| c.join("cubecl"))
        });
    root.is_some_and(|r| has_files(&r.join("autotune")))
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() { has_files(&p) } else { true }
        })
    })
}
