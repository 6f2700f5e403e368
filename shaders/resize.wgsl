// Resampling of NCHW feature maps, x [planes = B·C, H, W] → out [planes, Ho, Wo], f32, as PyTorch's
// F.interpolate: nearest 2x upsampling (the VQVAE decoder's Upsample), bicubic with align_corners=False
// (VAR's quantizer upsampling a token map to the full feature map; with the CIRCULAR override the taps
// wrap around instead of clamping, so a map on the torus stays on the torus) and area (adaptive average
// pooling: the quantizer's downsampling of the residual to each scale).
//
// One invocation per output element, consecutive invocations on consecutive output pixels of a row, so
// writes are coalesced and reads of neighbouring taps hit the same cache lines. These maps are small
// (at most B·32 planes of 16x16 in the quantizer) or purely bandwidth-bound (the 2x upsample), so
// staging in workgroup memory would not pay.

struct Params {
  n: u32,  // elements of out
  H: u32,  // input height and width
  W: u32,
  Ho: u32, // output height and width
  Wo: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

const WG: u32 = 256u;
const A: f32 = -0.75; // PyTorch's bicubic coefficient

// Bicubic taps past an edge read the opposite edge (x is a torus) rather than the edge itself.
override CIRCULAR: bool = false;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Output element i as (plane, oy, ox).
fn coords(i: u32) -> vec3u {
  let ox = i % p.Wo;
  let r = i / p.Wo;
  return vec3u(r / p.Ho, r % p.Ho, ox);
}

// out[c, y, x] = x[c, y / 2, x / 2]
@compute @workgroup_size(WG)
fn upsample_nearest2x(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = coords(i);
  out[i] = x[(c.x * p.H + (c.y >> 1u)) * p.W + (c.z >> 1u)];
}

// Source position of output index o along an axis of `n_in` → `n_out` samples (align_corners=False,
// not clamped, as PyTorch does for cubic): its floor and fractional part.
fn source(o: u32, n_in: u32, n_out: u32) -> vec2f {
  let s = (f32(o) + 0.5) * (f32(n_in) / f32(n_out)) - 0.5;
  let f = floor(s);
  return vec2f(f, s - f);
}

// The 4 cubic convolution weights of taps floor - 1 .. floor + 2 at fractional offset t.
fn cubic_weights(t: f32) -> vec4f {
  let near = vec2f(t, 1.0 - t); // |distance| ≤ 1: ((A + 2) d - (A + 3)) d² + 1
  let far = vec2f(t + 1.0, 2.0 - t); // 1 < |distance| < 2: ((A d - 5A) d + 8A) d - 4A
  let wn = ((A + 2.0) * near - (A + 3.0)) * near * near + 1.0;
  let wf = ((A * far - 5.0 * A) * far + 8.0 * A) * far - 4.0 * A;
  return vec4f(wf.x, wn.x, wn.y, wf.y);
}

// Tap i of an axis of n samples (i may lie 2 outside [0, n)): clamped to the edge, or wrapped when CIRCULAR.
fn tap(i: i32, n: u32) -> u32 {
  if (CIRCULAR) { return u32(((i % i32(n)) + i32(n)) % i32(n)); }
  return u32(clamp(i, 0, i32(n) - 1));
}

@compute @workgroup_size(WG)
fn resize_bicubic(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = coords(i);
  let sy = source(c.y, p.H, p.Ho);
  let sx = source(c.z, p.W, p.Wo);
  let wy = cubic_weights(sy.y);
  let wx = cubic_weights(sx.y);
  let plane = c.x * p.H * p.W;
  let x0 = i32(sx.x) - 1;
  var cols: array<u32, 4>;
  for (var k = 0; k < 4; k++) { cols[k] = tap(x0 + k, p.W); }
  var acc = 0.0;
  for (var j = 0; j < 4; j++) {
    let row = plane + tap(i32(sy.x) - 1 + j, p.H) * p.W;
    let v = vec4f(x[row + cols[0]], x[row + cols[1]], x[row + cols[2]], x[row + cols[3]]);
    acc += wy[j] * dot(wx, v);
  }
  out[i] = acc;
}

// out[c, oy, ox] = mean of x[c, floor(oy·H / Ho) .. ceil((oy + 1)·H / Ho) - 1, likewise along x]
@compute @workgroup_size(WG)
fn resize_area(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = coords(i);
  let y0 = c.y * p.H / p.Ho;
  let y1 = ((c.y + 1u) * p.H + p.Ho - 1u) / p.Ho;
  let x0 = c.z * p.W / p.Wo;
  let x1 = ((c.z + 1u) * p.W + p.Wo - 1u) / p.Wo;
  let plane = c.x * p.H * p.W;
  var acc = 0.0;
  for (var y = y0; y < y1; y++) {
    for (var xx = x0; xx < x1; xx++) { acc += x[plane + y * p.W + xx]; }
  }
  out[i] = acc / f32((y1 - y0) * (x1 - x0));
}
