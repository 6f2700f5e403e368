// nn.Linear: out[m, n] = Σ_k x[m, k] · W[n, k] + bias[n], with x [M, K] f32, W [N, K] in PyTorch's
// layout (f32, or f16 packed two halves per u32 word, low half first), bias [N] f32, out [M, N] f32.
// The weight is bound as u32 words and decoded as the W_F16 override says, so no shader-f16 is needed.
//
// Three entry points. For the 'workgroup' kernel style (GPUs) the TS wrapper picks one of two by M:
// - linear_tiled (M > 8): a workgroup computes a (16·TM)×64 output tile. K is walked 16 at a time
//   through workgroup memory stored k-major, so the inner loop reads 4 adjacent rows or columns as one
//   vec4; each thread keeps a TM×4 block of sums in registers, and issues the global loads of the next
//   K step before the arithmetic of this one so their latency hides behind it.
// - linear_rows (M ≤ 8, decoding a few tokens): bound by reading the weight, so each weight is read
//   once: 32 threads share one output column's K reduction (adjacent k, coalesced), x is staged in
//   workgroup memory, and the 32 partial sums meet in workgroup memory at the end.
// The 'direct' style (CPU-emulated adapters, K a multiple of 4) takes the third for any M:
// - linear_direct: an invocation computes a 4×4 block of out in registers, reading x and W four k at
//   a time straight from memory: no workgroup memory, no barrier.

struct Params {
  M: u32, // rows of x and out
  N: u32, // output features (rows of W)
  K: u32, // input features
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

override W_F16: bool = false;
override HAS_BIAS: bool = false;
// linear_tiled: rows per thread (1, 2 or 4); a tile has 16·TM rows.
override TM: u32 = 4u;
// linear_rows: M (1..8), and the k pairs of x staged per step (the 8 KB of `xp`, whole rounds of lanes).
override ROWS: u32 = 1u;
override PAIRS: u32 = 1024u / ROWS / LANES * LANES;

const WG: u32 = 256u;
const BN: u32 = 64u;    // tile columns
const BK: u32 = 16u;    // K step of the tiled kernel
const LANES: u32 = 32u; // linear_rows: threads sharing one column's K reduction
const GROUPS: u32 = 8u; // linear_rows: columns per workgroup (WG / LANES)

// [BK][rows / 4] and [BK][BN / 4]; 17 vec4 per row rather than 16 to spread the stores over the banks.
var<workgroup> xs: array<array<vec4f, 17>, 16>;
var<workgroup> ws: array<array<vec4f, 17>, 16>;
// linear_rows: x[m, k0 + 2q .. +1] at m · PAIRS + q; at the end, the lanes' partial sums.
var<workgroup> xp: array<vec2f, 1024>;

// x[m, k], or 0 outside [M, K].
fn load_x(m: u32, k: u32) -> f32 {
  if (m < p.M && k < p.K) { return x[m * p.K + k]; }
  return 0.0;
}

// W[n, k], or 0 outside [N, K].
fn load_w(n: u32, k: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
  let e = n * p.K + k;
  if (W_F16) { return unpack2x16float(w[e >> 1u])[e & 1u]; }
  return bitcast<f32>(w[e]);
}

// Weight elements e and e + 1 (the second one only when `both`, else 0).
fn load_w_pair(e: u32, both: bool) -> vec2f {
  if (W_F16) {
    let word = unpack2x16float(w[e >> 1u]);
    if ((e & 1u) == 0u) { return select(vec2f(word.x, 0.0), word, both); }
    if (!both) { return vec2f(word.y, 0.0); }
    return vec2f(word.y, unpack2x16float(w[(e >> 1u) + 1u]).x);
  }
  if (!both) { return vec2f(bitcast<f32>(w[e]), 0.0); }
  return vec2f(bitcast<f32>(w[e]), bitcast<f32>(w[e + 1u]));
}

fn store(m: u32, n: u32, v: f32) {
  if (m < p.M && n < p.N) {
    if (HAS_BIAS) { out[m * p.N + n] = v + bias[n]; } else { out[m * p.N + n] = v; }
  }
}

// Grid: [ceil(N / 64), row tiles folded over y and z].
@compute @workgroup_size(WG)
fn linear_tiled(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let m0 = (wg.y + wg.z * nwg.y) * 16u * TM;
  let n0 = wg.x * BN;
  if (m0 >= p.M) { return; }
  let tx = lid % 16u; // computes columns n0 + 4·tx .. +3
  let ty = lid / 16u; // computes rows m0 + TM·ty .. +TM-1
  // Loads: element j of this thread's share of a tile is (row lr + 16·j, k lk): 16 threads read 16
  // adjacent k of one row.
  let lk = lid % BK;
  let lr = lid / BK;
  var xr: array<f32, 4>;
  var wr: array<f32, 4>;
  var acc: array<vec4f, 4>;
  for (var j = 0u; j < TM; j++) { xr[j] = load_x(m0 + lr + 16u * j, lk); }
  for (var j = 0u; j < 4u; j++) { wr[j] = load_w(n0 + lr + 16u * j, lk); }
  let xv4 = (ty * TM) >> 2u; // the vec4 of xs holding this thread's rows, from component xc
  let xc = (ty * TM) & 3u;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var j = 0u; j < TM; j++) {
      let r = lr + 16u * j;
      xs[lk][r >> 2u][r & 3u] = xr[j];
    }
    for (var j = 0u; j < 4u; j++) {
      let r = lr + 16u * j;
      ws[lk][r >> 2u][r & 3u] = wr[j];
    }
    workgroupBarrier();
    let kn = k0 + BK + lk;
    for (var j = 0u; j < TM; j++) { xr[j] = load_x(m0 + lr + 16u * j, kn); }
    for (var j = 0u; j < 4u; j++) { wr[j] = load_w(n0 + lr + 16u * j, kn); }
    for (var kk = 0u; kk < BK; kk++) {
      let a = xs[kk][xv4];
      let b = ws[kk][tx];
      for (var i = 0u; i < TM; i++) { acc[i] += a[xc + i] * b; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + ty * TM + i;
    for (var c = 0u; c < 4u; c++) { store(m, n0 + 4u * tx + c, acc[i][c]); }
  }
}

// Grid: ceil(N / 8) workgroups (folded as `grid` does); ROWS = M.
@compute @workgroup_size(WG)
fn linear_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let lane = lid % LANES;
  let n0 = (wg.x + wg.y * nwg.x) * GROUPS;
  let n = n0 + lid / LANES;
  var acc: array<f32, 8>;
  for (var k0 = 0u; k0 < p.K; k0 += 2u * PAIRS) {
    for (var i = lid; i < ROWS * PAIRS; i += WG) {
      let m = i / PAIRS;
      let k = k0 + 2u * (i % PAIRS);
      xp[i] = vec2f(load_x(m, k), load_x(m, k + 1u));
    }
    workgroupBarrier();
    if (n < p.N) {
      for (var j = 0u; j < PAIRS / LANES; j++) {
        let q = lane + j * LANES;
        let k = k0 + 2u * q;
        if (k < p.K) {
          let wv = load_w_pair(n * p.K + k, k + 1u < p.K);
          for (var m = 0u; m < ROWS; m++) { acc[m] += dot(xp[m * PAIRS + q], wv); }
        }
      }
    }
    workgroupBarrier();
  }
  // Rows m and m + 1 of every thread's sums go to xp[(m / 2) · WG + lid]; one thread per (row, column)
  // then adds its column's 32 lanes.
  for (var m = 0u; m < ROWS; m += 2u) { xp[(m >> 1u) * WG + lid] = vec2f(acc[m], acc[m + 1u]); }
  workgroupBarrier();
  if (lid < GROUPS * ROWS) {
    let m = lid / GROUPS;
    let g = lid % GROUPS;
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) { s += xp[(m >> 1u) * WG + g * LANES + l][m & 1u]; }
    store(m, n0 + g, s);
  }
}

// linear_direct's views of x and W: x[m, k .. k + 3] is x4[(m·K + k) / 4], and W's words two at a time
// (f32: one weight a word; f16: two).
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;
@group(0) @binding(6) var<storage, read> w2: array<vec2u>;

const DIRECT_WG: u32 = 64u;

// W[n, k .. k + 3], k and K multiples of 4.
fn load_w4(n: u32, k: u32) -> vec4f {
  let e = n * p.K + k;
  if (W_F16) {
    let h = w2[e >> 2u];
    return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));
  }
  return bitcast<vec4f>(vec4u(w2[e >> 1u], w2[(e >> 1u) + 1u]));
}

// Grid: ceil(M / 4) · ceil(N / 4) invocations of DIRECT_WG, folded as `grid` does. Rows and columns past
// the edge read the last row or column and store nothing.
@compute @workgroup_size(DIRECT_WG)
fn linear_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * DIRECT_WG;
  let blocks_n = (p.N + 3u) / 4u;
  let m0 = (t / blocks_n) * 4u;
  let n0 = (t % blocks_n) * 4u;
  if (m0 >= p.M) { return; }
  let k4 = p.K / 4u;
  let last_m = p.M - 1u;
  let last_n = p.N - 1u;
  // Where each of the 4 rows of x starts, in vec4s, and the 4 columns' rows of W.
  let rows = vec4u(min(m0, last_m), min(m0 + 1u, last_m), min(m0 + 2u, last_m), min(m0 + 3u, last_m)) * k4;
  let cols = vec4u(min(n0, last_n), min(n0 + 1u, last_n), min(n0 + 2u, last_n), min(n0 + 3u, last_n));
  // acc[i][c] = out[m0 + i, n0 + c]. The loop indexes acc and the rows by constants only: a software
  // adapter keeps them in registers then, and a loop over i would have it index memory (measured on
  // SwiftShader: 1.7 to 1.9 times as fast).
  var acc: array<vec4f, 4>;
  for (var q = 0u; q < k4; q++) {
    let k = 4u * q;
    let wa = load_w4(cols.x, k);
    let wb = load_w4(cols.y, k);
    let wc = load_w4(cols.z, k);
    let wd = load_w4(cols.w, k);
    let a0 = x4[rows.x + q];
    let a1 = x4[rows.y + q];
    let a2 = x4[rows.z + q];
    let a3 = x4[rows.w + q];
    acc[0] += vec4f(dot(a0, wa), dot(a0, wb), dot(a0, wc), dot(a0, wd));
    acc[1] += vec4f(dot(a1, wa), dot(a1, wb), dot(a1, wc), dot(a1, wd));
    acc[2] += vec4f(dot(a2, wa), dot(a2, wb), dot(a2, wc), dot(a2, wd));
    acc[3] += vec4f(dot(a3, wa), dot(a3, wb), dot(a3, wc), dot(a3, wd));
  }
  for (var i = 0u; i < 4u; i++) {
    for (var c = 0u; c < 4u; c++) { store(m0 + i, n0 + c, acc[i][c]); }
  }
}
