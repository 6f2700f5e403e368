// conv2d_direct_3x3's weight taps (shaders/conv2d.wgsl, compiled after this file), each invocation loading
// them itself: for adapters without subgroups of 4. shaders/conv2d-taps-subgroup.wgsl is the same contract
// with the loads shared.

// Input channel ci's 9 taps (ky, kx) of output channels co0 .. co0 + 3, at [3·ky + kx], and with CH8 those of
// co0 + 4 .. co0 + 7 at [9 + 3·ky + kx] (else zeros there). `lane` is unused here.
fn ci_taps(co0: u32, lane: u32, ci: u32) -> array<vec4f, 18> {
  let k = ci * 9u;
  let a = array<vec4f, 9>(w_group(co0, k), w_group(co0, k + 1u), w_group(co0, k + 2u), w_group(co0, k + 3u),
                          w_group(co0, k + 4u), w_group(co0, k + 5u), w_group(co0, k + 6u), w_group(co0, k + 7u),
                          w_group(co0, k + 8u));
  if (!CH8) { return array<vec4f, 18>(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], vec4f(), vec4f(), vec4f(), vec4f(), vec4f(), vec4f(), vec4f(), vec4f(), vec4f()); }
  let c = co0 + 4u;
  return array<vec4f, 18>(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                          w_group(c, k), w_group(c, k + 1u), w_group(c, k + 2u), w_group(c, k + 3u), w_group(c, k + 4u),
                          w_group(c, k + 5u), w_group(c, k + 6u), w_group(c, k + 7u), w_group(c, k + 8u));
}
