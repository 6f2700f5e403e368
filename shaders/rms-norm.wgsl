// RMSNorm over the last dim of x [rows, C] (f32), as in Qwen2/LLaMA:
// out = x · rsqrt(mean(x²) + eps) · weight. One workgroup per row: each invocation sums the squares of
// its strided, coalesced share of the row, the workgroup adds them up in shared memory, and a second
// pass writes the scaled row, which is still in cache.

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
