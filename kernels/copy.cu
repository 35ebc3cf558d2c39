// dst = src, the same kernel as copy.wgsl: vec4 (float4) accesses in a grid-stride loop; the
// bytes moved are twice the buffer size. The index is 64-bit: a 32-bit `i += stride` would wrap
// below n for a buffer near 2^32 vec4s (64 GiB) and loop forever.

extern "C" __global__ void __launch_bounds__(256)
copy(const float4* __restrict__ src, float4* __restrict__ dst, unsigned int n) {
    const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += stride)
        dst[i] = src[i];
}
