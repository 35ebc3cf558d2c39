// dst = src, the same kernel as copy.wgsl: vec4 (float4) accesses in a grid-stride loop; the
// bytes moved are twice the buffer size.

extern "C" __global__ void __launch_bounds__(256)
copy(const float4* __restrict__ src, float4* __restrict__ dst, unsigned int n) {
    const unsigned int stride = gridDim.x * blockDim.x;
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) dst[i] = src[i];
}
