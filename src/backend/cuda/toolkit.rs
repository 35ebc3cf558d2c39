//! What burn's CUDA backend needs beyond a driver, checked before a run rather than found
//! broken inside one: a driver at least as new as the bindings gpubench was built with, an NVRTC
//! no newer than the driver (burn loads the PTX NVRTC writes, and a driver rejects PTX of a newer
//! CUDA), and the toolkit's headers (cubecl's kernels `#include <cuda_runtime.h>`; without them
//! the kernel is skipped inside cubecl's device thread and the run would end `ok` on garbage).

use std::path::{Path, PathBuf};

/// The CUDA version of the driver API bindings gpubench is built with (cudarc's `cuda-12020`
/// feature in Cargo.toml, for the binary and for cubecl's build script).
pub const BINDINGS: u32 = cudarc::driver::sys::CUDA_VERSION;
/// The oldest NVIDIA driver branch whose CUDA is at least [`BINDINGS`] (R535 is CUDA 12.2).
pub const OLDEST_DRIVER: &str = "535";

/// What the probe read on this machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// `cuDriverGetVersion`: 12040 for CUDA 12.4.
    pub driver: i32,
    /// `nvrtcVersion` (major, minor), when NVRTC answered.
    pub nvrtc: Option<(i32, i32)>,
    /// The toolkit directory cubecl would take, with whether it holds `include/cuda_runtime.h`.
    pub toolkit: Option<(PathBuf, bool)>,
}

/// `12040` → `12.4`.
pub fn version(v: i64) -> String {
    format!("{}.{}", v / 1000, v % 1000 / 10)
}

/// Why burn's CUDA kernels would not run here, with what to install; `None` when all is there.
pub fn reason(f: &Found, bindings: u32) -> Option<String> {
    let driver = i64::from(f.driver);
    if driver < i64::from(bindings) {
        return Some(format!(
            "the NVIDIA driver supports CUDA {} but gpubench's bindings are for CUDA {}: install \
             driver {OLDEST_DRIVER} or newer",
            version(driver),
            version(bindings.into())
        ));
    }
    if let Some((major, minor)) = f.nvrtc {
        let nvrtc = i64::from(major) * 1000 + i64::from(minor) * 10;
        if nvrtc > driver {
            return Some(format!(
                "NVRTC {} is newer than the driver's CUDA {}: the driver would reject the PTX it \
                 writes (CUDA_ERROR_UNSUPPORTED_PTX_VERSION); install the NVRTC of CUDA {} or \
                 older (e.g. pip install 'nvidia-cuda-nvrtc-cu12=={}.*'), or a newer driver",
                version(nvrtc),
                version(driver),
                version(driver),
                version(driver)
            ));
        }
    }
    match &f.toolkit {
        Some((_, true)) => None,
        Some((dir, false)) => Some(format!(
            "{} has no include/cuda_runtime.h, which burn's CUDA kernels include: install the \
             CUDA toolkit's headers there (apt-get install cuda-toolkit-12-x) or set CUDA_PATH \
             to a toolkit that has them",
            dir.display()
        )),
        None => Some(
            "no CUDA toolkit: burn's CUDA kernels include cuda_runtime.h, looked for under \
             $CUDA_PATH, /usr/local/cuda, /opt/cuda and /usr (with /usr/bin/nvcc); the NVRTC \
             wheel alone is not enough: install the CUDA toolkit (apt-get install \
             cuda-toolkit-12-x) or set CUDA_PATH to one"
                .into(),
        ),
    }
}

/// The toolkit directory cubecl-cuda 0.10 takes (`install::cuda_path`: `$CUDA_PATH`, else
/// `/usr/local/cuda`, `/opt/cuda`, or `/usr` when `/usr/bin/nvcc` exists), and whether it holds
/// the header burn's kernels include.
pub fn toolkit(cuda_path: Option<&Path>) -> Option<(PathBuf, bool)> {
    let dir = match cuda_path {
        Some(p) => p.to_path_buf(),
        None => ["/usr/local/cuda", "/opt/cuda"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .or_else(|| Path::new("/usr/bin/nvcc").exists().then(|| "/usr".into()))?,
    };
    let has = dir.join("include/cuda_runtime.h").is_file();
    Some((dir, has))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(driver: i32, nvrtc: Option<(i32, i32)>, toolkit: Option<(&str, bool)>) -> Found {
        Found {
            driver,
            nvrtc,
            toolkit: toolkit.map(|(d, h)| (PathBuf::from(d), h)),
        }
    }

    #[test]
    fn the_bindings_are_cuda_12_2_so_a_535_driver_loads_them() {
        assert_eq!(BINDINGS, 12020, "Cargo.toml pins cudarc's cuda-12020");
        assert_eq!(version(12020), "12.2");
    }

    #[test]
    fn each_missing_piece_has_its_own_reason() {
        let ok = Some(("/usr/local/cuda", true));
        assert_eq!(reason(&found(12040, Some((12, 4)), ok), 12020), None);
        // Driver 525 is CUDA 12.0: older than the bindings.
        let r = reason(&found(12000, Some((12, 0)), ok), 12020).unwrap();
        assert!(r.contains("CUDA 12.0") && r.contains("driver 535"), "{r}");
        // The NVRTC wheel 12.9 on a 550 driver (12.4).
        let r = reason(&found(12040, Some((12, 9)), ok), 12020).unwrap();
        assert!(
            r.contains("NVRTC 12.9 is newer than the driver's CUDA 12.4")
                && r.contains("nvidia-cuda-nvrtc-cu12==12.4.*"),
            "{r}"
        );
        let r = reason(&found(12040, Some((12, 4)), Some(("/opt/cuda", false))), 12020).unwrap();
        assert!(r.contains("/opt/cuda has no include/cuda_runtime.h"), "{r}");
        let r = reason(&found(12040, None, None), 12020).unwrap();
        assert!(r.contains("no CUDA toolkit") && r.contains("CUDA_PATH"), "{r}");
    }

    #[test]
    fn cuda_path_is_taken_as_cubecl_takes_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(toolkit(Some(dir.path())), Some((dir.path().into(), false)));
        std::fs::create_dir(dir.path().join("include")).unwrap();
        std::fs::write(dir.path().join("include/cuda_runtime.h"), "").unwrap();
        assert_eq!(toolkit(Some(dir.path())), Some((dir.path().into(), true)));
    }
}
