// nn.Linear: out[m, n] = Σ_k x[m, k] · W[n, k] + bias[n], with x [M, K] f32, W [N, K] in PyTorch's
// layout (f32, or f16 packed two halves per u32 word, low half first), bias [N] f32, out [M, N] f32.
// The weight is bound as u32 words and decoded as the W_F16 override says, so no shader-f16 is needed.
//
// Four entry points. For the 'workgroup' kernel style (GPUs) the TS wrapper picks one of two by M:
// - linear_tiled (M > 8): a workgroup computes a (16·TM)×64 output tile with the tiled product of
//   shaders/tiled-matmul.wgsl (A = x, B = Wᵀ, read from W's rows), which the TS wrapper concatenates
//   before this file: it declares TM, WG and the tiles, and calls load_a, load_b and store_c below.
// - linear_rows (M ≤ 8, decoding a few tokens): bound by reading the weight, so each weight is read
//   once: 32 threads share one output column's K reduction (adjacent k, coalesced), x is staged in
//   workgroup memory, and the 32 partial sums meet in workgroup memory at the end.
// The 'direct' style (CPU-emulated adapters, K a multiple of 4) takes one of the last two by M:
// - linear_direct (M < 16): an invocation computes a 4×4 block of out in registers, reading x and W
//   four k at a time straight from memory: no workgroup memory, no barrier; four neighbouring invocations
//   take the same rows, whose loads they share where the adapter has subgroups of 4.
// - linear_direct_16x8 (M ≥ 16): the same on a 16×8 block.

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
// out += x · Wᵀ + bias: a residual stream takes the product without a pass of its own.
override ACCUMULATE: bool = false;
// linear_direct_16x8 as SwiGLU's two projections and their product (see there).
override SWIGLU: bool = false;
// linear_rows: M (1..8), and the k pairs of x staged per step (the 8 KB of `xp`, whole rounds of lanes).
override ROWS: u32 = 1u;
override PAIRS: u32 = 1024u / ROWS / LANES * LANES;

const LANES: u32 = 32u; // linear_rows: threads sharing one column's K reduction
const GROUPS: u32 = 8u; // linear_rows: columns per workgroup (WG / LANES)

// linear_rows: x[m, k0 + 2q .. +1] at m · PAIRS + q; at the end, the lanes' partial sums.
var<workgroup> xp: array<vec2f, 1024>;

// x[m, k], or 0 outside [M, K].
fn load_x(m: u32, k: u32) -> f32 {
  if (m < p.M && k < p.K) { return x[m * p.K + k]; }
  return 0.0;
}

// linear_tiled's operands (shaders/tiled-matmul.wgsl): A = x, B = Wᵀ stored as W [N, K], one batch
// entry (`batch` is 0); the sums go through `store`.
const TRANS_B: bool = true;

fn load_a(batch: u32, m: u32, k: u32) -> f32 { return load_x(m, k); }

// W[n, k], or 0 outside [N, K].
fn load_b(batch: u32, n: u32, k: u32) -> f32 {
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
    let i = m * p.N + n;
    var r = v;
    if (HAS_BIAS) { r += bias[n]; }
    if (ACCUMULATE) { r += out[i]; }
    out[i] = r;
  }
}

fn store_c(batch: u32, m: u32, n: u32, v: f32) { store(m, n, v); }

// Grid: [ceil(N / 64), row tiles folded over y and z].
@compute @workgroup_size(WG)
fn linear_tiled(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let m0 = (wg.y + wg.z * nwg.y) * 16u * TM;
  if (m0 >= p.M) { return; }
  tiled_matmul(lid, m0, wg.x * BN, 0u, p.K);
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

// The up projection's weight (linear_direct_16x8 with SWIGLU), as w2.
@group(0) @binding(7) var<storage, read> wu2: array<vec2u>;

// Wu[n, k .. k + 3], as load_w4.
fn load_up4(n: u32, k: u32) -> vec4f {
  let e = n * p.K + k;
  if (W_F16) {
    let h = wu2[e >> 2u];
    return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));
  }
  return bitcast<vec4f>(vec4u(wu2[e >> 1u], wu2[(e >> 1u) + 1u]));
}

// v / (1 + e^-v), as shaders/activation.wgsl's swiglu computes it.
fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

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
  // No early return past the last row block (subgroup operations need the whole subgroup): its rows read
  // the last one and store nothing.
  let k4 = p.K / 4u;
  let last_m = p.M - 1u;
  let last_n = p.N - 1u;
  // Where the rows of x start, in vec4s (x_row_starts_4, before this file), and the 4 columns' rows of W.
  let rows = x_row_starts_4(m0, t % 4u, last_m, k4);
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
    let a = x_rows_4(rows, q);
    let a0 = a[0];
    let a1 = a[1];
    let a2 = a[2];
    let a3 = a[3];
    acc[0] += vec4f(dot(a0, wa), dot(a0, wb), dot(a0, wc), dot(a0, wd));
    acc[1] += vec4f(dot(a1, wa), dot(a1, wb), dot(a1, wc), dot(a1, wd));
    acc[2] += vec4f(dot(a2, wa), dot(a2, wb), dot(a2, wc), dot(a2, wd));
    acc[3] += vec4f(dot(a3, wa), dot(a3, wb), dot(a3, wc), dot(a3, wd));
  }
  for (var i = 0u; i < 4u; i++) {
    for (var c = 0u; c < 4u; c++) { store(m0 + i, n0 + c, acc[i][c]); }
  }
}

// linear_direct on blocks of 16 rows × 8 columns, for M ≥ 16 (the image scales' token rows): each vector
// of x read serves 8 dot products and each of W 16, where the 4×4 block's serve 4; on a CPU-emulated
// adapter, whose loads cost more than its arithmetic, that is what bounds the kernel. Four neighbouring
// invocations (a subgroup on SwiftShader) take the same 16 rows and 8 columns each; x_rows_16, compiled
// before this file, gives them the rows (shaders/linear-rows.wgsl loads all 16, shaders/linear-rows-subgroup.wgsl
// shares the loads across the subgroup). Block g of 4 takes row block g % ceil(M / 16) of column group
// g / ceil(M / 16): the blocks of a workgroup, which a software adapter runs one after another, read the same
// 32 rows of W while they are in the CPU's cache. Grid: 4 · ceil(M / 16) · ceil(N / 32) invocations of
// DIRECT_WG. No early return past the last row block (subgroup operations need the whole subgroup): rows
// and columns past the edge read the last one and store nothing.
// With SWIGLU, out[m, n] = silu(x[m] · W[n]) · (x[m] · Wu[n]) (Wu = wu2, both [N, K], no bias): an
// invocation takes 4 columns of the gate W and the same 4 of the up Wu in place of 8 columns, so neither
// projection is written out nor read back, and one dispatch does the work of three; each sum is the one
// the plain kernel makes, term for term. Grid: 4 · ceil(M / 16) · ceil(N / 16) invocations then.
@compute @workgroup_size(DIRECT_WG)
fn linear_direct_16x8(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * DIRECT_WG;
  let lane = t % 4u;
  let g = t / 4u;
  let blocks_m = (p.M + 15u) / 16u;
  let m0 = (g % blocks_m) * 16u;
  let n0 = ((g / blocks_m) * 4u + lane) * select(8u, 4u, SWIGLU);
  let k4 = p.K / 4u;
  let last_m = p.M - 1u;
  let last_n = p.N - 1u;
  let rows = x_row_starts(m0, lane, last_m, k4);
  let c0 = min(n0 + 0u, last_n); let c1 = min(n0 + 1u, last_n); let c2 = min(n0 + 2u, last_n); let c3 = min(n0 + 3u, last_n);
  let c4 = min(n0 + 4u, last_n); let c5 = min(n0 + 5u, last_n); let c6 = min(n0 + 6u, last_n); let c7 = min(n0 + 7u, last_n);
  // lo_i = out[m0 + i, n0 .. n0 + 3], hi_i = out[m0 + i, n0 + 4 .. n0 + 7]: named, so a software adapter keeps
  // them in registers.
  var lo0 = vec4f(); var hi0 = vec4f(); var lo1 = vec4f(); var hi1 = vec4f(); var lo2 = vec4f(); var hi2 = vec4f(); var lo3 = vec4f(); var hi3 = vec4f();
  var lo4 = vec4f(); var hi4 = vec4f(); var lo5 = vec4f(); var hi5 = vec4f(); var lo6 = vec4f(); var hi6 = vec4f(); var lo7 = vec4f(); var hi7 = vec4f();
  var lo8 = vec4f(); var hi8 = vec4f(); var lo9 = vec4f(); var hi9 = vec4f(); var lo10 = vec4f(); var hi10 = vec4f(); var lo11 = vec4f(); var hi11 = vec4f();
  var lo12 = vec4f(); var hi12 = vec4f(); var lo13 = vec4f(); var hi13 = vec4f(); var lo14 = vec4f(); var hi14 = vec4f(); var lo15 = vec4f(); var hi15 = vec4f();
  for (var q = 0u; q < k4; q++) {
    let k = 4u * q;
    let w0 = load_w4(c0, k); let w1 = load_w4(c1, k); let w2 = load_w4(c2, k); let w3 = load_w4(c3, k);
    var w4: vec4f; var w5: vec4f; var w6: vec4f; var w7: vec4f;
    if (SWIGLU) {
      w4 = load_up4(c0, k); w5 = load_up4(c1, k); w6 = load_up4(c2, k); w7 = load_up4(c3, k);
    } else {
      w4 = load_w4(c4, k); w5 = load_w4(c5, k); w6 = load_w4(c6, k); w7 = load_w4(c7, k);
    }
    let a = x_rows_16(rows, q);
    let a0 = a[0];
    lo0 += vec4f(dot(a0, w0), dot(a0, w1), dot(a0, w2), dot(a0, w3));
    hi0 += vec4f(dot(a0, w4), dot(a0, w5), dot(a0, w6), dot(a0, w7));
    let a1 = a[1];
    lo1 += vec4f(dot(a1, w0), dot(a1, w1), dot(a1, w2), dot(a1, w3));
    hi1 += vec4f(dot(a1, w4), dot(a1, w5), dot(a1, w6), dot(a1, w7));
    let a2 = a[2];
    lo2 += vec4f(dot(a2, w0), dot(a2, w1), dot(a2, w2), dot(a2, w3));
    hi2 += vec4f(dot(a2, w4), dot(a2, w5), dot(a2, w6), dot(a2, w7));
    let a3 = a[3];
    lo3 += vec4f(dot(a3, w0), dot(a3, w1), dot(a3, w2), dot(a3, w3));
    hi3 += vec4f(dot(a3, w4), dot(a3, w5), dot(a3, w6), dot(a3, w7));
    let a4 = a[4];
    lo4 += vec4f(dot(a4, w0), dot(a4, w1), dot(a4, w2), dot(a4, w3));
    hi4 += vec4f(dot(a4, w4), dot(a4, w5), dot(a4, w6), dot(a4, w7));
    let a5 = a[5];
    lo5 += vec4f(dot(a5, w0), dot(a5, w1), dot(a5, w2), dot(a5, w3));
    hi5 += vec4f(dot(a5, w4), dot(a5, w5), dot(a5, w6), dot(a5, w7));
    let a6 = a[6];
    lo6 += vec4f(dot(a6, w0), dot(a6, w1), dot(a6, w2), dot(a6, w3));
    hi6 += vec4f(dot(a6, w4), dot(a6, w5), dot(a6, w6), dot(a6, w7));
    let a7 = a[7];
    lo7 += vec4f(dot(a7, w0), dot(a7, w1), dot(a7, w2), dot(a7, w3));
    hi7 += vec4f(dot(a7, w4), dot(a7, w5), dot(a7, w6), dot(a7, w7));
    let a8 = a[8];
    lo8 += vec4f(dot(a8, w0), dot(a8, w1), dot(a8, w2), dot(a8, w3));
    hi8 += vec4f(dot(a8, w4), dot(a8, w5), dot(a8, w6), dot(a8, w7));
    let a9 = a[9];
    lo9 += vec4f(dot(a9, w0), dot(a9, w1), dot(a9, w2), dot(a9, w3));
    hi9 += vec4f(dot(a9, w4), dot(a9, w5), dot(a9, w6), dot(a9, w7));
    let a10 = a[10];
    lo10 += vec4f(dot(a10, w0), dot(a10, w1), dot(a10, w2), dot(a10, w3));
    hi10 += vec4f(dot(a10, w4), dot(a10, w5), dot(a10, w6), dot(a10, w7));
    let a11 = a[11];
    lo11 += vec4f(dot(a11, w0), dot(a11, w1), dot(a11, w2), dot(a11, w3));
    hi11 += vec4f(dot(a11, w4), dot(a11, w5), dot(a11, w6), dot(a11, w7));
    let a12 = a[12];
    lo12 += vec4f(dot(a12, w0), dot(a12, w1), dot(a12, w2), dot(a12, w3));
    hi12 += vec4f(dot(a12, w4), dot(a12, w5), dot(a12, w6), dot(a12, w7));
    let a13 = a[13];
    lo13 += vec4f(dot(a13, w0), dot(a13, w1), dot(a13, w2), dot(a13, w3));
    hi13 += vec4f(dot(a13, w4), dot(a13, w5), dot(a13, w6), dot(a13, w7));
    let a14 = a[14];
    lo14 += vec4f(dot(a14, w0), dot(a14, w1), dot(a14, w2), dot(a14, w3));
    hi14 += vec4f(dot(a14, w4), dot(a14, w5), dot(a14, w6), dot(a14, w7));
    let a15 = a[15];
    lo15 += vec4f(dot(a15, w0), dot(a15, w1), dot(a15, w2), dot(a15, w3));
    hi15 += vec4f(dot(a15, w4), dot(a15, w5), dot(a15, w6), dot(a15, w7));
  }
  let lo = array<vec4f, 16>(lo0, lo1, lo2, lo3, lo4, lo5, lo6, lo7, lo8, lo9, lo10, lo11, lo12, lo13, lo14, lo15);
  let hi = array<vec4f, 16>(hi0, hi1, hi2, hi3, hi4, hi5, hi6, hi7, hi8, hi9, hi10, hi11, hi12, hi13, hi14, hi15);
  for (var i = 0u; i < 16u; i++) {
    for (var c = 0u; c < 4u; c++) {
      if (SWIGLU) {
        let m = m0 + i;
        let n = n0 + c;
        if (m < p.M && n < p.N) { out[m * p.N + n] = silu(lo[i][c]) * hi[i][c]; }
      } else {
        store(m0 + i, n0 + c, lo[i][c]);
        store(m0 + i, n0 + 4u + c, hi[i][c]);
      }
    }
  }
}
