// attention_direct's key and value vectors (shaders/attention.wgsl, compiled after this file) shared
// across a subgroup of 4 invocations, which take neighbouring query blocks of one head (the caller sees to
// it: ceil(L / 4) a multiple of 4) and so read the same keys: each loads 2 of the 8 and hands them to the
// others with subgroupBroadcast, a register shuffle where a load is a 4-lane gather on SwiftShader. For
// adapters whose subgroups are exactly the kernel's 4 neighbouring invocations (SwiftShader runs a
// workgroup's invocations in order, 4 at a time, as its SIMD group).

enable subgroups;
// The key loop's bound is shared_limit's subgroupMax, the same in every lane, which the uniformity analysis
// cannot see.
diagnostic(off, subgroup_uniformity);

// The subgroup's largest key limit: every lane walks the same keys (its own past its limit weigh 0).
fn shared_limit(lim: u32) -> u32 { return subgroupMax(lim); }

// k_cache's vec4 c of the keys at rows at (keys 0..3) and bt (4..7): key i from lane i % 4.
fn keys8(at: vec4u, bt: vec4u, c: u32, lane: u32) -> array<vec4f, 8> {
  let lo = k_cache[at[lane] + c];
  let hi = k_cache[bt[lane] + c];
  return array<vec4f, 8>(subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u),
                         subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u));
}

// The same of v_cache.
fn values8(at: vec4u, bt: vec4u, c: u32, lane: u32) -> array<vec4f, 8> {
  let lo = v_cache[at[lane] + c];
  let hi = v_cache[bt[lane] + c];
  return array<vec4f, 8>(subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u),
                         subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u));
}
