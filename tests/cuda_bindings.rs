//! The CUDA bindings gpubench is built with, checked without a GPU: they are CUDA 12.2's (driver
//! R535 and newer load them), whatever CUDA the build machine has, and the built binary asks the
//! driver for no function that CUDA 12.2 lacks. cudarc loads each driver function by name when it
//! is first called, so a newer one (`cuEventElapsedTime_v2` is 12.8's) fails only then, on a
//! user's machine, as a "missing symbol".
//!
//! `GPUBENCH_SYMBOLS_BINARY=PATH` checks another binary (e.g. one built before the pin).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The CUDA version the bindings must be, as cudarc's features name it.
const PINNED: &str = "cuda-12020";

#[test]
fn the_driver_bindings_are_pinned_to_cuda_12_2() {
    assert_eq!(
        cudarc::driver::sys::CUDA_VERSION,
        12020,
        "cudarc was not built with the {PINNED} feature"
    );
}

/// cudarc's source directory: the version Cargo.lock holds, unpacked in Cargo's registry
/// (the build already fetched it).
fn cudarc_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"cudarc\""))
        .and_then(|p| p.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .expect("cudarc in Cargo.lock");
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap()).join(".cargo"));
    std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flatten()
        .map(|index| index.path().join(format!("cudarc-{version}")))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("cudarc-{version} is not in {}", home.display()))
}

/// Every function of a cudarc bindings file with the CUDA versions that have it (`None`: all).
fn functions(path: &Path) -> BTreeMap<String, Option<Vec<String>>> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("pub unsafe fn ") else {
            continue;
        };
        let name: String = rest.chars().take_while(|c| *c != '(').collect();
        // A cfg naming no CUDA version (`dynamic-loading` helpers) holds for every version.
        let versions = lines[..i]
            .last()
            .filter(|l| l.starts_with("#[cfg("))
            .map(|l| -> Vec<String> {
                l.split("feature = \"")
                    .skip(1)
                    .filter_map(|f| f.split('"').next())
                    .filter(|f| f.starts_with("cuda-"))
                    .map(str::to_string)
                    .collect()
            })
            .filter(|v| !v.is_empty());
        out.insert(name, versions);
    }
    out
}

#[test]
fn the_binary_calls_no_driver_or_nvrtc_function_newer_than_its_bindings() {
    let binary = std::env::var_os("GPUBENCH_SYMBOLS_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_gpubench").into());
    let bytes = std::fs::read(&binary).unwrap();
    let dir = cudarc_dir();
    let mut newer = Vec::new();
    let mut known = 0;
    for file in ["src/driver/sys/mod.rs", "src/nvrtc/sys/mod.rs"] {
        for (name, versions) in functions(&dir.join(file)) {
            known += 1;
            let missing = versions.is_some_and(|v| !v.iter().any(|f| f == PINNED));
            // The name ends where the next symbol or a NUL begins; a longer name that merely
            // starts with it (`cuFoo_v2` for `cuFoo`) is not it.
            let used = memchr::memmem::find_iter(&bytes, name.as_bytes()).any(|at| {
                !bytes
                    .get(at + name.len())
                    .is_some_and(|b| b.is_ascii_alphanumeric() && !b.is_ascii_lowercase())
                    && bytes.get(at + name.len()) != Some(&b'_')
            });
            if missing && used {
                newer.push(name);
            }
        }
    }
    assert!(
        known > 500,
        "read only {known} functions from {}",
        dir.display()
    );
    assert!(
        newer.is_empty(),
        "{} asks for functions that {PINNED} does not have: {newer:?}",
        binary.display()
    );
}
