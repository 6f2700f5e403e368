// Blends two feature maps a, b [B, C, H, W] (f32, NCHW) position by position, for in-between video
// frames: out = wa·a + wb·b, with the weights of one (batch, position) computed from the C-channel
// vectors a[·, :, y, x] and b[·, :, y, x].
//
// mode 0 (lerp): wa = 1 - t, wb = t.
// mode 1 (slerp): the direction moves along the great circle from â to b̂ while the length moves
// linearly from |a| to |b|, so an in-between vector keeps the length of its ends instead of shrinking
// towards the middle as a lerp of two unrelated vectors does. Where the two directions are (nearly)
// parallel or opposite, or one vector is zero, the angle is undefined or the circle ill-conditioned,
// and the weights fall back to the lerp's.
//
// One invocation per (batch, position): it reads its column of C channels twice (dot products, then
// the blend); adjacent invocations read adjacent positions of each channel plane (coalesced).

struct Params {
  channels: u32,  // C
  positions: u32, // H · W
  count: u32,     // B · H · W: invocations with work
  t: f32,         // 0 gives a, 1 gives b
  mode: u32,      // 0: lerp, 1: slerp
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

const WG: u32 = 64u;
// Below this sine of the angle between the directions, slerp's weights lose precision: lerp instead.
const MIN_SINE: f32 = 1e-4;

@compute @workgroup_size(WG)
fn feature_slerp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) { return; }
  let batch = i / p.positions;
  let base = batch * p.channels * p.positions + i % p.positions;
  var wa = 1.0 - p.t;
  var wb = p.t;
  if (p.mode == 1u) {
    var ab = 0.0;
    var aa = 0.0;
    var bb = 0.0;
    for (var c = 0u; c < p.channels; c++) {
      let k = base + c * p.positions;
      ab += a[k] * b[k];
      aa += a[k] * a[k];
      bb += b[k] * b[k];
    }
    let na = sqrt(aa);
    let nb = sqrt(bb);
    if (na > 0.0 && nb > 0.0) {
      let cosine = clamp(ab / (na * nb), -1.0, 1.0);
      let omega = acos(cosine);
      let s = sin(omega);
      if (s >= MIN_SINE) {
        // Weights of the unit directions, then their sum's length from the exact cosine: dividing
        // by it keeps the length exact however coarse the adapter's acos and sin are.
        let u = sin((1.0 - p.t) * omega) / s;
        let v = sin(p.t * omega) / s;
        let dir = sqrt(max(u * u + v * v + 2.0 * u * v * cosine, 1e-30));
        let len = (1.0 - p.t) * na + p.t * nb;
        wa = len * u / (dir * na);
        wb = len * v / (dir * nb);
      }
    }
  }
  for (var c = 0u; c < p.channels; c++) {
    let k = base + c * p.positions;
    out[k] = wa * a[k] + wb * b[k];
  }
}
