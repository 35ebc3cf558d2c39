//! The CUDA runner: the `.cu` kernels compiled by NVRTC for the device's compute capability,
//! launched through cudarc and timed with CUDA events. cudarc panics when it needs a library
//! that is missing, so both libraries are checked first (a trial load), and every cudarc call
//! runs under [`guarded`] in case a symbol is missing from an old driver.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use cudarc::driver::sys::{CUdevice_attribute as Attr, CUevent_flags};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg, sys,
};
use cudarc::nvrtc::{Ptx, result, sys as nv};

use super::{Adapter, Devices, Kernel, Launch, Plan, Row, Runner, Timed, guarded};

/// The CUDA source of `kernel`; its entry point is named [`Kernel::name`].
pub fn source(kernel: Kernel) -> &'static str {
    match kernel {
        Kernel::Gemm => include_str!("../../kernels/gemm.cu"),
        Kernel::Copy => include_str!("../../kernels/copy.cu"),
    }
}

/// Measures `plan` (or the GPU plan) on every CUDA device, or with [`Devices::Default`] on
/// device 0, the one burn trains on.
pub fn measure(devices: Devices, plan: Option<&Plan>) -> Vec<Row> {
    if let Some(reason) = unavailable_reason() {
        return super::unavailable("cuda", "", &reason);
    }
    let count = match guarded(|| Ok(CudaContext::device_count()?)) {
        Ok(n) if n > 0 => n as usize,
        Ok(_) => return super::unavailable("cuda", "", "the CUDA driver reports no device"),
        Err(e) => return super::unavailable("cuda", "", &format!("CUDA driver: {e:#}")),
    };
    let ordinals = match devices {
        Devices::All => 0..count,
        Devices::Default => 0..1,
    };
    ordinals
        .flat_map(|i| match guarded(|| CudaRunner::new(i)) {
            Ok(mut runner) => super::measure_device(&mut runner, plan),
            Err(e) => super::unavailable("cuda", &format!("CUDA device {i}"), &format!("{e:#}")),
        })
        .collect()
}

/// Why CUDA kernels cannot run here (no driver, no NVRTC), or `None` when both libraries load.
pub fn unavailable_reason() -> Option<String> {
    // SAFETY: only tries to load the library and reports whether that worked.
    if !unsafe { sys::is_culib_present() } {
        return Some(
            "no NVIDIA driver: the CUDA driver library (libcuda.so) is not installed".into(),
        );
    }
    nvrtc_missing()
}

/// Why NVRTC cannot be loaded, or `None`; it needs no GPU, so PTX compiles anywhere it loads.
pub fn nvrtc_missing() -> Option<String> {
    // SAFETY: as in `unavailable_reason`.
    (!unsafe { cudarc::nvrtc::sys::is_culib_present() }).then(|| {
        "the NVRTC library (libnvrtc.so.12) cannot be loaded: install the CUDA toolkit, or \
         `pip install nvidia-cuda-nvrtc-cu12` and put its nvidia/cuda_nvrtc/lib on LD_LIBRARY_PATH"
            .into()
    })
}

/// NVRTC's virtual architecture for a compute capability such as `"8.6"` (`compute_86`), or
/// why CUDA 12 cannot target it: it dropped Kepler (3.x) and earlier.
pub fn arch(cc: &str) -> Result<String, String> {
    let parsed = cc
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    match parsed {
        None => Err(format!("{cc:?} is not a compute capability (major.minor)")),
        Some((major, _)) if major < 5 => Err(format!(
            "compute capability {cc} is too old for CUDA 12 (needs compute capability ≥ 5.0)"
        )),
        Some((major, minor)) => Ok(format!("compute_{major}{minor}")),
    }
}

/// Compiles a kernel source to PTX text for compute capability `cc` with NVRTC.
pub fn compile_ptx(src: &str, cc: &str) -> Result<String> {
    Ok(text(&nvrtc(src, &arch(cc).map_err(|e| anyhow!(e))?)?))
}

/// Compiles a kernel source to a CUBIN (machine code) for compute capability `cc`. The runner
/// loads this rather than PTX: any CUDA 12 driver loads a CUBIN from a newer CUDA 12 NVRTC,
/// while PTX needs a driver at least as new as NVRTC (minor-version compatibility).
pub fn compile_cubin(src: &str, cc: &str) -> Result<Vec<u8>> {
    let arch = arch(cc).map_err(|e| anyhow!(e))?;
    nvrtc(src, &arch.replace("compute_", "sm_"))
}

/// NVRTC's output for `arch`: PTX for a virtual architecture (`compute_XX`), a CUBIN for a
/// real one (`sm_XX`).
fn nvrtc(src: &str, arch: &str) -> Result<Vec<u8>> {
    if let Some(reason) = nvrtc_missing() {
        bail!(reason);
    }
    let src = CString::new(src).context("kernel source contains a NUL byte")?;
    guarded(|| {
        let prog = Program(result::create_program(&src, None)?);
        // SAFETY: `prog.0` is a live program from `create_program`, destroyed only when `prog`
        // drops; each buffer is sized by NVRTC's own size query before NVRTC fills it.
        unsafe {
            let options = [format!("--gpu-architecture={arch}")];
            if let Err(e) = result::compile_program(prog.0, &options) {
                let log = result::get_program_log(prog.0).unwrap_or_default();
                let log: Vec<u8> = log.into_iter().map(|c| c as u8).collect();
                bail!("NVRTC ({arch}): {e}: {}", text(&log));
            }
            if arch.starts_with("sm_") {
                let mut size = 0;
                nv::nvrtcGetCUBINSize(prog.0, &mut size).result()?;
                let mut cubin = vec![0u8; size];
                nv::nvrtcGetCUBIN(prog.0, cubin.as_mut_ptr().cast()).result()?;
                Ok(cubin)
            } else {
                Ok(result::get_ptx(prog.0)?
                    .into_iter()
                    .map(|c| c as u8)
                    .collect())
            }
        }
    })
}

/// An NVRTC program, destroyed on drop.
struct Program(nv::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: the program is live and dropped once; a failure leaks it, nothing worse.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}

/// NUL-terminated text from NVRTC as a string.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches('\0')
        .to_string()
}

struct CudaRunner {
    info: Adapter,
    cc: String,
    stream: Arc<CudaStream>,
    functions: HashMap<Kernel, CudaFunction>,
}

impl CudaRunner {
    fn new(ordinal: usize) -> Result<Self> {
        let ctx = CudaContext::new(ordinal)?;
        // SAFETY: everything here runs on one stream, so cudarc's cross-stream events are
        // unneeded; leaving them out keeps the timed launches bare.
        unsafe { ctx.disable_event_tracking() };
        let (major, minor) = ctx.compute_capability()?;
        let attr = |a| ctx.attribute(a).ok();
        let mut details = vec![format!("sm_{major}{minor}")];
        if let Some(sms) = attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT) {
            details.push(format!("{sms} SMs"));
        }
        if let Some(khz) = attr(Attr::CU_DEVICE_ATTRIBUTE_CLOCK_RATE) {
            details.push(format!("{} MHz", khz / 1000));
        }
        let mut memory = format!("{:.1} GiB", ctx.total_mem()? as f64 / (1u64 << 30) as f64);
        if let (Some(khz), Some(bits)) = (
            attr(Attr::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE),
            attr(Attr::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH),
        ) {
            memory += &format!(" at {} MHz × {bits} bit", khz / 1000);
        }
        details.push(memory);
        let mut version = 0;
        // SAFETY: writes one int; the driver is loaded and initialised by `CudaContext::new`.
        if unsafe { sys::cuDriverGetVersion(&mut version) }
            .result()
            .is_ok()
        {
            details.push(format!(
                "driver CUDA {}.{}",
                version / 1000,
                version % 1000 / 10
            ));
        }
        let integrated = attr(Attr::CU_DEVICE_ATTRIBUTE_INTEGRATED) == Some(1);
        // Inputs and output of one kernel must fit in free memory with room to spare.
        let (free, _) = ctx.mem_get_info()?;
        let info = Adapter {
            api: "cuda",
            name: ctx.name()?,
            device_type: if integrated {
                "integrated-gpu"
            } else {
                "discrete-gpu"
            }
            .into(),
            details: details.join(", "),
            timing: "gpu-timestamp",
            max_buffer: free as u64 / 4,
        };
        Ok(CudaRunner {
            info,
            cc: format!("{major}.{minor}"),
            stream: ctx.default_stream(),
            functions: HashMap::new(),
        })
    }

    /// The kernel's function, compiled for this device on first use (outside any timing).
    fn function(&mut self, kernel: Kernel) -> Result<CudaFunction> {
        if let Some(f) = self.functions.get(&kernel) {
            return Ok(f.clone());
        }
        let cubin = compile_cubin(source(kernel), &self.cc)?;
        let module = self.stream.context().load_module(Ptx::from_binary(cubin))?;
        let f = module.load_function(kernel.name())?;
        self.functions.insert(kernel, f.clone());
        Ok(f)
    }
}

impl Runner for CudaRunner {
    fn info(&self) -> &Adapter {
        &self.info
    }

    fn run(&mut self, job: &Launch, warmup: usize, repeats: usize) -> Result<Timed> {
        let f = self.function(job.kernel)?;
        let stream = &self.stream;
        let inputs: Vec<CudaSlice<f32>> = job
            .inputs
            .iter()
            .map(|d| stream.clone_htod(d))
            .collect::<Result<_, _>>()?;
        let mut out = stream.alloc_zeros::<f32>(job.out_len())?;
        let (bx, by) = job.kernel.block();
        let cfg = LaunchConfig {
            grid_dim: (job.grid.0, job.grid.1, 1),
            block_dim: (bx, by, 1),
            shared_mem_bytes: 0,
        };
        let launch = |out: &mut CudaSlice<f32>| -> Result<()> {
            let mut args = stream.launch_builder(&f);
            for input in &inputs {
                args.arg(input);
            }
            args.arg(out).arg(&job.param);
            // SAFETY: the arguments are those the kernels declare (inputs, output, unsigned
            // n) and the grid is the one they index within (`Launch::grid`).
            unsafe { args.launch(cfg) }?;
            Ok(())
        };
        for _ in 0..warmup {
            launch(&mut out)?;
        }
        let ctx = stream.context();
        let mut events = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let start = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;
            let end = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;
            start.record(stream)?;
            launch(&mut out)?;
            end.record(stream)?;
            events.push((start, end));
        }
        let seconds = events
            .iter()
            .map(|(s, e)| Ok(f64::from(s.elapsed_ms(e)?) / 1e3))
            .collect::<Result<Vec<f64>>>()
            .context("CUDA event timing")?;
        Ok(Timed {
            seconds,
            output: stream.clone_dtoh(&out)?,
        })
    }
}
