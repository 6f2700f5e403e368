// Material maps from an albedo, as texture tools derive them, every one on the torus: each neighbourhood
// wraps around the image, so a map tiles exactly as its albedo does. Images are NCHW f32 in [0, 1].
//
//   colour_axis  image [B, 3, H, W] → axis [B, 4]: the unit direction of largest colour variance of each
//              image (its first principal component; xyz, w unused), signed so that brighter is positive. A
//              two-colour texture varies along the line between its colours, so the maps read that contrast
//              even where the two have one luma (red and blue); a grey image gets the luma direction.
//   project    image, axis → lum [B, 2, H, W]: each pixel's colour along its image's axis, Y, and Y² (Y²
//              blurred gives local variance)
//   blur       x [P, H, W] → out [P, H, W]: a normalised Gaussian along one axis, taps wrapping around
//   height     local, wide [B, 2, H, W] (lum blurred a little and a lot) → out [B, 3, H, W]:
//              0.5 + gain · (local Y − wide Y), clamped: a band-pass, so shading across the whole texture
//              does not read as a slope
//   normal     height [B, 3, H, W] → out [B, 3, H, W]: the tangent-space normal of the height field, OpenGL
//              and glTF convention (+Y up, so image rows run down the -Y axis), encoded as n · 0.5 + 0.5
//   roughness  local → out: base + gain · (local standard deviation of Y), clamped: busy areas are rough
//   ao         local, mid → out: 1 − gain · max(0, mid Y − local Y), clamped: a point below its
//              surroundings (the height's cavities) is occluded
// Grey maps write their value to all three channels, so every map is an RGB image like the albedo.
//
// One invocation per output pixel (per plane element for the blur; one workgroup per image for the axis); consecutive invocations run along a
// row, so reads and writes coalesce. Maps are made once per generated texture, never per frame.

struct Params {
  n: u32,       // invocations: P·H·W for the blur, B·H·W for the others
  H: u32,
  W: u32,
  axis: u32,    // blur: 0 along rows (x), 1 along columns (y)
  radius: u32,  // blur: taps on each side
  sigma: f32,   // blur: standard deviation in pixels
  gain: f32,    // height: band-pass gain; normal: slope per 64th of the texture; roughness, ao: gain
  base: f32,    // roughness: value of a flat area
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;

const WG: u32 = 256u;
const LUMA = vec3f(0.2126, 0.7152, 0.0722); // Rec. 709
const POWER_STEPS: u32 = 32u;

// Per-invocation partial sums of colour_axis (up to 6 per invocation).
var<workgroup> partial: array<f32, 1536>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// i mod n for an i at most n below 0.
fn wrap(i: i32, n: u32) -> u32 {
  return u32((i + i32(n)) % i32(n));
}

// Writes v to the three channels of pixel `pix` (b·H·W + y·W + x) of an [B, 3, H, W] map.
fn write_grey(pix: u32, v: f32) {
  let hw = p.H * p.W;
  let o = (pix / hw) * 3u * hw + pix % hw;
  out[o] = v;
  out[o + hw] = v;
  out[o + 2u * hw] = v;
}

// Sums the first k of each invocation's 6 partial sums into invocation 0's (a tree over the workgroup).
fn reduce_partials(t: u32, k: u32) {
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (t < stride) {
      for (var c = 0u; c < k; c++) { partial[t * 6u + c] += partial[(t + stride) * 6u + c]; }
    }
    workgroupBarrier();
  }
}

// One workgroup per image: the mean colour, then the covariance about it, then power iteration from the
// luma direction (so a flat image keeps it, and the sign is taken against it).
@compute @workgroup_size(WG)
fn colour_axis(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u) {
  let hw = p.H * p.W;
  let base = wg.x * 3u * hw;
  var s = vec3f(0.0);
  for (var i = t; i < hw; i += WG) { s += vec3f(x[base + i], x[base + hw + i], x[base + 2u * hw + i]); }
  partial[t * 6u] = s.x;
  partial[t * 6u + 1u] = s.y;
  partial[t * 6u + 2u] = s.z;
  reduce_partials(t, 3u);
  let mean = vec3f(partial[0], partial[1], partial[2]) / f32(hw);
  workgroupBarrier();
  var d2 = vec3f(0.0);  // rr, gg, bb
  var dx = vec3f(0.0);  // rg, rb, gb
  for (var i = t; i < hw; i += WG) {
    let d = vec3f(x[base + i], x[base + hw + i], x[base + 2u * hw + i]) - mean;
    d2 += d * d;
    dx += vec3f(d.x * d.y, d.x * d.z, d.y * d.z);
  }
  partial[t * 6u] = d2.x;
  partial[t * 6u + 1u] = d2.y;
  partial[t * 6u + 2u] = d2.z;
  partial[t * 6u + 3u] = dx.x;
  partial[t * 6u + 4u] = dx.y;
  partial[t * 6u + 5u] = dx.z;
  reduce_partials(t, 6u);
  if (t != 0u) { return; }
  let c = mat3x3f(partial[0], partial[3], partial[4], partial[3], partial[1], partial[5], partial[4], partial[5], partial[2]) * (1.0 / f32(hw));
  var v = normalize(LUMA);
  for (var k = 0u; k < POWER_STEPS; k++) {
    let w = c * v;
    let len = length(w);
    if (len < 1e-12) { break; }
    v = w / len;
  }
  if (dot(v, LUMA) < 0.0) { v = -v; }
  out[wg.x * 4u] = v.x;
  out[wg.x * 4u + 1u] = v.y;
  out[wg.x * 4u + 2u] = v.z;
  out[wg.x * 4u + 3u] = 0.0;
}

// x = image, y = axis [B, 4].
@compute @workgroup_size(WG)
fn project(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.H * p.W;
  let b = i / hw;
  let s = i % hw;
  let src = b * 3u * hw + s;
  let l = dot(vec3f(x[src], x[src + hw], x[src + 2u * hw]), vec3f(y[b * 4u], y[b * 4u + 1u], y[b * 4u + 2u]));
  out[b * 2u * hw + s] = l;
  out[b * 2u * hw + hw + s] = l * l;
}

@compute @workgroup_size(WG)
fn blur(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let col = i % p.W;
  let row = (i / p.W) % p.H;
  let plane = i - row * p.W - col;
  let r = i32(p.radius);
  let inv = -0.5 / (p.sigma * p.sigma);
  var acc = 0.0;
  var total = 0.0;
  for (var k = -r; k <= r; k++) {
    let w = exp(f32(k * k) * inv);
    var at: u32;
    if (p.axis == 0u) { at = plane + row * p.W + wrap(i32(col) + k, p.W); }
    else { at = plane + wrap(i32(row) + k, p.H) * p.W + col; }
    acc += w * x[at];
    total += w;
  }
  out[i] = acc / total;
}

// x = local, y = wide (both [B, 2, H, W]).
@compute @workgroup_size(WG)
fn height(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.H * p.W;
  let at = (i / hw) * 2u * hw + i % hw;
  write_grey(i, clamp(0.5 + p.gain * (x[at] - y[at]), 0.0, 1.0));
}

// x = height [B, 3, H, W] (channel 0 read).
@compute @workgroup_size(WG)
fn normal(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.H * p.W;
  let b = i / hw;
  let col = i % p.W;
  let row = (i / p.W) % p.H;
  let plane = b * 3u * hw;
  let left = x[plane + row * p.W + wrap(i32(col) - 1, p.W)];
  let right = x[plane + row * p.W + wrap(i32(col) + 1, p.W)];
  let up = x[plane + wrap(i32(row) - 1, p.H) * p.W + col];
  let down = x[plane + wrap(i32(row) + 1, p.H) * p.W + col];
  // Central differences per pixel, scaled to a 64th of the texture so a map looks alike at any size.
  let dx = 0.5 * (right - left) * f32(p.W) / 64.0;
  let dy = 0.5 * (down - up) * f32(p.H) / 64.0;
  let n = normalize(vec3f(-p.gain * dx, p.gain * dy, 1.0));
  let o = plane + row * p.W + col;
  out[o] = n.x * 0.5 + 0.5;
  out[o + hw] = n.y * 0.5 + 0.5;
  out[o + 2u * hw] = n.z * 0.5 + 0.5;
}

// x = local [B, 2, H, W].
@compute @workgroup_size(WG)
fn roughness(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.H * p.W;
  let at = (i / hw) * 2u * hw + i % hw;
  let mean = x[at];
  let sd = sqrt(max(x[at + hw] - mean * mean, 0.0));
  write_grey(i, clamp(p.base + p.gain * sd, 0.0, 1.0));
}

// x = local, y = mid (both [B, 2, H, W]).
@compute @workgroup_size(WG)
fn ao(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.H * p.W;
  let at = (i / hw) * 2u * hw + i % hw;
  write_grey(i, clamp(1.0 - p.gain * max(y[at] - x[at], 0.0), 0.0, 1.0));
}
