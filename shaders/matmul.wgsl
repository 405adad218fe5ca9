// y = x·Wᵀ + b  (nn.Linear): x f32 [M, K], W [N, K] in f32 | f16 | bf16 (16-bit kinds packed two per u32),
// optional bias [N], y f32 [M, N]. W may be one row-chunk of a larger matrix: it holds rows
// n_offset .. n_offset + n_rows − 1 of the full weight and writes those output columns. x and y may be row
// chunks too: row r of this dispatch is row x_row0 + r of the bound x buffer and y_row0 + r of the bound y.
//
// Prefill (tile_*): each invocation owns a 16×16 block of y as a 4×4 grid of mat4x4 accumulators and
// streams K four at a time: per step it reads 16 rows of x and 16 rows of W as vec4s (32 loads) and does
// 1024 FMAs, A_ij += X_iᵀ·W_j. No workgroup memory and no barriers: on CPU adapters (llvmpipe) every
// storage load is a per-lane scalar loop, so the FMA:load ratio of the register block is what counts
// (measured on llvmpipe: 8×4 blocks ~3 GFLOP/s, 16×16 ~12–16). Blocks are named variables, not arrays:
// Mesa lowers dynamically indexed local arrays to scratch memory, which is several times slower.
//   tile_f32 / tile_16: K % 4 == 0 (every real model), vec4 loads; tile_any: any K, masked scalar loads.
// Decode (gemv_*): M = 1; each invocation reduces TN weight rows over all of K.
//
// This file binds an f32 x; shaders/matmul_xh.wgsl the same kernels over an f16 x. The kernels themselves are in
// shaders/include/matmul_body.wgsl.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4<f32>>;

fn x_vec4(i: u32) -> vec4<f32> { return x4[i]; }
fn x_elem(e: u32) -> f32 { return x[e]; }

//! include matmul_body
