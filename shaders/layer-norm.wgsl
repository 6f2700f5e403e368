// LayerNorm over the last dim of x [rows, C] (f32), with an optional affine weight/bias [C] and an
// optional fused adaptive modulation (VAR's AdaLN): out = LN(x) · (1 + scale[g, c]) + shift[g, c],
// where row r belongs to group g = r / rows_per_ada and scale/shift are chunks of ada's row g.
// `layer_norm` runs one workgroup per row: each invocation keeps a Welford (count, mean, M2) over its
// strided, coalesced share of the row, the workgroup merges them in shared memory (`mean_rstd` of
// shaders/welford.wgsl, prepended by the wrapper),
// and a second pass writes the normalised row, which is still in cache. `modulate` is the same
// modulation without the norm, one invocation per element.

struct Params {
  cols: u32,         // C: elements per row
  rows: u32,         // rows of x
  n: u32,            // modulate: elements of out
  rows_per_ada: u32, // L: rows sharing one ada row
  ada_stride: u32,   // elements per ada row (K·C)
  scale_offset: u32, // offset of the scale chunk within an ada row
  shift_offset: u32, // offset of the shift chunk within an ada row
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> ada: array<f32>;

override HAS_WEIGHT: bool = false;
override HAS_BIAS: bool = false;
override MODULATE: bool = false;

override WG: u32 = 256u; // invocations per row (a power of two): rowWorkgroupSize


@compute @workgroup_size(WG)
fn layer_norm(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;

  let moments = mean_rstd(base, p.cols, lid, p.eps);
  let mean = moments.x;
  let rstd = moments.y;

  let g = row / p.rows_per_ada;
  for (var c = lid; c < p.cols; c += WG) {
    var y = (x[base + c] - mean) * rstd;
    if (HAS_WEIGHT) { y *= weight[c]; }
    if (HAS_BIAS) { y += bias[c]; }
    if (MODULATE) {
      let a = g * p.ada_stride + c;
      y = y * (1.0 + ada[a + p.scale_offset]) + ada[a + p.shift_offset];
    }
    out[base + c] = y;
  }
}

// out[g, l, c] = x[g, l, c] · (1 + scale[g, c]) + shift[g, c]
@compute @workgroup_size(WG)
fn modulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let c = i % p.cols;
  let a = (i / (p.cols * p.rows_per_ada)) * p.ada_stride + c;
  out[i] = x[i] * (1.0 + ada[a + p.scale_offset]) + ada[a + p.shift_offset];
}
