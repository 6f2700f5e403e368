// GroupNorm on x [B, C, N] (N = H·W, f32), as PyTorch's nn.GroupNorm: the C channels fall into
// `groups` groups of Cg = C / groups; each (batch, group) is Cg·N contiguous elements normalised by its
// own mean and population variance, then scaled and shifted per channel and, optionally, passed through
// SiLU (the VQVAE decoder's norm → SiLU, fused into one pass).
// One workgroup per (batch, group): each invocation keeps a Welford (count, mean, M2) over its strided,
// coalesced share of the group, the workgroup merges them in shared memory (`mean_rstd` of
// shaders/welford.wgsl, prepended by the wrapper), and a second pass writes the normalised group.

struct Params {
  count: u32,              // B · groups: workgroups that do work
  groups: u32,
  channels_per_group: u32, // Cg
  spatial: u32,            // N: elements per channel
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

override HAS_WEIGHT: bool = false;
override HAS_BIAS: bool = false;
override SILU: bool = false;

override WG: u32 = 256u; // invocations per row (a power of two): rowWorkgroupSize


// Channel c's normalisation and affine as one multiply-add, y = x · scale + shift: (scale, shift).
fn scale_shift(c: u32, mean: f32, rstd: f32) -> vec2f {
  var scale = rstd;
  if (HAS_WEIGHT) { scale *= weight[c]; }
  var shift = -mean * scale;
  if (HAS_BIAS) { shift += bias[c]; }
  return vec2f(scale, shift);
}

@compute @workgroup_size(WG)
fn group_norm(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let bg = wid.x + wid.y * nwg.x; // b · groups + g
  if (bg >= p.count) { return; }
  let size = p.channels_per_group * p.spatial;
  let base = bg * size;

  let moments = mean_rstd(base, size, lid, p.eps);
  let mean = moments.x;
  let rstd = moments.y;

  // Channel by channel, as one multiply-add an element: no division to find an element's channel (a
  // software adapter divides integers lane by lane).
  let c0 = (bg % p.groups) * p.channels_per_group;
  for (var c = 0u; c < p.channels_per_group; c++) {
    let f = scale_shift(c0 + c, mean, rstd);
    let at = base + c * p.spatial;
    for (var e = lid; e < p.spatial; e += WG) {
      var y = x[at + e] * f.x + f.y;
      if (SILU) { y = y / (1.0 + exp(-y)); }
      out[at + e] = y;
    }
  }
}

// group_norm's views of x and out four elements at a time.
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> out4: array<vec4f>;

// group_norm where N % 4 == 0, reading and writing whole vec4s: a quarter of the steps, which bound the
// kernel on a software adapter. The statistics shift every value by the invocation's first one, as
// mean_rstd's.
@compute @workgroup_size(WG)
fn group_norm_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let bg = wid.x + wid.y * nwg.x; // b · groups + g
  if (bg >= p.count) { return; }
  let n4 = p.spatial / 4u;
  let size4 = p.channels_per_group * n4;
  let base4 = bg * size4;

  var k = 0.0;
  if (lid < size4) { k = x4[base4 + lid].x; }
  var sum = vec4f(0.0);
  var sq = vec4f(0.0);
  var steps = 0.0;
  for (var e = lid; e < size4; e += WG) {
    let d = x4[base4 + e] - vec4f(k);
    sum += d;
    sq += d * d;
    steps += 1.0;
  }
  let one = vec4f(1.0);
  let moments = workgroup_mean_rstd(shifted_state(4.0 * steps, k, dot(sum, one), dot(sq, one)), 4u * size4, lid, p.eps);
  let mean = moments.x;
  let rstd = moments.y;

  let c0 = (bg % p.groups) * p.channels_per_group;
  for (var c = 0u; c < p.channels_per_group; c++) {
    let f = scale_shift(c0 + c, mean, rstd);
    let at = base4 + c * n4;
    for (var e = lid; e < n4; e += WG) {
      var y = x4[at + e] * f.x + f.y;
      if (SILU) { y = y / (1.0 + exp(-y)); }
      out4[at + e] = y;
    }
  }
}
