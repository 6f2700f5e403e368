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


@compute @workgroup_size(WG)
fn group_norm(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let bg = wid.x + wid.y * nwg.x; // b · groups + g
  if (bg >= p.count) { return; }
  let size = p.channels_per_group * p.spatial;
  let base = bg * size;

  let moments = mean_rstd(base, size, lid, p.eps);
  let mean = moments.x;
  let rstd = moments.y;

  let c0 = (bg % p.groups) * p.channels_per_group;
  for (var e = lid; e < size; e += WG) {
    var y = (x[base + e] - mean) * rstd;
    let c = c0 + e / p.spatial;
    if (HAS_WEIGHT) { y *= weight[c]; }
    if (HAS_BIAS) { y += bias[c]; }
    if (SILU) { y = y / (1.0 + exp(-y)); }
    out[base + e] = y;
  }
}
