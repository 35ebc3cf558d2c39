// dst = src: every element is read once and written once, so the bytes moved are twice the
// buffer size. vec4 accesses, and a grid-stride loop so that any buffer fits within the
// adapter's limit on workgroups per dispatch dimension. copy.cu is the same kernel.

struct Params {
    n: u32, // length in vec4s
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * 256u;
    for (var i = gid.x; i < params.n; i += stride) {
        dst[i] = src[i];
    }
}
