// Input-agnosticness of image keys: for each grid cell c, the mean pairwise cosine similarity of its key across
// N images,  s(c) = (‖Σ_n k̂_n(c)‖² − N) / (N(N − 1)),  k̂ = k/‖k‖ (unit keys; zero keys are skipped).
// keys: [N, cells, dim] (one image's gathered key map after another). One invocation per cell.
struct Params {
  n_images: u32,
  cells: u32,
  dim: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const MAX_DIM: u32 = 4096u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.cells) { return; }
  // ‖Σ k̂_n‖² = Σ_n Σ_m k̂_n·k̂_m: accumulate pairwise dot products without a dim-sized scratch vector
  var norms_ok = 0u;
  var total = 0.0;
  for (var n = 0u; n < params.n_images; n++) {
    let bn = (n * params.cells + c) * params.dim;
    var nn = 0.0;
    for (var e = 0u; e < params.dim; e++) { nn += keys[bn + e] * keys[bn + e]; }
    if (nn <= 0.0) { continue; }
    norms_ok++;
    for (var m = n + 1u; m < params.n_images; m++) {
      let bm = (m * params.cells + c) * params.dim;
      var mm = 0.0;
      var nm = 0.0;
      for (var e = 0u; e < params.dim; e++) { mm += keys[bm + e] * keys[bm + e]; nm += keys[bn + e] * keys[bm + e]; }
      if (mm <= 0.0) { continue; }
      total += nm / sqrt(nn * mm);
    }
  }
  let pairs = f32(norms_ok) * f32(norms_ok - 1u) / 2.0;
  out[c] = select(0.0, total / pairs, norms_ok > 1u);
}
