// nn.Conv2d as an implicit GEMM: out[b, co, oy, ox] = bias[co] + Σ_{ci, ky, kx} w[co, ci, ky, kx] ·
// x[b, ci, oy·s - pad_top + ky, ox·s - pad_left + kx], with x [B, Cin, H, W] f32 (NCHW), w in PyTorch's
// [Cout, Cin, KS, KS] layout (f32, or f16 packed two halves per u32 word, low half first, chosen by the
// W_F16 override), out [B, Cout, Ho, Wo] f32. Taps outside x read as zero (zero padding, any side).
//
// Seen as a matrix product, the weight is an [Cout, K] matrix (K = Cin·KS·KS, already row-major) and
// the input is a virtual [K, P] matrix (P = B·Ho·Wo output pixels) whose column is the receptive field
// of one pixel, gathered on the fly (im2col without the copy). A workgroup computes a (16·TM)×64 tile
// of output channels × pixels; K is walked 16 at a time through workgroup memory stored k-major, so the
// inner loop reads 4 adjacent channels or pixels as one vec4, and each thread keeps a TM×4 block of sums
// in registers. The next K step's global loads are issued before this step's arithmetic. Input loads
// are coalesced (adjacent threads take adjacent pixels of one tap), weight loads too (adjacent k).

struct Params {
  B: u32,
  Cin: u32,
  H: u32,
  W: u32,
  Cout: u32,
  Ho: u32,
  Wo: u32,
  stride: u32,
  pad_top: u32,
  pad_left: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

override W_F16: bool = false;
override HAS_BIAS: bool = false;
// Kernel height and width (1 or 3).
override KS: u32 = 3u;
// Output channels per thread (1, 2 or 4); a tile has 16·TM channels.
override TM: u32 = 4u;

const WG: u32 = 256u;
const BN: u32 = 64u; // pixels per tile
const BK: u32 = 16u; // K step

// [BK][channels / 4] and [BK][BN / 4]; 17 vec4 per row rather than 16 to spread the stores over banks.
var<workgroup> ws: array<array<vec4f, 17>, 16>;
var<workgroup> xs: array<array<vec4f, 17>, 16>;

// W[co, k] with k = (ci·KS + ky)·KS + kx, or 0 outside [Cout, K].
fn load_w(co: u32, k: u32, K: u32) -> f32 {
  if (co >= p.Cout || k >= K) { return 0.0; }
  let e = co * K + k;
  if (W_F16) { return unpack2x16float(w[e >> 1u])[e & 1u]; }
  return bitcast<f32>(w[e]);
}

// One output pixel's receptive field: where its batch entry starts in x and its top-left tap.
struct Pixel {
  valid: bool,
  base: u32,
  iy: i32,
  ix: i32,
}

fn pixel(q: u32) -> Pixel {
  let hw = p.Ho * p.Wo;
  let b = q / hw;
  let r = q - b * hw;
  let oy = r / p.Wo;
  let ox = r - oy * p.Wo;
  return Pixel(q < p.B * hw, b * p.Cin * p.H * p.W, i32(oy * p.stride) - i32(p.pad_top), i32(ox * p.stride) - i32(p.pad_left));
}

// Tap k of pixel q's receptive field, or 0 in the padding or outside [K, P].
fn load_x(q: Pixel, k: u32, K: u32) -> f32 {
  if (!q.valid || k >= K) { return 0.0; }
  let ci = k / (KS * KS);
  let r = k - ci * KS * KS;
  let ky = r / KS;
  let iy = q.iy + i32(ky);
  let ix = q.ix + i32(r - ky * KS);
  if (iy < 0 || ix < 0 || iy >= i32(p.H) || ix >= i32(p.W)) { return 0.0; }
  return x[q.base + (ci * p.H + u32(iy)) * p.W + u32(ix)];
}

// Grid: [pixel tiles folded over x and z, channel tiles].
@compute @workgroup_size(WG)
fn conv2d(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q0 = (wg.x + wg.z * nwg.x) * BN;
  let co0 = wg.y * 16u * TM;
  let P = p.B * p.Ho * p.Wo;
  if (q0 >= P) { return; }
  let K = p.Cin * KS * KS;
  let tx = lid % 16u; // computes pixels q0 + 4·tx .. +3
  let ty = lid / 16u; // computes channels co0 + TM·ty .. +TM-1
  // Input loads: pixel q0 + xq, taps xk + 4·j. Weight loads: channel wr + 16·j, tap wk.
  let xq = lid % BN;
  let xk = lid / BN;
  let wk = lid % BK;
  let wr = lid / BK;
  let mine = pixel(q0 + xq);
  var xv: array<f32, 4>;
  var wv: array<f32, 4>;
  var acc: array<vec4f, 4>;
  for (var j = 0u; j < 4u; j++) { xv[j] = load_x(mine, xk + 4u * j, K); }
  for (var j = 0u; j < TM; j++) { wv[j] = load_w(co0 + wr + 16u * j, wk, K); }
  let wv4 = (ty * TM) >> 2u; // the vec4 of ws holding this thread's channels, from component wc
  let wc = (ty * TM) & 3u;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var j = 0u; j < 4u; j++) { xs[xk + 4u * j][xq >> 2u][xq & 3u] = xv[j]; }
    for (var j = 0u; j < TM; j++) {
      let r = wr + 16u * j;
      ws[wk][r >> 2u][r & 3u] = wv[j];
    }
    workgroupBarrier();
    let kn = k0 + BK;
    for (var j = 0u; j < 4u; j++) { xv[j] = load_x(mine, kn + xk + 4u * j, K); }
    for (var j = 0u; j < TM; j++) { wv[j] = load_w(co0 + wr + 16u * j, kn + wk, K); }
    for (var kk = 0u; kk < BK; kk++) {
      let a = ws[kk][wv4];
      let b = xs[kk][tx];
      for (var i = 0u; i < TM; i++) { acc[i] += a[wc + i] * b; }
    }
    workgroupBarrier();
  }
  let hw = p.Ho * p.Wo;
  for (var j = 0u; j < 4u; j++) {
    let q = q0 + 4u * tx + j;
    if (q >= P) { break; }
    let b = q / hw;
    let r = q - b * hw;
    for (var i = 0u; i < TM; i++) {
      let co = co0 + ty * TM + i;
      if (co < p.Cout) {
        var v = acc[i][j];
        if (HAS_BIAS) { v += bias[co]; }
        out[(b * p.Cout + co) * hw + r] = v;
      }
    }
  }
}
