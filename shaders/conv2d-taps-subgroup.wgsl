// conv2d_direct_3x3's weight taps (shaders/conv2d.wgsl, compiled after this file) shared across a subgroup of
// 4 invocations, which take neighbouring pixel blocks of the same channels (the caller sees to it: B · ceil(Ho
// / 2) · ceil(Wo / 8) a multiple of 4): each loads a quarter of the taps and hands them to the others with
// subgroupBroadcast, a register shuffle where a load is a 4-lane gather on SwiftShader: 5 loads of taps an
// input channel instead of 18. For adapters whose subgroups are exactly the kernel's 4 neighbouring
// invocations (SwiftShader runs a workgroup's invocations in order, 4 at a time, as its SIMD group).

enable subgroups;

// Tap i of the 18 (9 · channel group + 3 · ky + kx), past the last one the last.
fn tap_at(co0: u32, k: u32, i: u32) -> vec4f {
  let j = min(i, select(8u, 17u, CH8));
  return w_group(co0 + 4u * (j / 9u), k + j % 9u);
}

// As shaders/conv2d-taps.wgsl's ci_taps: tap i is lane i % 4's (i / 4)-th load.
fn ci_taps(co0: u32, lane: u32, ci: u32) -> array<vec4f, 18> {
  let k = ci * 9u;
  let v0 = tap_at(co0, k, lane);
  let v1 = tap_at(co0, k, lane + 4u);
  let v2 = tap_at(co0, k, lane + 8u);
  var v3 = vec4f();
  var v4 = vec4f();
  if (CH8) {
    v3 = tap_at(co0, k, lane + 12u);
    v4 = tap_at(co0, k, lane + 16u);
  }
  return array<vec4f, 18>(
    subgroupBroadcast(v0, 0u), subgroupBroadcast(v0, 1u), subgroupBroadcast(v0, 2u), subgroupBroadcast(v0, 3u),
    subgroupBroadcast(v1, 0u), subgroupBroadcast(v1, 1u), subgroupBroadcast(v1, 2u), subgroupBroadcast(v1, 3u),
    subgroupBroadcast(v2, 0u), subgroupBroadcast(v2, 1u), subgroupBroadcast(v2, 2u), subgroupBroadcast(v2, 3u),
    subgroupBroadcast(v3, 0u), subgroupBroadcast(v3, 1u), subgroupBroadcast(v3, 2u), subgroupBroadcast(v3, 3u),
    subgroupBroadcast(v4, 0u), subgroupBroadcast(v4, 1u));
}
