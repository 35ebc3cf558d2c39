//! The wgpu runner: the WGSL kernels on every adapter of the primary APIs (Vulkan, Metal,
//! DX12; not GL, which burn does not use), timed on the GPU with timestamp queries where the
//! adapter has them, else by wall clock around each submission and its blocking poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use ::wgpu::util::DeviceExt;
use anyhow::{Context, Result, anyhow, bail};

use super::{Adapter, Devices, Kernel, Launch, Plan, Row, Runner, Timed, guarded};

const GEMM: &str = include_str!("../../kernels/gemm.wgsl");
const COPY: &str = include_str!("../../kernels/copy.wgsl");
const BACKENDS: ::wgpu::Backends = ::wgpu::Backends::PRIMARY;
/// Bytes per host-to-device write, so an upload never needs a second copy of the whole input.
const UPLOAD_CHUNK: usize = 16 << 20;
/// Timed passes per submission: two timestamps each, within wgpu's 4096 queries per set.
const PASSES_PER_QUERY_SET: usize = 2048;

/// Measures `plan` (or the plan for each adapter's type) on every adapter, or with
/// [`Devices::Default`] on the high-performance adapter, the one cubecl trains on.
pub fn measure(devices: Devices, plan: Option<&Plan>) -> Vec<Row> {
    let adapters = adapters(devices);
    if adapters.is_empty() {
        return super::unavailable(
            "wgpu",
            "",
            "no Vulkan, Metal or DX12 adapter: install a GPU driver (without a GPU on Linux: \
             apt-get install mesa-vulkan-drivers libvulkan1)",
        );
    }
    adapters
        .iter()
        .flat_map(|adapter| match guarded(|| WgpuRunner::new(adapter)) {
            Ok(mut runner) => super::measure_device(&mut runner, plan),
            Err(e) => super::unavailable("wgpu", &adapter.get_info().name, &format!("{e:#}")),
        })
        .collect()
}

fn adapters(devices: Devices) -> Vec<::wgpu::Adapter> {
    let instance = ::wgpu::Instance::new(::wgpu::InstanceDescriptor {
        backends: BACKENDS,
        ..::wgpu::InstanceDescriptor::new_without_display_handle()
    });
    match devices {
        Devices::All => pollster::block_on(instance.enumerate_adapters(BACKENDS)),
        Devices::Default => {
            pollster::block_on(instance.request_adapter(&::wgpu::RequestAdapterOptions {
                power_preference: ::wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            }))
            .into_iter()
            .collect()
        }
    }
}

/// One kernel on the default adapter, uploaded and checked against the CPU reference once,
/// then timed on demand: what criterion's `iter_custom` needs.
pub struct Bench {
    runner: WgpuRunner,
    prepared: Prepared,
    job: Launch,
}

impl Bench {
    /// `size` as in [`Launch::new`]; `None` takes the largest size of the adapter's plan.
    pub fn new(kernel: Kernel, size: Option<u64>) -> Result<Self> {
        let adapter = adapters(Devices::Default)
            .pop()
            .context("no wgpu adapter")?;
        let mut runner = guarded(|| WgpuRunner::new(&adapter))?;
        let plan = runner.info.plan();
        let largest = match kernel {
            Kernel::Gemm => plan.gemm_n.last().map(|&n| u64::from(n)),
            Kernel::Copy => plan.copy_bytes.last().copied(),
        };
        let job = Launch::new(
            kernel,
            size.or(largest).context("no size fits this adapter")?,
        )?;
        let prepared = runner.prepare(&job)?;
        runner.time(&prepared, 1, 0)?;
        job.check(&runner.output(&prepared)?).verdict()?;
        Ok(Bench {
            runner,
            prepared,
            job,
        })
    }

    pub fn adapter(&self) -> &str {
        &self.runner.info.name
    }

    /// `gpu-timestamp` or `wall`.
    pub fn timing(&self) -> &str {
        self.runner.info.timing
    }

    pub fn job(&self) -> &Launch {
        &self.job
    }

    /// The total time of `iters` launches.
    pub fn time(&mut self, iters: u64) -> Result<Duration> {
        let seconds = self.runner.time(&self.prepared, 0, iters as usize)?;
        Ok(Duration::from_secs_f64(seconds.iter().sum()))
    }
}

/// The `device_type` column for a wgpu adapter type.
pub fn device_type(t: ::wgpu::DeviceType) -> &'static str {
    match t {
        ::wgpu::DeviceType::DiscreteGpu => "discrete-gpu",
        ::wgpu::DeviceType::IntegratedGpu => "integrated-gpu",
        ::wgpu::DeviceType::VirtualGpu => "virtual-gpu",
        ::wgpu::DeviceType::Cpu => "cpu",
        ::wgpu::DeviceType::Other => "other",
    }
}

struct WgpuRunner {
    info: Adapter,
    device: ::wgpu::Device,
    queue: ::wgpu::Queue,
    timestamps: bool,
    pipelines: HashMap<Kernel, ::wgpu::ComputePipeline>,
    /// Validation and device errors, which wgpu reports through a callback instead of results.
    errors: Arc<Mutex<Vec<String>>>,
}

impl WgpuRunner {
    fn new(adapter: &::wgpu::Adapter) -> Result<Self> {
        let a = adapter.get_info();
        let timestamps = adapter
            .features()
            .contains(::wgpu::Features::TIMESTAMP_QUERY);
        // The adapter's own limits, not wgpu's portable defaults (128 MiB bindings), so a
        // GPU can take the large buffers that reach its peak.
        let limits = adapter.limits();
        let (device, queue) =
            pollster::block_on(adapter.request_device(&::wgpu::DeviceDescriptor {
                label: Some("gpubench kernels"),
                required_features: if timestamps {
                    ::wgpu::Features::TIMESTAMP_QUERY
                } else {
                    ::wgpu::Features::empty()
                },
                required_limits: limits.clone(),
                ..Default::default()
            }))
            .with_context(|| format!("cannot open {}", a.name))?;
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.to_string());
        }));
        let info = Adapter {
            api: "wgpu",
            name: a.name.clone(),
            device_type: device_type(a.device_type).into(),
            details: format!("{:?} {} {}", a.backend, a.driver, a.driver_info)
                .trim()
                .into(),
            timing: if timestamps { "gpu-timestamp" } else { "wall" },
            max_buffer: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
        };
        Ok(WgpuRunner {
            info,
            device,
            queue,
            timestamps,
            pipelines: HashMap::new(),
            errors,
        })
    }

    /// Fails with the errors wgpu reported since the last check.
    fn check(&self) -> Result<()> {
        let errors: Vec<String> = self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            bail!("wgpu: {}", errors.join("; "))
        }
    }

    /// Blocks until the queue is idle.
    fn wait(&self) -> Result<()> {
        self.device
            .poll(::wgpu::PollType::wait_indefinitely())
            .map_err(|e| anyhow!("wgpu poll: {e}"))?;
        self.check()
    }

    /// The kernel's pipeline, compiled on first use (outside any timing).
    fn pipeline(&mut self, kernel: Kernel) -> Result<::wgpu::ComputePipeline> {
        if let Some(p) = self.pipelines.get(&kernel) {
            return Ok(p.clone());
        }
        let source = match kernel {
            Kernel::Gemm => GEMM,
            Kernel::Copy => COPY,
        };
        let module = self
            .device
            .create_shader_module(::wgpu::ShaderModuleDescriptor {
                label: Some(kernel.name()),
                source: ::wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&::wgpu::ComputePipelineDescriptor {
                label: Some(kernel.name()),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        self.check()
            .with_context(|| format!("compiling {}.wgsl", kernel.name()))?;
        self.pipelines.insert(kernel, pipeline.clone());
        Ok(pipeline)
    }

    fn upload(&self, data: &[f32]) -> ::wgpu::Buffer {
        let buffer = self.device.create_buffer(&::wgpu::BufferDescriptor {
            label: None,
            size: data.len() as u64 * 4,
            usage: ::wgpu::BufferUsages::STORAGE | ::wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        for (i, chunk) in data.chunks(UPLOAD_CHUNK / 4).enumerate() {
            let bytes: Vec<u8> = chunk.iter().flat_map(|x| x.to_le_bytes()).collect();
            self.queue
                .write_buffer(&buffer, (i * UPLOAD_CHUNK) as u64, &bytes);
        }
        buffer
    }

    /// Copies `src` back to the host and hands its bytes to `read`.
    fn download<T>(&self, src: &::wgpu::Buffer, read: impl FnOnce(&[u8]) -> T) -> Result<T> {
        let bytes = src.size();
        let staging = self.device.create_buffer(&::wgpu::BufferDescriptor {
            label: None,
            size: bytes,
            usage: ::wgpu::BufferUsages::MAP_READ | ::wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let (tx, rx) = mpsc::channel();
        staging.map_async(::wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .context("buffer mapping never completed")?
            .context("mapping a buffer")?;
        let result = read(&staging.get_mapped_range(..));
        staging.unmap();
        Ok(result)
    }
}

/// A job uploaded and bound, ready to launch.
struct Prepared {
    pipeline: ::wgpu::ComputePipeline,
    bind: ::wgpu::BindGroup,
    output: ::wgpu::Buffer,
    grid: (u32, u32),
}

impl Prepared {
    /// Records one dispatch in its own compute pass.
    fn encode(
        &self,
        enc: &mut ::wgpu::CommandEncoder,
        timestamp_writes: Option<::wgpu::ComputePassTimestampWrites>,
    ) {
        let mut pass = enc.begin_compute_pass(&::wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind, &[]);
        pass.dispatch_workgroups(self.grid.0, self.grid.1, 1);
    }
}

impl WgpuRunner {
    fn prepare(&mut self, job: &Launch) -> Result<Prepared> {
        let pipeline = self.pipeline(job.kernel)?;
        let inputs: Vec<::wgpu::Buffer> = job.inputs.iter().map(|d| self.upload(d)).collect();
        let output = self.device.create_buffer(&::wgpu::BufferDescriptor {
            label: None,
            size: job.out_len() as u64 * 4,
            usage: ::wgpu::BufferUsages::STORAGE | ::wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        // 16 bytes: the smallest uniform binding every backend accepts.
        let params: Vec<u8> = [job.param, 0, 0, 0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let params = self
            .device
            .create_buffer_init(&::wgpu::util::BufferInitDescriptor {
                label: None,
                contents: &params,
                usage: ::wgpu::BufferUsages::UNIFORM,
            });
        // Bindings in the order the kernels declare them: inputs, output, parameters. The bind
        // group keeps the buffers alive.
        let entries: Vec<::wgpu::BindGroupEntry> = inputs
            .iter()
            .chain([&output, &params])
            .enumerate()
            .map(|(i, b)| ::wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind = self.device.create_bind_group(&::wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.check()?;
        Ok(Prepared {
            pipeline,
            bind,
            output,
            grid: job.grid,
        })
    }

    /// Launches `p` `warmup` times untimed, then `repeats` times; seconds per timed launch.
    fn time(&self, p: &Prepared, warmup: usize, repeats: usize) -> Result<Vec<f64>> {
        let mut enc = self.device.create_command_encoder(&Default::default());
        for _ in 0..warmup {
            p.encode(&mut enc, None);
        }
        self.queue.submit([enc.finish()]);
        self.wait()?;
        if !self.timestamps {
            return (0..repeats)
                .map(|_| {
                    let mut enc = self.device.create_command_encoder(&Default::default());
                    p.encode(&mut enc, None);
                    let cmd = enc.finish();
                    let start = Instant::now();
                    self.queue.submit([cmd]);
                    self.wait()?;
                    Ok(start.elapsed().as_secs_f64())
                })
                .collect();
        }
        let mut seconds = Vec::with_capacity(repeats);
        let mut left = repeats;
        while left > 0 {
            let passes = left.min(PASSES_PER_QUERY_SET);
            seconds.extend(self.time_stamped(p, passes as u32)?);
            left -= passes;
        }
        Ok(seconds)
    }

    /// `passes` launches in one submission, each pass stamped at its start and end.
    fn time_stamped(&self, p: &Prepared, passes: u32) -> Result<Vec<f64>> {
        let count = 2 * passes;
        let queries = self.device.create_query_set(&::wgpu::QuerySetDescriptor {
            label: None,
            ty: ::wgpu::QueryType::Timestamp,
            count,
        });
        let resolved = self.device.create_buffer(&::wgpu::BufferDescriptor {
            label: None,
            size: u64::from(count) * 8,
            usage: ::wgpu::BufferUsages::QUERY_RESOLVE | ::wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        for r in 0..passes {
            let writes = ::wgpu::ComputePassTimestampWrites {
                query_set: &queries,
                beginning_of_pass_write_index: Some(2 * r),
                end_of_pass_write_index: Some(2 * r + 1),
            };
            p.encode(&mut enc, Some(writes));
        }
        enc.resolve_query_set(&queries, 0..count, &resolved, 0);
        self.queue.submit([enc.finish()]);
        let ns_per_tick = f64::from(self.queue.get_timestamp_period());
        self.download(&resolved, |b| {
            let ticks: Vec<u64> = b
                .chunks_exact(8)
                .map(|t| u64::from_le_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]))
                .collect();
            ticks
                .chunks_exact(2)
                .map(|t| t[1].saturating_sub(t[0]) as f64 * ns_per_tick * 1e-9)
                .collect()
        })
    }

    fn output(&self, p: &Prepared) -> Result<Vec<f32>> {
        self.download(&p.output, |b| {
            b.chunks_exact(4)
                .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]]))
                .collect()
        })
    }
}

impl Runner for WgpuRunner {
    fn info(&self) -> &Adapter {
        &self.info
    }

    fn run(&mut self, job: &Launch, warmup: usize, repeats: usize) -> Result<Timed> {
        let prepared = self.prepare(job)?;
        let seconds = self.time(&prepared, warmup, repeats)?;
        Ok(Timed {
            seconds,
            output: self.output(&prepared)?,
        })
    }
}
