// Workgroup-wide mean and variance of a contiguous run of `x`, shared by the norm kernels
// (concatenated before shaders that declare `x: array<f32>` and `const WG`).
// Each invocation sums its strided, coalesced share shifted by its first value, into a Welford (count,
// mean, M2); the workgroup merges them pairwise in shared memory with Chan's formula (stable for large
// offsets, unlike sum/sum²).

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
  // Sums of v - k and its square over the invocation's share, k its first value (the shifted-data
  // algorithm: no cancellation while the share's spread is not far below its offset from k, and no
  // division an element), then its Welford state.
  var n = 0.0;
  var k = 0.0;
  var sum = 0.0;
  var sq = 0.0;
  if (lid < size) { k = x[base + lid]; }
  for (var e = lid; e < size; e += WG) {
    let d = x[base + e] - k;
    n += 1.0;
    sum += d;
    sq += d * d;
  }
  return workgroup_mean_rstd(shifted_state(n, k, sum, sq), size, lid, eps);
}

// The Welford state (count, mean, M2) of n values with sums `sum` and `sq` of (v - k) and (v - k)².
fn shifted_state(n: f32, k: f32, sum: f32, sq: f32) -> vec3f {
  if (n == 0.0) { return vec3f(0.0); }
  return vec3f(n, k + sum / n, max(sq - sum * sum / n, 0.0));
}

// (mean, 1 / sqrt(population variance + eps)) of the `size` values whose shares the invocations' Welford
// states `s` hold. Call from every invocation.
fn workgroup_mean_rstd(s: vec3f, size: u32, lid: u32, eps: f32) -> vec2f {
  stats[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { stats[lid] = merge(stats[lid], stats[lid + k]); }
    workgroupBarrier();
  }
  let total = stats[0];
  return vec2f(total.y, inverseSqrt(total.z / f32(size) + eps));
}
