// RMSNorm over the last dim of x [rows, C] (f32), as in Qwen2/LLaMA:
// out = x · rsqrt(mean(x²) + eps) · weight.
// rms_norm: one workgroup per row; each invocation sums the squares of its strided, coalesced share of
// the row, the workgroup adds them up in shared memory, and a second pass writes the scaled row, which
// is still in cache.
// rms_norm_rows (the direct style, C % 4 == 0): one invocation per row, four elements a step, no shared
// memory and no barrier, which a CPU emulating the GPU pays for dearly at rows as short as a
// transformer's.

struct Params {
  cols: u32, // C: elements per row
  rows: u32, // rows of x
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;

override HAS_WEIGHT: bool = false;

override WG: u32 = 256u; // invocations per row (a power of two): rowWorkgroupSize

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn rms_norm(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;

  var s = 0.0;
  for (var c = lid; c < p.cols; c += WG) {
    let v = x[base + c];
    s += v * v;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { partial[lid] += partial[lid + k]; }
    workgroupBarrier();
  }
  let r = inverseSqrt(partial[0] / f32(p.cols) + p.eps);

  for (var c = lid; c < p.cols; c += WG) {
    var y = x[base + c] * r;
    if (HAS_WEIGHT) { y *= weight[c]; }
    out[base + c] = y;
  }
}

@group(0) @binding(4) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;
@group(0) @binding(6) var<storage, read> weight4: array<vec4f>;

override ROWS_WG: u32 = 64u; // rows per workgroup of rms_norm_rows

@compute @workgroup_size(ROWS_WG)
fn rms_norm_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * ROWS_WG;
  if (row >= p.rows) { return; }
  let n4 = p.cols / 4u;
  let base = row * n4;

  var s = vec4f(0.0);
  for (var c = 0u; c < n4; c++) {
    let v = x4[base + c];
    s = fma(v, v, s);
  }
  let r = inverseSqrt((s.x + s.y + s.z + s.w) / f32(p.cols) + p.eps);

  for (var c = 0u; c < n4; c++) {
    var y = x4[base + c] * r;
    if (HAS_WEIGHT) { y *= weight4[c]; }
    out4[base + c] = y;
  }
}
