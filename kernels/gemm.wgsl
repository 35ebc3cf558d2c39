// C = A × B for n×n row-major f32 matrices, n a multiple of 128 (the runner checks).
// Each 16×16 workgroup computes a 128×128 tile of C. Every invocation keeps 8×8 outputs in
// registers, at rows ty + 16i and columns tx + 16j, so neighbouring invocations read neighbouring
// words of workgroup memory and write neighbouring words of C. Per step of 8 along k, the tiles
// of A (stored transposed) and B are staged in workgroup memory: 16 loads feed 64 FMAs.
// gemm.cu is the same algorithm, so the two APIs are compared on equal terms.

struct Params {
    n: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const TILE: u32 = 128u;
const BK: u32 = 8u;
var<workgroup> a_tile: array<f32, 1024>; // [BK][TILE]
var<workgroup> b_tile: array<f32, 1024>; // [BK][TILE]

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let n = params.n;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let t = lid.y * 16u + lid.x;
    // acc[i][h] holds the outputs at row ty + 16i, columns tx + 16(4h .. 4h+3).
    var acc: array<array<vec4<f32>, 2>, 8>;
    for (var k0 = 0u; k0 < n; k0 += BK) {
        // 1024 elements per tile, 4 per invocation.
        for (var l = 0u; l < 4u; l++) {
            let e = t + 256u * l;
            a_tile[(e % BK) * TILE + e / BK] = a[(row0 + e / BK) * n + k0 + e % BK];
            b_tile[e] = b[(k0 + e / TILE) * n + col0 + e % TILE];
        }
        workgroupBarrier();
        for (var k = 0u; k < BK; k++) {
            let base = k * TILE + lid.x;
            let b0 = vec4(b_tile[base], b_tile[base + 16u], b_tile[base + 32u], b_tile[base + 48u]);
            let b1 = vec4(b_tile[base + 64u], b_tile[base + 80u], b_tile[base + 96u], b_tile[base + 112u]);
            for (var i = 0u; i < 8u; i++) {
                let av = vec4(a_tile[k * TILE + lid.y + 16u * i]);
                acc[i][0] = fma(av, b0, acc[i][0]);
                acc[i][1] = fma(av, b1, acc[i][1]);
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 8u; i++) {
        let row = (row0 + lid.y + 16u * i) * n + col0 + lid.x;
        for (var j = 0u; j < 4u; j++) {
            c[row + 16u * j] = acc[i][0][j];
            c[row + 64u + 16u * j] = acc[i][1][j];
        }
    }
}
