// C = A × B for n×n row-major floats, n a multiple of 128 (the runner checks). The same
// algorithm as gemm.wgsl: a 16×16 block computes a 128×128 tile of C, each thread 8×8 outputs
// at rows ty + 16i and columns tx + 16j (conflict-free shared-memory reads, coalesced stores);
// per step of 8 along k the tiles of A (transposed) and B are staged in shared memory.

#define TILE 128
#define BK 8

extern "C" __global__ void __launch_bounds__(256)
gemm(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, unsigned int n) {
    __shared__ float a_tile[BK * TILE];
    __shared__ float b_tile[BK * TILE];
    const unsigned int tx = threadIdx.x, ty = threadIdx.y, t = ty * 16 + tx;
    const unsigned int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
    float acc[8][8] = {};
    for (unsigned int k0 = 0; k0 < n; k0 += BK) {
#pragma unroll
        for (unsigned int l = 0; l < 4; l++) {
            const unsigned int e = t + 256 * l;
            a_tile[(e % BK) * TILE + e / BK] = a[(size_t)(row0 + e / BK) * n + k0 + e % BK];
            b_tile[e] = b[(size_t)(k0 + e / TILE) * n + col0 + e % TILE];
        }
        __syncthreads();
#pragma unroll
        for (unsigned int k = 0; k < BK; k++) {
            float av[8], bv[8];
#pragma unroll
            for (int i = 0; i < 8; i++) {
                av[i] = a_tile[k * TILE + ty + 16 * i];
                bv[i] = b_tile[k * TILE + tx + 16 * i];
            }
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) c[(size_t)(row0 + ty + 16 * i) * n + col0 + tx + 16 * j] = acc[i][j];
}
