// Workgroup-wide mean and variance of a contiguous run of `x`, shared by the norm kernels
// (concatenated before shaders that declare `x: array<f32>` and `const WG`).
// Each invocation keeps a Welford (count, mean, M2) over its strided, coalesced share; the workgroup
// merges them pairwise in shared memory with Chan's formula (stable for large offsets, unlike sum/sum²).

var<workgroup> stats: array<vec3f, WG>;

// Chan et al.'s merge of two Welford states; an empty side leaves the other unchanged.
fn merge(a: vec3f, b: vec3f) -> vec3f {
  let n = a.x + b.x;
  if (n == 0.0) { return a; }
  let d = b.y - a.y;
  let f = b.x / n;
  return vec3f(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}

// (mean, 1 / sqrt(population variance + eps)) of x[base .. base + size). Call from every invocation.
fn mean_rstd(base: u32, size: u32, lid: u32, eps: f32) -> vec2f {
  var s = vec3f(0.0);
  for (var e = lid; e < size; e += WG) {
    let v = x[base + e];
    s.x += 1.0;
    let d = v - s.y;
    s.y += d / s.x;
    s.z += d * (v - s.y);
  }
  stats[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { stats[lid] = merge(stats[lid], stats[lid + k]); }
    workgroupBarrier();
  }
  let total = stats[0];
  return vec2f(total.y, inverseSqrt(total.z / f32(size) + eps));
}
