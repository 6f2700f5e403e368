// Multi-head attention against a KV cache, flash-style, and the append that fills the cache.
//
// qkv rows are [(H + 2·Hkv)·hd]: H query heads, then Hkv key heads, then Hkv value heads. The cache
// holds k and v as [B, Hkv, capacity, hd], so the keys of one (batch, kv head) are contiguous rows and
// a key tile is one coalesced run of memory. Query head h reads kv head h / (H / Hkv) (grouped-query
// attention; H = Hkv is plain multi-head).
//
// `attention`: a workgroup owns BQ queries of one (batch, head). Their q rows are loaded once into
// workgroup memory (rotated, L2-normalised and scaled there), then the keys are walked BK at a time:
// the k and v tiles go to workgroup memory, S = q·kᵀ is computed with each thread holding up to a 2×4
// block of scores, one thread per query updates the running max and sum (online softmax) and turns its
// scores into weights, and each thread accumulates a few rows of one 4-wide column of P·v in registers.
// Every query carries a key limit (none: all keys; causal: its own position; or a given prefix
// length), and the walk stops at the largest limit of the tile, so masked-out tiles cost nothing.
// With KEY_MASK, a per-row mask over the cache also hides single keys (guidance hides the prompt of
// the unconditional row this way); without it the mask is neither bound nor read.
// Head dims are multiples of 4 (vec4 loads) up to 128.
//
// `attention_direct` does the same work in the 'direct' kernel style (CPU-emulated adapters): an
// invocation per (batch, head, four queries) walks the keys eight at a time with an online softmax, q and
// the sums of P·v in its own private arrays: no workgroup memory, no barrier.
//
// `append_kv`: a workgroup per (batch, token, kv head) writes one k row (L2-normalised and rotated as
// asked) and one v row into the cache; the norm is a workgroup reduction.

struct Params {
  B: u32,        // batch
  L: u32,        // tokens in qkv (queries of `attention`, new keys of `append_kv`)
  H: u32,        // query heads
  kv_heads: u32, // key/value heads (Hkv)
  start: u32,    // attention: absolute position of the first query; append_kv: its first cache row
  keys: u32,     // attention: cached keys
  capacity: u32, // cache rows per (batch, kv head)
  mask: u32,     // attention: 0 none, 1 causal, 2 per-query limits
  scale: f32,    // attention: softmax scale applied to q
  theta: f32,    // rotary base
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(3) var<storage, read> k_cache: array<vec4f>;
@group(0) @binding(4) var<storage, read> v_cache: array<vec4f>;
@group(0) @binding(5) var<storage, read> scale_mul: array<f32>;
// positions[l·ROPE_AXES + a]: token l's rotary position on axis a; rotary pair i turns by axis i % ROPE_AXES.
@group(0) @binding(6) var<storage, read> positions: array<i32>;
@group(0) @binding(7) var<storage, read> limits: array<u32>;
// append_kv's outputs (the same cache buffers, written).
@group(0) @binding(8) var<storage, read_write> k_dst: array<f32>;
@group(0) @binding(9) var<storage, read_write> v_dst: array<f32>;
// attention: key_mask[b·capacity + j] != 0 where key j is visible to batch row b (read with KEY_MASK).
@group(0) @binding(10) var<storage, read> key_mask: array<u32>;

override HD4: u32 = 16u;       // head dim / 4
override BQ: u32 = 32u;        // queries per workgroup: 16 or 32
override BK: u32 = 32u;        // keys per tile: 8, 16 or 32
override QK_NORM: bool = false; // L2-normalise q and k; q also times exp(min(scale_mul[h], ln 100))
override ROPE: bool = false;    // rotate q and k by their positions (rotate-half convention)
override ROPE_AXES: u32 = 1u;   // positions per token: 1, or 3 (pair i reads axis i % 3; the unified family's rope_2d)
override KEY_MASK: bool = false; // hide the keys whose key_mask entry is 0

const WG: u32 = 128u;
const WG_APPEND: u32 = 64u;
const NEG: f32 = -1.0e30; // a masked score
const LN100: f32 = 4.605170185988092;
const NORM_EPS: f32 = 1e-12;

var<workgroup> q_tile: array<vec4f, BQ * (HD4 + 1u)>; // rows padded by one vec4 against bank conflicts
var<workgroup> k_tile: array<vec4f, BK * (HD4 + 1u)>;
var<workgroup> v_tile: array<vec4f, BK * HD4>;
var<workgroup> s_tile: array<f32, BQ * (BK + 1u)>;
var<workgroup> row_m: array<f32, BQ>;   // running max of each query's scores
var<workgroup> row_l: array<f32, BQ>;   // running sum of exp(score - max)
var<workgroup> row_a: array<f32, BQ>;   // q's scale factor, then each tile's rescale of the sums
var<workgroup> row_lim: array<u32, BQ>; // keys [0, lim) are visible to the query
var<workgroup> kv_end: u32;
var<workgroup> red: array<f32, WG_APPEND>;

// cos and sin of the rotary angle of pair `i` (of hd/2) at `pos`, to f32 accuracy: the builtins may be
// off by 2^-11 (Vulkan's bound), so the angle is reduced to [-π/4, π/4] around a multiple k of π/2
// (π/2 = C1 + C2 with k·C1 exact) and both are taken from their Taylor polynomials there.
fn rope_cos_sin(pos: i32, i: u32) -> vec2f {
  let inv_freq = 1.0 / pow(p.theta, f32(2u * i) / f32(4u * HD4));
  let a = f32(pos) * inv_freq;
  let k = round(a * 0.6366197723675814);
  let r = (a - k * 1.5703125) - k * 4.8382679489659e-4;
  let r2 = r * r;
  let s = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 / 362880.0)));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 / 40320.0)));
  switch (i32(k) & 3) {
    case 0: { return vec2f(c, s); }
    case 1: { return vec2f(-s, c); }
    case 2: { return vec2f(-c, -s); }
    default: { return vec2f(s, -c); }
  }
}

// cos and sin of rotary pair `i` of token `l` (of the L new tokens), at its position on the pair's axis.
fn token_cos_sin(l: u32, i: u32) -> vec2f {
  return rope_cos_sin(positions[l * ROPE_AXES + i % ROPE_AXES], i);
}

// Element d of the rotated row whose first element is at float offset `base` of qkv.
fn rotated(base: u32, d: u32, cs: vec2f) -> f32 {
  let half = 2u * HD4;
  let x = qkv_at(base + d);
  if (d < half) { return x * cs.x - qkv_at(base + d + half) * cs.y; }
  return x * cs.x + qkv_at(base + d - half) * cs.y;
}

fn qkv_at(i: u32) -> f32 {
  return qkv[i >> 2u][i & 3u];
}

// The keys query `qi` (of L) may see.
fn key_limit(qi: u32) -> u32 {
  if (qi >= p.L) { return 0u; }
  if (p.mask == 1u) { return min(p.start + qi + 1u, p.keys); }
  if (p.mask == 2u) { return min(limits[qi], p.keys); }
  return p.keys;
}

// Whether key j of batch row b is visible under the key mask (always without one).
fn key_visible(b: u32, j: u32) -> bool {
  if (!KEY_MASK) { return true; }
  return key_mask[b * p.capacity + j] != 0u;
}

// out [B, L, H·hd] = softmax(q·kᵀ, masked) · v over the cache. Grid: [ceil(L / BQ), H, B].
@compute @workgroup_size(WG)
fn attention(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u) {
  let q0 = wg.x * BQ;
  let h = wg.y;
  let b = wg.z;
  let QS = HD4 + 1u;
  let row4 = (p.H + 2u * p.kv_heads) * HD4;

  // q rows of this head (rotated), zero past L.
  for (var i = t; i < BQ * HD4; i += WG) {
    let r = i / HD4;
    let c = i % HD4;
    var x = vec4f(0.0);
    if (q0 + r < p.L) {
      let v4 = (b * p.L + q0 + r) * row4 + h * HD4 + c;
      if (ROPE) {
        for (var j = 0u; j < 4u; j++) {
          let d = 4u * c + j;
          x[j] = rotated(4u * (v4 - c), d, token_cos_sin(q0 + r, d % (2u * HD4)));
        }
      } else {
        x = qkv[v4];
      }
    }
    q_tile[r * QS + c] = x;
  }
  workgroupBarrier();
  if (t < BQ) {
    var f = p.scale;
    if (QK_NORM) {
      var ss = 0.0;
      for (var c = 0u; c < HD4; c++) {
        let x = q_tile[t * QS + c];
        ss += dot(x, x);
      }
      f *= exp(min(scale_mul[h], LN100)) / max(sqrt(ss), NORM_EPS);
    }
    row_a[t] = f;
    row_lim[t] = key_limit(q0 + t);
    row_m[t] = NEG;
    row_l[t] = 0.0;
  }
  workgroupBarrier();
  for (var i = t; i < BQ * HD4; i += WG) {
    let r = i / HD4;
    q_tile[r * QS + i % HD4] *= row_a[r];
  }
  if (t == 0u) {
    var e = 0u;
    for (var r = 0u; r < BQ; r++) { e = max(e, row_lim[r]); }
    kv_end = e;
  }
  let end = workgroupUniformLoad(&kv_end);

  let kv_row0 = (b * p.kv_heads + h / (p.H / p.kv_heads)) * p.capacity;
  // S = q·kᵀ: this thread's rows tr + 16·i and columns tc + 8·j.
  let tc = t % 8u;
  let tr = t / 8u;
  let SR = BQ / 16u;
  let SC = BK / 8u;
  // P·v: this thread's column pc (a vec4) of rows pg + G·i.
  let pc = t % HD4;
  let pg = t / HD4;
  let G = WG / HD4;
  let RPT = (BQ + G - 1u) / G;
  var acc = array<vec4f, 8>();

  for (var k0 = 0u; k0 < end; k0 += BK) {
    for (var i = t; i < BK * HD4; i += WG) {
      let j = i / HD4;
      let c = i % HD4;
      var kx = vec4f(0.0);
      var vx = vec4f(0.0);
      if (k0 + j < p.keys) {
        let at = (kv_row0 + k0 + j) * HD4 + c;
        kx = k_cache[at];
        vx = v_cache[at];
      }
      k_tile[j * QS + c] = kx;
      v_tile[i] = vx;
    }
    workgroupBarrier();

    var s = array<array<f32, 4>, 2>(); // zeroed explicitly on every tile
    var kr: array<vec4f, 4>;
    for (var c = 0u; c < HD4; c++) {
      for (var j = 0u; j < SC; j++) { kr[j] = k_tile[(tc + 8u * j) * QS + c]; }
      for (var i = 0u; i < SR; i++) {
        let qx = q_tile[(tr + 16u * i) * QS + c];
        for (var j = 0u; j < SC; j++) { s[i][j] += dot(qx, kr[j]); }
      }
    }
    for (var i = 0u; i < SR; i++) {
      let r = tr + 16u * i;
      for (var j = 0u; j < SC; j++) {
        let col = tc + 8u * j;
        s_tile[r * (BK + 1u) + col] = select(NEG, s[i][j], k0 + col < row_lim[r] && key_visible(b, k0 + col));
      }
    }
    workgroupBarrier();

    if (t < BQ) {
      let base = t * (BK + 1u);
      let m_old = row_m[t];
      var m = m_old;
      for (var j = 0u; j < BK; j++) { m = max(m, s_tile[base + j]); }
      var sum = 0.0;
      for (var j = 0u; j < BK; j++) {
        let sv = s_tile[base + j];
        let e = select(0.0, exp(sv - m), sv > 0.5 * NEG);
        s_tile[base + j] = e;
        sum += e;
      }
      let a = exp(m_old - m);
      row_a[t] = a;
      row_l[t] = row_l[t] * a + sum;
      row_m[t] = m;
    }
    workgroupBarrier();

    if (pg < G) {
      for (var i = 0u; i < RPT; i++) { acc[i] *= row_a[min(pg + G * i, BQ - 1u)]; }
      for (var j = 0u; j < BK; j++) {
        let vx = v_tile[j * HD4 + pc];
        for (var i = 0u; i < RPT; i++) {
          acc[i] += s_tile[min(pg + G * i, BQ - 1u) * (BK + 1u) + j] * vx;
        }
      }
    }
    workgroupBarrier();
  }

  if (pg < G) {
    for (var i = 0u; i < RPT; i++) {
      let r = pg + G * i;
      if (r < BQ && q0 + r < p.L) {
        let l = row_l[r];
        out[((b * p.L + q0 + r) * p.H + h) * HD4 + pc] = select(vec4f(0.0), acc[i] / l, l > 0.0);
      }
    }
  }
}

const DIRECT_WG: u32 = 16u;
const MAX_HD4: u32 = 32u;

// Query qi of head h in batch entry b, as attention_direct multiplies it into the scores: rotated and
// L2-normalised as asked, times the softmax scale.
fn direct_query(b: u32, h: u32, qi: u32) -> array<vec4f, MAX_HD4> {
  let row = (b * p.L + qi) * (p.H + 2u * p.kv_heads) * HD4 + h * HD4; // q's first vec4 in qkv
  var q: array<vec4f, MAX_HD4>;
  var ss = 0.0;
  for (var c = 0u; c < HD4; c++) {
    var x = qkv[row + c];
    if (ROPE) {
      for (var j = 0u; j < 4u; j++) {
        let d = 4u * c + j;
        x[j] = rotated(4u * row, d, token_cos_sin(qi, d % (2u * HD4)));
      }
    }
    q[c] = x;
    ss += dot(x, x);
  }
  var f = p.scale;
  if (QK_NORM) { f *= exp(min(scale_mul[h], LN100)) / max(sqrt(ss), NORM_EPS); }
  for (var c = 0u; c < HD4; c++) { q[c] *= f; }
  return q;
}

// One query's online softmax after eight more keys (scores lo of keys j .. j + 3, hi of j + 4 .. j + 7):
// the new running max m and sum l, the factor a that rescales the earlier sums, and the keys' weights e
// and f (0 where not seen).
struct Online {
  m: f32,
  l: f32,
  a: f32,
  e: vec4f,
  f: vec4f,
}

fn online_step(m: f32, l: f32, lo: vec4f, hi: vec4f, seen_lo: vec4<bool>, seen_hi: vec4<bool>) -> Online {
  let s = select(vec4f(NEG), lo, seen_lo);
  let t = select(vec4f(NEG), hi, seen_hi);
  let u = max(s, t);
  let m_new = max(m, max(max(u.x, u.y), max(u.z, u.w)));
  let a = exp(m - m_new); // 0 at the first visible key
  let e = select(vec4f(0.0), exp(s - m_new), seen_lo);
  let f = select(vec4f(0.0), exp(t - m_new), seen_hi);
  let g = e + f;
  return Online(m_new, l * a + (g.x + g.y) + (g.z + g.w), a, e, f);
}

// Which of keys j .. j + 3 the key mask shows batch row b, of the first `lim` (none past it).
fn visible4(b: u32, j: u32, lim: u32) -> vec4<bool> {
  return vec4<bool>(j < lim && key_visible(b, j), j + 1u < lim && key_visible(b, j + 1u),
                    j + 2u < lim && key_visible(b, j + 2u), j + 3u < lim && key_visible(b, j + 3u));
}

// acc·a + the weighted sum of the eight value vectors ((e, f): their weights; v: the vec4 of row `at`
// and `bt`'s keys at column c).
fn pv_step(acc: vec4f, o: Online, v: array<vec4f, 8>) -> vec4f {
  return acc * o.a + (o.e.x * v[0] + o.e.y * v[1] + o.e.z * v[2] + o.e.w * v[3]) +
         (o.f.x * v[4] + o.f.y * v[5] + o.f.z * v[6] + o.f.w * v[7]);
}

// out as `attention`. An invocation takes four neighbouring queries of one head (the last block of a
// row may hold fewer) and walks the keys eight at a time: each key and value vector read from memory
// serves the four queries, and q and the sums live in arrays indexed by c, which a software adapter keeps
// in memory, so each pass over them serves eight keys (four keys a pass measured 1.2 times as slow on
// SwiftShader). A query's keys past its own limit weigh 0, so each query's sums are what it would get
// alone. The key and value vectors come through keys8 and values8, compiled before this file: each
// invocation loads its own (shaders/attention-kv.wgsl), or four neighbouring invocations of one head share
// the loads (shaders/attention-kv-subgroup.wgsl). Grid: B·H·ceil(L / 4) invocations of DIRECT_WG, folded
// as `grid` does.
@compute @workgroup_size(DIRECT_WG)
fn attention_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let blocks = (p.L + 3u) / 4u;
  let total = p.B * p.H * blocks;
  // No early return for the spare invocations of the last workgroup (subgroup operations need the whole
  // subgroup): they compute the last block again and store nothing.
  let t = gid.x + gid.y * nwg.x * DIRECT_WG;
  let n = min(t, total - 1u);
  let lane = t % 4u;
  let q0 = (n % blocks) * 4u;
  let h = (n / blocks) % p.H;
  let b = n / (blocks * p.H);
  let last_q = p.L - 1u;
  let qa = direct_query(b, h, q0);
  let qb = direct_query(b, h, min(q0 + 1u, last_q));
  let qc = direct_query(b, h, min(q0 + 2u, last_q));
  let qd = direct_query(b, h, min(q0 + 3u, last_q));
  // Each query's visible keys are [0, limit) (none for a query past L).
  let lims = vec4u(key_limit(q0), key_limit(q0 + 1u), key_limit(q0 + 2u), key_limit(q0 + 3u));
  let lim = shared_limit(max(max(lims.x, lims.y), max(lims.z, lims.w)));
  let kv_row0 = (b * p.kv_heads + h / (p.H / p.kv_heads)) * p.capacity;
  var acc_a: array<vec4f, MAX_HD4>;
  var acc_b: array<vec4f, MAX_HD4>;
  var acc_c: array<vec4f, MAX_HD4>;
  var acc_d: array<vec4f, MAX_HD4>;
  var m = vec4f(NEG); // each query's running max of its scores
  var l = vec4f(0.0); // each query's running sum of exp(score - m)
  for (var j = 0u; j < lim; j += 8u) {
    let last = vec4u(lim - 1u);
    let lo = vec4u(j, j + 1u, j + 2u, j + 3u);
    let hi = lo + vec4u(4u);
    let at = (min(lo, last) + kv_row0) * HD4; // keys past the limit read the last one and weigh 0
    let bt = (min(hi, last) + kv_row0) * HD4;
    let vis_lo = visible4(b, j, lim);
    let vis_hi = visible4(b, j + 4u, lim);
    // s: the scores of keys lo, t: of keys hi (a, b, c, d: the four queries).
    var sa = vec4f(); var sb = vec4f(); var sc = vec4f(); var sd = vec4f();
    var ta = vec4f(); var tb = vec4f(); var tc = vec4f(); var td = vec4f();
    for (var c = 0u; c < HD4; c++) {
      let k = keys8(at, bt, c, lane);
      let k0 = k[0]; let k1 = k[1]; let k2 = k[2]; let k3 = k[3]; let k4 = k[4]; let k5 = k[5]; let k6 = k[6]; let k7 = k[7];
      let a = qa[c]; let bq = qb[c]; let cq = qc[c]; let d = qd[c];
      sa += vec4f(dot(a, k0), dot(a, k1), dot(a, k2), dot(a, k3));
      sb += vec4f(dot(bq, k0), dot(bq, k1), dot(bq, k2), dot(bq, k3));
      sc += vec4f(dot(cq, k0), dot(cq, k1), dot(cq, k2), dot(cq, k3));
      sd += vec4f(dot(d, k0), dot(d, k1), dot(d, k2), dot(d, k3));
      ta += vec4f(dot(a, k4), dot(a, k5), dot(a, k6), dot(a, k7));
      tb += vec4f(dot(bq, k4), dot(bq, k5), dot(bq, k6), dot(bq, k7));
      tc += vec4f(dot(cq, k4), dot(cq, k5), dot(cq, k6), dot(cq, k7));
      td += vec4f(dot(d, k4), dot(d, k5), dot(d, k6), dot(d, k7));
    }
    let oa = online_step(m.x, l.x, sa, ta, vis_lo & (lo < vec4u(lims.x)), vis_hi & (hi < vec4u(lims.x)));
    let ob = online_step(m.y, l.y, sb, tb, vis_lo & (lo < vec4u(lims.y)), vis_hi & (hi < vec4u(lims.y)));
    let oc = online_step(m.z, l.z, sc, tc, vis_lo & (lo < vec4u(lims.z)), vis_hi & (hi < vec4u(lims.z)));
    let od = online_step(m.w, l.w, sd, td, vis_lo & (lo < vec4u(lims.w)), vis_hi & (hi < vec4u(lims.w)));
    m = vec4f(oa.m, ob.m, oc.m, od.m);
    l = vec4f(oa.l, ob.l, oc.l, od.l);
    for (var c = 0u; c < HD4; c++) {
      let v = values8(at, bt, c, lane);
      acc_a[c] = pv_step(acc_a[c], oa, v);
      acc_b[c] = pv_step(acc_b[c], ob, v);
      acc_c[c] = pv_step(acc_c[c], oc, v);
      acc_d[c] = pv_step(acc_d[c], od, v);
    }
  }
  for (var r = 0u; r < 4u; r++) {
    let qi = q0 + r;
    if (qi >= p.L || t >= total) { break; }
    let o = ((b * p.L + qi) * p.H + h) * HD4;
    for (var c = 0u; c < HD4; c++) {
      var sum = acc_a[c];
      if (r == 1u) { sum = acc_b[c]; }
      if (r == 2u) { sum = acc_c[c]; }
      if (r == 3u) { sum = acc_d[c]; }
      out[o + c] = select(vec4f(0.0), sum / l[r], l[r] > 0.0);
    }
  }
}

// k_dst, v_dst [B, Hkv, capacity, hd] rows start + l  ←  k (normalised, rotated), v of qkv [B, L, ·].
// One workgroup per (b, l, kv head); grid folded to 2-D for many rows.
@compute @workgroup_size(WG_APPEND)
fn append_kv(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = wg.x + wg.y * nwg.x;
  if (n >= p.B * p.L * p.kv_heads) { return; }
  let hd = 4u * HD4;
  let kvh = n % p.kv_heads;
  let bl = n / p.kv_heads;
  let l = bl % p.L;
  let b = bl / p.L;
  let row = bl * (p.H + 2u * p.kv_heads) * hd;
  let k_src = row + (p.H + kvh) * hd;
  let v_src = row + (p.H + p.kv_heads + kvh) * hd;
  let dst = ((b * p.kv_heads + kvh) * p.capacity + p.start + l) * hd;

  var f = 1.0;
  if (QK_NORM) {
    var ss = 0.0;
    for (var d = t; d < hd; d += WG_APPEND) {
      let x = qkv_at(k_src + d);
      ss += x * x;
    }
    red[t] = ss;
    for (var w = WG_APPEND / 2u; w > 0u; w >>= 1u) {
      workgroupBarrier();
      if (t < w) { red[t] += red[t + w]; }
    }
    workgroupBarrier();
    f = 1.0 / max(sqrt(red[0]), NORM_EPS);
  }
  for (var d = t; d < hd; d += WG_APPEND) {
    var x = qkv_at(k_src + d);
    if (ROPE) { x = rotated(k_src, d, token_cos_sin(l, d % (2u * HD4))); }
    k_dst[dst + d] = x * f;
    v_dst[dst + d] = qkv_at(v_src + d);
  }
}
