// attention_direct's key and value vectors (shaders/attention.wgsl, compiled after this file), each
// invocation loading its own: for adapters without subgroups of 4. shaders/attention-kv-subgroup.wgsl is
// the same contract with the loads shared.

// The invocations' common key limit: here, each its own.
fn shared_limit(lim: u32) -> u32 { return lim; }

// k_cache's vec4 c of the keys at rows at (keys 0..3) and bt (4..7). `lane` is unused here.
fn keys8(at: vec4u, bt: vec4u, c: u32, lane: u32) -> array<vec4f, 8> {
  return array<vec4f, 8>(k_cache[at.x + c], k_cache[at.y + c], k_cache[at.z + c], k_cache[at.w + c],
                         k_cache[bt.x + c], k_cache[bt.y + c], k_cache[bt.z + c], k_cache[bt.w + c]);
}

// The same of v_cache.
fn values8(at: vec4u, bt: vec4u, c: u32, lane: u32) -> array<vec4f, 8> {
  return array<vec4f, 8>(v_cache[at.x + c], v_cache[at.y + c], v_cache[at.z + c], v_cache[at.w + c],
                         v_cache[bt.x + c], v_cache[bt.y + c], v_cache[bt.z + c], v_cache[bt.w + c]);
}
