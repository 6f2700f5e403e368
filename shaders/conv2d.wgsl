// nn.Conv2d as an implicit GEMM: out[b, co, oy, ox] = bias[co] + Σ_{ci, ky, kx} w[co, ci, ky, kx] ·
// x[b, ci, oy·s - pad_top + ky, ox·s - pad_left + kx], with x [B, Cin, H, W] f32 (NCHW), w in PyTorch's
// [Cout, Cin, KS, KS] layout (f32, or f16 packed two halves per u32 word, low half first, chosen by the
// W_F16 override), out [B, Cout, Ho, Wo] f32. Taps outside x read as zero (zero padding, any side), or,
// with the CIRCULAR override, wrap around to the opposite edge (circular padding: x seen as a torus, so a
// decoder built of such convolutions makes images that tile without a seam).
//
// The weight may also come in channel groups (the PACKED override): [ceil(Cout / 4), Cin, KS, KS, 4], the 4
// channels of one tap side by side (zeros past Cout), so the direct kernels read 4 channels' tap as one
// vector. `packConv2dWeight` (kernels/conv2d.ts) makes it; both styles read both layouts.
//
// Seen as a matrix product, the weight is an [Cout, K] matrix (K = Cin·KS·KS, already row-major) and
// the input is a virtual [K, P] matrix (P = B·Ho·Wo output pixels) whose column is the receptive field
// of one pixel, gathered on the fly (im2col without the copy). A workgroup computes a (16·TM)×64 tile
// of output channels × pixels; K is walked 16 at a time through workgroup memory stored k-major, so the
// inner loop reads 4 adjacent channels or pixels as one vec4, and each thread keeps a TM×4 block of sums
// in registers. The next K step's global loads are issued before this step's arithmetic. Input loads
// are coalesced (adjacent threads take adjacent pixels of one tap), weight loads too (adjacent k).
//
// That is the 'workgroup' kernel style (GPUs). The 'direct' style (CPU-emulated adapters) takes
// conv2d_direct: an invocation computes 4 output channels × 8 adjacent pixels of one output row in
// registers, reading each input row segment and the 4 channels' taps straight from memory: no
// workgroup memory, no barrier. conv2d_direct_3x3 does the same on two output rows, for 8 channels
// (CH8) or 4; conv2d_direct_1x1 on 8 channels of 8 flattened pixels.

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
// Circular padding: a tap at -1 reads index n - 1, one at n reads 0 (padding never exceeds the size).
override CIRCULAR: bool = false;
// Kernel height and width (1 or 3).
override KS: u32 = 3u;
// Output channels per thread (1, 2 or 4); a tile has 16·TM channels.
override TM: u32 = 4u;
// The weight is in channel groups (see the top of this file).
override PACKED: bool = false;
// conv2d_direct_3x3: 8 output channels an invocation (else 4).
override CH8: bool = false;

const WG: u32 = 256u;
const BN: u32 = 64u; // pixels per tile
const BK: u32 = 16u; // K step

// [BK][channels / 4] and [BK][BN / 4]; 17 vec4 per row rather than 16 to spread the stores over banks.
var<workgroup> ws: array<array<vec4f, 17>, 16>;
var<workgroup> xs: array<array<vec4f, 17>, 16>;

// W[co, k] with k = (ci·KS + ky)·KS + kx, or 0 outside [Cout, K].
fn load_w(co: u32, k: u32, K: u32) -> f32 {
  if (co >= p.Cout || k >= K) { return 0.0; }
  if (PACKED) { return w_at(((co >> 2u) * K + k) * 4u + (co & 3u)); }
  return w_at(co * K + k);
}

// Element e of the weight as stored (in range: load_w tests it, the direct kernels clamp their channels).
fn w_at(e: u32) -> f32 {
  if (W_F16) { return unpack2x16float(w[e >> 1u])[e & 1u]; }
  return bitcast<f32>(w[e]);
}

// Tap k (of K = Cin·KS·KS) of channels co0 .. co0 + 3 (co0 a multiple of 4; channels past Cout repeat an
// earlier one's, and are not stored): one vector load of a channel group when PACKED, else four.
fn w_group(co0: u32, k: u32) -> vec4f {
  let K = p.Cin * KS * KS;
  let last = p.Cout - 1u;
  if (PACKED) {
    let e = (min(co0, last) / 4u) * K + k;
    if (W_F16) { return vec4f(unpack2x16float(w[2u * e]), unpack2x16float(w[2u * e + 1u])); }
    return vec4f(bitcast<f32>(w[4u * e]), bitcast<f32>(w[4u * e + 1u]), bitcast<f32>(w[4u * e + 2u]), bitcast<f32>(w[4u * e + 3u]));
  }
  return vec4f(w_at(min(co0, last) * K + k), w_at(min(co0 + 1u, last) * K + k), w_at(min(co0 + 2u, last) * K + k), w_at(min(co0 + 3u, last) * K + k));
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

// Index i of an axis of n taps, wrapped onto the torus (i may lie up to n outside [0, n)).
fn wrap(i: i32, n: u32) -> u32 {
  return u32(select(select(i, i - i32(n), i >= i32(n)), i + i32(n), i < 0));
}

// Tap k of pixel q's receptive field, or 0 in the (zero) padding or outside [K, P].
fn load_x(q: Pixel, k: u32, K: u32) -> f32 {
  if (!q.valid || k >= K) { return 0.0; }
  let ci = k / (KS * KS);
  let r = k - ci * KS * KS;
  let ky = r / KS;
  let iy = q.iy + i32(ky);
  let ix = q.ix + i32(r - ky * KS);
  if (CIRCULAR) { return x[q.base + (ci * p.H + wrap(iy, p.H)) * p.W + wrap(ix, p.W)]; }
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

const DIRECT_WG: u32 = 64u;

// x[row + ix], or 0 in the zero padding (a clamped load and a select: no branch); wrapped when CIRCULAR.
fn load_x_at(row: u32, ix: i32) -> f32 {
  if (CIRCULAR) { return x[row + wrap(ix, p.W)]; }
  return select(0.0, x[row + u32(clamp(ix, 0, i32(p.W) - 1))], ix >= 0 && ix < i32(p.W));
}

// A direct kernel's work item: channels from co0 (4 or 8) at pixels ox0 .. ox0 + 7 of output row oy (and,
// for a kernel that takes two rows, oy + 1) of batch entry b.
struct Block {
  valid: bool,
  co0: u32,
  b: u32,
  oy: u32,
  ox0: u32,
}

// Invocation t's block of `channels` output channels and `rows` output rows (1 or 2): neighbouring
// invocations take neighbouring pixel blocks of the same channels.
fn direct_block(gid: vec3u, nwg: vec3u, channels: u32, rows: u32) -> Block {
  let t = gid.x + gid.y * nwg.x * DIRECT_WG;
  let blocks_x = (p.Wo + 7u) / 8u;
  let blocks_y = (p.Ho + rows - 1u) / rows;
  let pixel_blocks = p.B * blocks_y * blocks_x;
  let co0 = (t / pixel_blocks) * channels;
  let r = t % pixel_blocks;
  let row = r / blocks_x; // b·blocks_y + oy / rows
  return Block(co0 < p.Cout, co0, row / blocks_y, (row % blocks_y) * rows, (r % blocks_x) * 8u);
}

// Stores lo[c][j] + bias and hi[c][j] + bias at channel co0 + c, pixels ox0 + j and ox0 + 4 + j, inside out.
fn store_block(q: Block, lo: array<vec4f, 4>, hi: array<vec4f, 4>) {
  let hw = p.Ho * p.Wo;
  for (var c = 0u; c < 4u; c++) {
    let co = q.co0 + c;
    if (co >= p.Cout) { break; }
    var bias_c = 0.0;
    if (HAS_BIAS) { bias_c = bias[co]; }
    let at = (q.b * p.Cout + co) * hw + q.oy * p.Wo + q.ox0;
    for (var j = 0u; j < 4u; j++) {
      if (q.ox0 + j < p.Wo) { out[at + j] = lo[c][j] + bias_c; }
      if (q.ox0 + 4u + j < p.Wo) { out[at + 4u + j] = hi[c][j] + bias_c; }
    }
  }
}

// Any kernel size and stride. Grid: ceil(Cout / 4) · B · Ho · ceil(Wo / 8) invocations of DIRECT_WG,
// folded as `grid` does. Sums live in named vectors, not arrays: a software adapter keeps those in
// registers.
@compute @workgroup_size(DIRECT_WG)
fn conv2d_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = direct_block(gid, nwg, 4u, 1u);
  if (!q.valid) { return; }
  let s = i32(p.stride);
  let ix0 = i32(q.ox0) * s - i32(p.pad_left);
  var l0 = vec4f(); var l1 = vec4f(); var l2 = vec4f(); var l3 = vec4f(); // pixels ox0 .. ox0 + 3
  var h0 = vec4f(); var h1 = vec4f(); var h2 = vec4f(); var h3 = vec4f(); // pixels ox0 + 4 .. ox0 + 7
  for (var ci = 0u; ci < p.Cin; ci++) {
    for (var ky = 0u; ky < KS; ky++) {
      var iy = i32(q.oy) * s - i32(p.pad_top) + i32(ky);
      if (CIRCULAR) {
        iy = i32(wrap(iy, p.H));
      } else if (iy < 0 || iy >= i32(p.H)) {
        continue;
      }
      let base = ((q.b * p.Cin + ci) * p.H + u32(iy)) * p.W;
      let k = (ci * KS + ky) * KS;
      for (var kx = 0u; kx < KS; kx++) {
        let ix = ix0 + i32(kx);
        let xl = vec4f(load_x_at(base, ix), load_x_at(base, ix + s), load_x_at(base, ix + 2 * s), load_x_at(base, ix + 3 * s));
        let xh = vec4f(load_x_at(base, ix + 4 * s), load_x_at(base, ix + 5 * s), load_x_at(base, ix + 6 * s), load_x_at(base, ix + 7 * s));
        let wv = w_group(q.co0, k + kx);
        l0 += wv.x * xl; h0 += wv.x * xh;
        l1 += wv.y * xl; h1 += wv.y * xh;
        l2 += wv.z * xl; h2 += wv.z * xh;
        l3 += wv.w * xl; h3 += wv.w * xh;
      }
    }
  }
  store_block(q, array<vec4f, 4>(l0, l1, l2, l3), array<vec4f, 4>(h0, h1, h2, h3));
}

// conv2d_direct_3x3's and conv2d_direct_1x1's view of x, four pixels at a time.
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;

// The 1x1, stride 1, unpadded case with H·W % 4 == 0 (the decoder's shortcut convs), a matrix product over
// the flattened pixels: an invocation computes 8 channels (4 past Cout repeating the last group, not stored)
// of 8 neighbouring pixels, reading each input channel's 8 pixels as two vec4s. Grid: ceil(Cout / 8) · B ·
// ceil(H·W / 8) invocations of DIRECT_WG.
@compute @workgroup_size(DIRECT_WG)
fn conv2d_direct_1x1(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * DIRECT_WG;
  let hw = p.H * p.W;
  let blocks = (hw + 7u) / 8u;
  let pixel_blocks = p.B * blocks;
  let co0 = (t / pixel_blocks) * 8u;
  if (co0 >= p.Cout) { return; }
  let r = t % pixel_blocks;
  let b = r / blocks;
  let p0 = (r % blocks) * 8u;
  let hw4 = hw / 4u;
  let v0 = p0 / 4u;
  let v1 = min(v0 + 1u, hw4 - 1u); // past the end when H·W % 8 == 4: read, not stored
  let cb = co0 + 4u;
  // l: channels co0 .. co0 + 3 at pixels p0 .. p0 + 3, h: at p0 + 4 .. p0 + 7; the capitals channels co0 + 4 ...
  var l0 = vec4f(); var l1 = vec4f(); var l2 = vec4f(); var l3 = vec4f();
  var h0 = vec4f(); var h1 = vec4f(); var h2 = vec4f(); var h3 = vec4f();
  var L0 = vec4f(); var L1 = vec4f(); var L2 = vec4f(); var L3 = vec4f();
  var H0 = vec4f(); var H1 = vec4f(); var H2 = vec4f(); var H3 = vec4f();
  for (var ci = 0u; ci < p.Cin; ci++) {
    let row = (b * p.Cin + ci) * hw4;
    let xl = x4[row + v0];
    let xh = x4[row + v1];
    let a = w_group(co0, ci);
    let e = w_group(cb, ci);
    l0 += a.x * xl; l1 += a.y * xl; l2 += a.z * xl; l3 += a.w * xl;
    h0 += a.x * xh; h1 += a.y * xh; h2 += a.z * xh; h3 += a.w * xh;
    L0 += e.x * xl; L1 += e.y * xl; L2 += e.z * xl; L3 += e.w * xl;
    H0 += e.x * xh; H1 += e.y * xh; H2 += e.z * xh; H3 += e.w * xh;
  }
  let sums = array<vec4f, 16>(l0, l1, l2, l3, h0, h1, h2, h3, L0, L1, L2, L3, H0, H1, H2, H3);
  for (var c = 0u; c < 8u; c++) {
    let co = co0 + c;
    if (co >= p.Cout) { break; }
    var bias_c = 0.0;
    if (HAS_BIAS) { bias_c = bias[co]; }
    let at = (b * p.Cout + co) * hw + p0;
    let lo = sums[(c / 4u) * 8u + c % 4u];
    let hi = sums[(c / 4u) * 8u + 4u + c % 4u];
    for (var j = 0u; j < 4u; j++) {
      if (p0 + j < hw) { out[at + j] = lo[j] + bias_c; }
      if (p0 + 4u + j < hw) { out[at + 4u + j] = hi[j] + bias_c; }
    }
  }
}


// Read x as vec4s: W % 4 == 0 and one column of padding on each side (so Wo == W), so a block's 10
// input pixels ox0 - 1 .. ox0 + 8 are two whole vec4s and a neighbour on each side.
override X4: bool = false;

// The 10 input pixels under a block's 8 output pixels on row iy of input channel ci (zeros outside x, or
// wrapped when CIRCULAR), as the six vec4s the three taps read: [kx] for pixels ox0 .. ox0 + 3, then
// [3 + kx] for ox0 + 4 .. ox0 + 7.
fn row_taps(q: Block, ci: u32, iy: i32) -> array<vec4f, 6> {
  let inside = CIRCULAR || (iy >= 0 && iy < i32(p.H));
  var y = u32(clamp(iy, 0, i32(p.H) - 1));
  if (CIRCULAR) { y = wrap(iy, p.H); }
  let row = (q.b * p.Cin + ci) * p.H + y;
  if (X4) {
    // The block's two vec4s, and the ones holding its left and right neighbours; a row's last block may
    // hold 4 pixels only (W % 8 == 4). One past the row is read clamped inside it, and a select drops it;
    // on the torus the neighbours past either end are the other end's.
    let base = row * (p.W / 4u);
    let n = p.W / 4u;
    let last = n - 1u;
    let v0 = q.ox0 / 4u;
    let a = select(vec4f(), x4[base + v0], inside);
    if (CIRCULAR) {
      let c = x4[base + (v0 + 1u) % n];
      let s0 = x4[base + (v0 + last) % n].w;
      let s9 = x4[base + (v0 + 2u) % n].x;
      return array<vec4f, 6>(vec4f(s0, a.xyz), a, vec4f(a.yzw, c.x), vec4f(a.w, c.xyz), c, vec4f(c.yzw, s9));
    }
    let c = select(vec4f(), x4[base + min(v0 + 1u, last)], inside && q.ox0 + 4u < p.W);
    let s0 = select(0.0, x4[base + select(v0, v0 - 1u, q.ox0 > 0u)].w, inside && q.ox0 > 0u);
    let s9 = select(0.0, x4[base + min(v0 + 2u, last)].x, inside && q.ox0 + 8u < p.W);
    return array<vec4f, 6>(vec4f(s0, a.xyz), a, vec4f(a.yzw, c.x), vec4f(a.w, c.xyz), c, vec4f(c.yzw, s9));
  }
  let base = row * p.W;
  let ix0 = i32(q.ox0) - i32(p.pad_left);
  var s: array<f32, 10>;
  for (var i = 0; i < 10; i++) { s[i] = select(0.0, load_x_at(base, ix0 + i), inside); }
  return array<vec4f, 6>(vec4f(s[0], s[1], s[2], s[3]), vec4f(s[1], s[2], s[3], s[4]), vec4f(s[2], s[3], s[4], s[5]),
                         vec4f(s[4], s[5], s[6], s[7]), vec4f(s[5], s[6], s[7], s[8]), vec4f(s[6], s[7], s[8], s[9]));
}

// acc + w0·t0 + w1·t1 + w2·t2 (the three kx taps of one channel on four pixels), as fused multiply-adds.
fn tap3(acc: vec4f, w0: f32, w1: f32, w2: f32, t0: vec4f, t1: vec4f, t2: vec4f) -> vec4f {
  return fma(vec4f(w2), t2, fma(vec4f(w1), t1, fma(vec4f(w0), t0, acc)));
}

// The 3x3, stride 1 case (most of a VQVAE decoder), as conv2d_direct but on two output rows and 8
// channels (CH8) or 4: each input channel's four input rows are read once for the three ky, the three kx
// and all the channels, and each weight once for both rows. Written for a CPU-emulated adapter, where loads
// cost more than the arithmetic: no branch in the loop (a row in the padding is read clamped and selected
// away), whole vec4 loads where X4 allows them and a channel group's tap as one load where PACKED does,
// the sums in named vectors and the ky steps written out, so that every index is a constant (a loop over
// ky, indexing the rows it reads, measured half as fast on SwiftShader), and fma.
// Grid: ceil(Cout / (CH8 ? 8 : 4)) · B · ceil(Ho / 2) · ceil(Wo / 8) invocations of DIRECT_WG.
@compute @workgroup_size(DIRECT_WG)
fn conv2d_direct_3x3(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // No early return past the last channel group (subgroup operations need the whole subgroup): it reads the
  // last group and stores nothing.
  var q = direct_block(gid, nwg, select(4u, 8u, CH8), 2u);
  let lane = gid.x % 4u;
  let cb = q.co0 + 4u; // the second channel group (CH8)
  // Sums of channels co0 .. co0 + 3 on output row oy (l: pixels ox0 .. ox0 + 3, h: ox0 + 4 .. ox0 + 7) and
  // on row oy + 1 (m, n); the capitals are channels co0 + 4 .. co0 + 7.
  var l0 = vec4f(); var l1 = vec4f(); var l2 = vec4f(); var l3 = vec4f();
  var h0 = vec4f(); var h1 = vec4f(); var h2 = vec4f(); var h3 = vec4f();
  var m0 = vec4f(); var m1 = vec4f(); var m2 = vec4f(); var m3 = vec4f();
  var n0 = vec4f(); var n1 = vec4f(); var n2 = vec4f(); var n3 = vec4f();
  var L0 = vec4f(); var L1 = vec4f(); var L2 = vec4f(); var L3 = vec4f();
  var H0 = vec4f(); var H1 = vec4f(); var H2 = vec4f(); var H3 = vec4f();
  var M0 = vec4f(); var M1 = vec4f(); var M2 = vec4f(); var M3 = vec4f();
  var N0 = vec4f(); var N1 = vec4f(); var N2 = vec4f(); var N3 = vec4f();
  let iy0 = i32(q.oy) - i32(p.pad_top);
  for (var ci = 0u; ci < p.Cin; ci++) {
    // Input rows oy - pad_top .. + 3 under the block ([0 .. 2]: pixels ox0 .. ox0 + 3 at kx = 0 .. 2; [3 .. 5]:
    // ox0 + 4 .. ox0 + 7); output row oy reads rows ky, row oy + 1 rows ky + 1 (past the last output row it is
    // computed and not stored).
    let r0 = row_taps(q, ci, iy0);
    let r1 = row_taps(q, ci, iy0 + 1);
    let r2 = row_taps(q, ci, iy0 + 2);
    let r3 = row_taps(q, ci, iy0 + 3);
    let w = ci_taps(q.co0, lane, ci); // [9·g + 3·ky + kx]: channel group g (co0, co0 + 4), tap (ky, kx)
    { // ky = 0
      let a0 = w[0]; let a1 = w[1]; let a2 = w[2];
      l0 = tap3(l0, a0.x, a1.x, a2.x, r0[0], r0[1], r0[2]); l1 = tap3(l1, a0.y, a1.y, a2.y, r0[0], r0[1], r0[2]);
      l2 = tap3(l2, a0.z, a1.z, a2.z, r0[0], r0[1], r0[2]); l3 = tap3(l3, a0.w, a1.w, a2.w, r0[0], r0[1], r0[2]);
      h0 = tap3(h0, a0.x, a1.x, a2.x, r0[3], r0[4], r0[5]); h1 = tap3(h1, a0.y, a1.y, a2.y, r0[3], r0[4], r0[5]);
      h2 = tap3(h2, a0.z, a1.z, a2.z, r0[3], r0[4], r0[5]); h3 = tap3(h3, a0.w, a1.w, a2.w, r0[3], r0[4], r0[5]);
      m0 = tap3(m0, a0.x, a1.x, a2.x, r1[0], r1[1], r1[2]); m1 = tap3(m1, a0.y, a1.y, a2.y, r1[0], r1[1], r1[2]);
      m2 = tap3(m2, a0.z, a1.z, a2.z, r1[0], r1[1], r1[2]); m3 = tap3(m3, a0.w, a1.w, a2.w, r1[0], r1[1], r1[2]);
      n0 = tap3(n0, a0.x, a1.x, a2.x, r1[3], r1[4], r1[5]); n1 = tap3(n1, a0.y, a1.y, a2.y, r1[3], r1[4], r1[5]);
      n2 = tap3(n2, a0.z, a1.z, a2.z, r1[3], r1[4], r1[5]); n3 = tap3(n3, a0.w, a1.w, a2.w, r1[3], r1[4], r1[5]);
      if (CH8) {
        let b0 = w[9]; let b1 = w[10]; let b2 = w[11];
        L0 = tap3(L0, b0.x, b1.x, b2.x, r0[0], r0[1], r0[2]); L1 = tap3(L1, b0.y, b1.y, b2.y, r0[0], r0[1], r0[2]);
        L2 = tap3(L2, b0.z, b1.z, b2.z, r0[0], r0[1], r0[2]); L3 = tap3(L3, b0.w, b1.w, b2.w, r0[0], r0[1], r0[2]);
        H0 = tap3(H0, b0.x, b1.x, b2.x, r0[3], r0[4], r0[5]); H1 = tap3(H1, b0.y, b1.y, b2.y, r0[3], r0[4], r0[5]);
        H2 = tap3(H2, b0.z, b1.z, b2.z, r0[3], r0[4], r0[5]); H3 = tap3(H3, b0.w, b1.w, b2.w, r0[3], r0[4], r0[5]);
        M0 = tap3(M0, b0.x, b1.x, b2.x, r1[0], r1[1], r1[2]); M1 = tap3(M1, b0.y, b1.y, b2.y, r1[0], r1[1], r1[2]);
        M2 = tap3(M2, b0.z, b1.z, b2.z, r1[0], r1[1], r1[2]); M3 = tap3(M3, b0.w, b1.w, b2.w, r1[0], r1[1], r1[2]);
        N0 = tap3(N0, b0.x, b1.x, b2.x, r1[3], r1[4], r1[5]); N1 = tap3(N1, b0.y, b1.y, b2.y, r1[3], r1[4], r1[5]);
        N2 = tap3(N2, b0.z, b1.z, b2.z, r1[3], r1[4], r1[5]); N3 = tap3(N3, b0.w, b1.w, b2.w, r1[3], r1[4], r1[5]);
      }
    }
    { // ky = 1
      let a0 = w[3]; let a1 = w[4]; let a2 = w[5];
      l0 = tap3(l0, a0.x, a1.x, a2.x, r1[0], r1[1], r1[2]); l1 = tap3(l1, a0.y, a1.y, a2.y, r1[0], r1[1], r1[2]);
      l2 = tap3(l2, a0.z, a1.z, a2.z, r1[0], r1[1], r1[2]); l3 = tap3(l3, a0.w, a1.w, a2.w, r1[0], r1[1], r1[2]);
      h0 = tap3(h0, a0.x, a1.x, a2.x, r1[3], r1[4], r1[5]); h1 = tap3(h1, a0.y, a1.y, a2.y, r1[3], r1[4], r1[5]);
      h2 = tap3(h2, a0.z, a1.z, a2.z, r1[3], r1[4], r1[5]); h3 = tap3(h3, a0.w, a1.w, a2.w, r1[3], r1[4], r1[5]);
      m0 = tap3(m0, a0.x, a1.x, a2.x, r2[0], r2[1], r2[2]); m1 = tap3(m1, a0.y, a1.y, a2.y, r2[0], r2[1], r2[2]);
      m2 = tap3(m2, a0.z, a1.z, a2.z, r2[0], r2[1], r2[2]); m3 = tap3(m3, a0.w, a1.w, a2.w, r2[0], r2[1], r2[2]);
      n0 = tap3(n0, a0.x, a1.x, a2.x, r2[3], r2[4], r2[5]); n1 = tap3(n1, a0.y, a1.y, a2.y, r2[3], r2[4], r2[5]);
      n2 = tap3(n2, a0.z, a1.z, a2.z, r2[3], r2[4], r2[5]); n3 = tap3(n3, a0.w, a1.w, a2.w, r2[3], r2[4], r2[5]);
      if (CH8) {
        let b0 = w[12]; let b1 = w[13]; let b2 = w[14];
        L0 = tap3(L0, b0.x, b1.x, b2.x, r1[0], r1[1], r1[2]); L1 = tap3(L1, b0.y, b1.y, b2.y, r1[0], r1[1], r1[2]);
        L2 = tap3(L2, b0.z, b1.z, b2.z, r1[0], r1[1], r1[2]); L3 = tap3(L3, b0.w, b1.w, b2.w, r1[0], r1[1], r1[2]);
        H0 = tap3(H0, b0.x, b1.x, b2.x, r1[3], r1[4], r1[5]); H1 = tap3(H1, b0.y, b1.y, b2.y, r1[3], r1[4], r1[5]);
        H2 = tap3(H2, b0.z, b1.z, b2.z, r1[3], r1[4], r1[5]); H3 = tap3(H3, b0.w, b1.w, b2.w, r1[3], r1[4], r1[5]);
        M0 = tap3(M0, b0.x, b1.x, b2.x, r2[0], r2[1], r2[2]); M1 = tap3(M1, b0.y, b1.y, b2.y, r2[0], r2[1], r2[2]);
        M2 = tap3(M2, b0.z, b1.z, b2.z, r2[0], r2[1], r2[2]); M3 = tap3(M3, b0.w, b1.w, b2.w, r2[0], r2[1], r2[2]);
        N0 = tap3(N0, b0.x, b1.x, b2.x, r2[3], r2[4], r2[5]); N1 = tap3(N1, b0.y, b1.y, b2.y, r2[3], r2[4], r2[5]);
        N2 = tap3(N2, b0.z, b1.z, b2.z, r2[3], r2[4], r2[5]); N3 = tap3(N3, b0.w, b1.w, b2.w, r2[3], r2[4], r2[5]);
      }
    }
    { // ky = 2
      let a0 = w[6]; let a1 = w[7]; let a2 = w[8];
      l0 = tap3(l0, a0.x, a1.x, a2.x, r2[0], r2[1], r2[2]); l1 = tap3(l1, a0.y, a1.y, a2.y, r2[0], r2[1], r2[2]);
      l2 = tap3(l2, a0.z, a1.z, a2.z, r2[0], r2[1], r2[2]); l3 = tap3(l3, a0.w, a1.w, a2.w, r2[0], r2[1], r2[2]);
      h0 = tap3(h0, a0.x, a1.x, a2.x, r2[3], r2[4], r2[5]); h1 = tap3(h1, a0.y, a1.y, a2.y, r2[3], r2[4], r2[5]);
      h2 = tap3(h2, a0.z, a1.z, a2.z, r2[3], r2[4], r2[5]); h3 = tap3(h3, a0.w, a1.w, a2.w, r2[3], r2[4], r2[5]);
      m0 = tap3(m0, a0.x, a1.x, a2.x, r3[0], r3[1], r3[2]); m1 = tap3(m1, a0.y, a1.y, a2.y, r3[0], r3[1], r3[2]);
      m2 = tap3(m2, a0.z, a1.z, a2.z, r3[0], r3[1], r3[2]); m3 = tap3(m3, a0.w, a1.w, a2.w, r3[0], r3[1], r3[2]);
      n0 = tap3(n0, a0.x, a1.x, a2.x, r3[3], r3[4], r3[5]); n1 = tap3(n1, a0.y, a1.y, a2.y, r3[3], r3[4], r3[5]);
      n2 = tap3(n2, a0.z, a1.z, a2.z, r3[3], r3[4], r3[5]); n3 = tap3(n3, a0.w, a1.w, a2.w, r3[3], r3[4], r3[5]);
      if (CH8) {
        let b0 = w[15]; let b1 = w[16]; let b2 = w[17];
        L0 = tap3(L0, b0.x, b1.x, b2.x, r2[0], r2[1], r2[2]); L1 = tap3(L1, b0.y, b1.y, b2.y, r2[0], r2[1], r2[2]);
        L2 = tap3(L2, b0.z, b1.z, b2.z, r2[0], r2[1], r2[2]); L3 = tap3(L3, b0.w, b1.w, b2.w, r2[0], r2[1], r2[2]);
        H0 = tap3(H0, b0.x, b1.x, b2.x, r2[3], r2[4], r2[5]); H1 = tap3(H1, b0.y, b1.y, b2.y, r2[3], r2[4], r2[5]);
        H2 = tap3(H2, b0.z, b1.z, b2.z, r2[3], r2[4], r2[5]); H3 = tap3(H3, b0.w, b1.w, b2.w, r2[3], r2[4], r2[5]);
        M0 = tap3(M0, b0.x, b1.x, b2.x, r3[0], r3[1], r3[2]); M1 = tap3(M1, b0.y, b1.y, b2.y, r3[0], r3[1], r3[2]);
        M2 = tap3(M2, b0.z, b1.z, b2.z, r3[0], r3[1], r3[2]); M3 = tap3(M3, b0.w, b1.w, b2.w, r3[0], r3[1], r3[2]);
        N0 = tap3(N0, b0.x, b1.x, b2.x, r3[3], r3[4], r3[5]); N1 = tap3(N1, b0.y, b1.y, b2.y, r3[3], r3[4], r3[5]);
        N2 = tap3(N2, b0.z, b1.z, b2.z, r3[3], r3[4], r3[5]); N3 = tap3(N3, b0.w, b1.w, b2.w, r3[3], r3[4], r3[5]);
      }
    }
  }
  var q2 = q;
  q2.co0 = cb;
  let second = CH8 && cb < p.Cout;
  store_block(q, array<vec4f, 4>(l0, l1, l2, l3), array<vec4f, 4>(h0, h1, h2, h3));
  if (second) { store_block(q2, array<vec4f, 4>(L0, L1, L2, L3), array<vec4f, 4>(H0, H1, H2, H3)); }
  if (q.oy + 1u < p.Ho) {
    q.oy += 1u;
    q2.oy += 1u;
    store_block(q, array<vec4f, 4>(m0, m1, m2, m3), array<vec4f, 4>(n0, n1, n2, n3));
    if (second) { store_block(q2, array<vec4f, 4>(M0, M1, M2, M3), array<vec4f, 4>(N0, N1, N2, N3)); }
  }
}
