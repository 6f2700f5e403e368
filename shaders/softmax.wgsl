// Softmax over the last dim of x [rows, N] (f32), of logits times `scale`, numerically stable.
// One workgroup per row, any N: each invocation keeps an online (running max, sum of exp(v - max))
// over its strided, coalesced share of the row, the workgroup merges the pairs in shared memory, and a
// second pass writes exp(v - max) / sum. Two reads of the row instead of the three of max-then-sum.

struct Params {
  cols: u32,  // N: elements per row
  rows: u32,  // rows of x
  scale: f32, // multiplies the logits before the softmax
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

override WG: u32 = 256u; // invocations per row (a power of two): rowWorkgroupSize
// Start of every running max: the lowest finite f32, so merging two empty shares stays finite.
const LOWEST: f32 = -3.4028234e38;

// (max, sum of exp(v - max)) of every invocation's share, merged pairwise in place.
var<workgroup> stats: array<vec2f, WG>;

fn merge(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;

  var s = vec2f(LOWEST, 0.0);
  for (var i = lid; i < p.cols; i += WG) {
    let v = x[base + i] * p.scale;
    if (v > s.x) {
      s = vec2f(v, s.y * exp(s.x - v) + 1.0);
    } else {
      s.y += exp(v - s.x);
    }
  }
  stats[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { stats[lid] = merge(stats[lid], stats[lid + k]); }
    workgroupBarrier();
  }
  let m = stats[0].x;
  let inv = 1.0 / stats[0].y;

  for (var i = lid; i < p.cols; i += WG) {
    out[base + i] = exp(x[base + i] * p.scale - m) * inv;
  }
}
