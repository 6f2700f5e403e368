// Classifier-free guidance, top-k / top-p filtering and Gumbel-max sampling of token logits.
// Appended to shaders/rng.wgsl (the TS wrapper concatenates the two).
//
// Filtering and sampling run one workgroup per row of V logits, streaming the row from memory once per
// pass (V reaches 16k: it does not fit in workgroup memory). Neither filter sorts. Both keep the tokens
// whose logit is >= a threshold that is the logit of one token of the row, compared as order-preserving
// u32 keys. Keeping everything >= a threshold keeps ties together, as top-k's "logit >= the k-th largest"
// does, and as top-p does when tied tokens are taken as one group. The threshold is found exactly:
// - top-k with k <= K_SMALL (the unified family's 16): in one pass each invocation keeps its k largest
//   keys, sorted; the k-th largest of the row is the k-th of their union, which the workgroup pops group
//   by group of equal keys (a max and a count reduction a group). Every key above it is popped with its
//   exact count, so a top-p after it needs one more pass only, for the mass of the row's tokens >= it.
// - otherwise a radix select, 3 bits a pass: each pass sums a weight per digit (a count for top-k, a
//   softmax mass for top-p) with a workgroup reduction, and picks the digit where the sum from the top
//   reaches the goal.
// In the direct style, greedy and top-k <= K_SMALL rows take sample_rows instead: one invocation a row,
// no shared memory and no barrier (see there).

struct Params {
  n: u32,            // guidance: elements of `guided` (B·L·V); rng_fill: words of `bits`
  t: f32,            // guidance: weight of the conditional row minus one
  rows: u32,         // filtering / sampling: rows R
  vocab: u32,        // filtering / sampling: logits per row V
  top_k: u32,        // keep the top_k largest (ties at the k-th kept); 0 = off
  top_p: f32,        // keep the smallest top group of mass >= top_p; 0 = off
  inv_temp: f32,     // 1 / temperature
  seed: u32,         // RNG key
  counter: vec2u,    // RNG counter of element 0 of row 0, as (low word, high word)
  seq_rows: u32,     // sampling: rows per sequence; sequence q draws with key seed + q, its rows from `counter`
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> guided: array<f32>;
@group(0) @binding(3) var<storage, read_write> allowed: array<i32>;
@group(0) @binding(4) var<storage, read_write> ids: array<i32>;
@group(0) @binding(5) var<storage, read_write> bits: array<u32>;

override WG: u32 = 256u; // invocations per row (a power of two): rowWorkgroupSize
const BINS: u32 = 8u;       // radix digit of 3 bits
const DIGIT: u32 = 3u;
const NO_INDEX: u32 = 0xFFFFFFFFu;
const K_SMALL: u32 = 32u;   // top-k up to this: per-invocation lists instead of the radix select

var<workgroup> part: array<f32, BINS * WG>; // BINS partial sums per invocation, bin-major
var<workgroup> part_u: array<u32, WG>;
var<workgroup> picked: u32;
var<workgroup> group_key: array<u32, K_SMALL>; // the keys above the k-th largest, descending
var<workgroup> group_n: array<u32, K_SMALL>;   // and how many tokens of the row have each

// out[i] = (1 + t)·cond[i] - t·uncond[i]: rows 0..B-1 of `logits` are conditional, rows B..2B-1 not.
@compute @workgroup_size(WG)
fn guidance(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) { guided[i] = (1.0 + p.t) * logits[i] - p.t * logits[i + p.n]; }
}

// bits[i] = the RNG's 32 bits at (seed, counter + i): the GPU side of the RNG's bit-exactness test.
@compute @workgroup_size(WG)
fn rng_fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) { bits[i] = rng_bits(p.seed, counter_add(p.counter, i)); }
}

// A u32 whose unsigned order is the float order of x; -0 maps to +0's key so that the two tie.
fn order_key(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// k >> s for any s in [0, 32] (WGSL's own shift takes s modulo 32).
fn high_bits(k: u32, s: u32) -> u32 {
  return select(k >> min(s, 31u), 0u, s >= 32u);
}

fn key_value(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7FFFFFFFu, (k & 0x80000000u) != 0u));
}

// Standard Gumbel noise -log(-log(u)). The inner -log(u) goes through atanh's series for u >= 1/2,
// where log's absolute error bound (2^-21 on [0.5, 2]) would swamp a result as small as 6e-8.
fn gumbel(u: f32) -> f32 {
  var e: f32;
  if (u < 0.5) {
    e = -log(u);
  } else {
    let z = (1.0 - u) / (1.0 + u); // -log(u) = 2·atanh(z), z in (0, 1/3]
    let z2 = z * z;
    let s = 1.0 / 11.0 + z2 * (1.0 / 13.0 + z2 * (1.0 / 15.0));
    e = 2.0 * z * (1.0 + z2 * (1.0 / 3.0 + z2 * (1.0 / 5.0 + z2 * (1.0 / 7.0 + z2 * (1.0 / 9.0 + z2 * s)))));
  }
  return -log(e);
}

fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// The workgroup's largest x, the same for every invocation.
fn workgroup_max(x: u32, lid: u32) -> u32 {
  workgroupBarrier();
  part_u[lid] = x;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { part_u[lid] = max(part_u[lid], part_u[lid + s]); }
  }
  return workgroupUniformLoad(&part_u[0]);
}

// The workgroup's sum of x, the same for every invocation (exact for counts: they stay below 2^24).
fn workgroup_sum(x: f32, lid: u32) -> f32 {
  workgroupBarrier();
  part[lid] = x;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { part[lid] += part[lid + s]; }
  }
  return workgroupUniformLoad(&part[0]);
}

// The largest key of the row, the same for every invocation.
fn row_max_key(base: u32, lid: u32) -> u32 {
  var m = 0u;
  for (var v = lid; v < p.vocab; v += WG) { m = max(m, order_key(logits[base + v])); }
  return workgroup_max(m, lid);
}

// Top-k for k = top_k <= K_SMALL (and k < V): (the k-th largest key of the row, G), with the G distinct
// keys above it and their counts in group_key / group_n, descending. A token an invocation's full list
// turns away is <= all k keys there, so at most the k-th largest: the counts above it are exact.
fn small_top_k(base: u32, lid: u32) -> vec2u {
  let k = p.top_k;
  var list = array<u32, K_SMALL>();
  var n = 0u;
  for (var v = lid; v < p.vocab; v += WG) {
    let key = order_key(logits[base + v]);
    if (n < k || key > list[k - 1u]) {
      var i = min(n, k - 1u);
      n = min(n + 1u, k);
      while (i > 0u && list[i - 1u] < key) {
        list[i] = list[i - 1u];
        i--;
      }
      list[i] = key;
    }
  }
  // Pop the union's largest key with all its copies until k tokens are popped. An exhausted list offers
  // key 0, the lowest; the lists hold at least k keys in all, so the k-th is reached within k rounds.
  var head = 0u;
  var popped = 0u;
  var groups = 0u;
  var kth = 0u;
  for (var round = 0u; round < k; round++) {
    let m = workgroup_max(select(0u, list[min(head, K_SMALL - 1u)], head < n), lid);
    var c = 0u;
    while (head < n && list[head] == m) {
      head++;
      c++;
    }
    let count = u32(workgroup_sum(f32(c), lid));
    popped += count;
    kth = m;
    if (popped >= k) { break; }
    if (lid == 0u) {
      group_key[groups] = m;
      group_n[groups] = count;
    }
    groups++;
  }
  workgroupBarrier();
  return vec2u(kth, groups);
}

// Radix select over the row's tokens with key >= lo (hi: the row's largest key): the largest key t with
// W(key >= t) >= goal, where W sums weights of 1 (by_mass false: the k-th largest for goal k) or
// exp((x - max)/temperature) (by_mass true, goal = top_p · the total: the top-p cut-off). t is always
// a token's key; should rounding leave no digit reaching the goal, the lowest occupied digit is taken.
fn radix_select(base: u32, lid: u32, lo: u32, hi: u32, by_mass: bool, goal_in: f32) -> u32 {
  let xmax = key_value(hi);
  var shift = 32u - countLeadingZeros(lo ^ hi); // bits below the prefix shared by the whole range
  var prefix = high_bits(hi, shift);
  var above = 0.0;
  var goal = goal_in;
  var first = true;
  while (shift > 0u) {
    let width = min(DIGIT, shift);
    shift -= width;
    // Initialised explicitly: SwiftShader carried the previous pass's sums into a bare `var acc`.
    var acc = array<f32, BINS>();
    for (var v = lid; v < p.vocab; v += WG) {
      let x = logits[base + v];
      let k = order_key(x);
      if (k >= lo && high_bits(k, shift + width) == prefix) {
        let d = (k >> shift) & ((1u << width) - 1u);
        let w = select(1.0, exp((x - xmax) * p.inv_temp), by_mass);
        for (var b = 0u; b < BINS; b++) { acc[b] += select(0.0, w, d == b); }
      }
    }
    workgroupBarrier();
    for (var b = 0u; b < BINS; b++) { part[b * WG + lid] = acc[b]; }
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      workgroupBarrier();
      if (lid < s) {
        for (var b = 0u; b < BINS; b++) { part[b * WG + lid] += part[b * WG + lid + s]; }
      }
    }
    workgroupBarrier();
    if (first && by_mass) {
      var total = 0.0;
      for (var b = 0u; b < BINS; b++) { total += part[b * WG]; }
      goal *= total;
    }
    first = false;
    // Every invocation scans the same sums; the pick goes through workgroup memory to be uniform.
    var pick = NO_INDEX;
    var lowest = 0u;
    var cum = above;
    var above_pick = above;
    for (var i = 0u; i < (1u << width); i++) {
      let b = (1u << width) - 1u - i;
      let h = part[b * WG];
      if (h > 0.0) { lowest = b; }
      if (pick == NO_INDEX && h > 0.0) {
        if (cum + h >= goal) { pick = b; above_pick = cum; }
      }
      cum += h;
    }
    if (pick == NO_INDEX) {
      pick = lowest;
      above_pick = cum - part[lowest * WG];
    }
    above = above_pick;
    if (lid == 0u) { picked = pick; }
    prefix = (prefix << width) | workgroupUniformLoad(&picked);
  }
  return prefix;
}

// Top-p after small_top_k: the largest key t among its groups and its k-th largest key with the mass
// of the tokens >= t at least top_p of the mass of the tokens >= the k-th largest, as radix_select's.
fn small_top_p(base: u32, lid: u32, kth: u32, groups: u32) -> u32 {
  let xmax = key_value(select(kth, group_key[0], groups > 0u));
  var acc = 0.0;
  for (var v = lid; v < p.vocab; v += WG) {
    let x = logits[base + v];
    if (order_key(x) >= kth) { acc += exp((x - xmax) * p.inv_temp); }
  }
  let goal = p.top_p * workgroup_sum(acc, lid);
  var cum = 0.0;
  for (var g = 0u; g < groups; g++) {
    cum += f32(group_n[g]) * exp((key_value(group_key[g]) - xmax) * p.inv_temp);
    if (cum >= goal) { return group_key[g]; }
  }
  return kth;
}

// The key threshold of the row's allowed tokens (key >= threshold) under top-k, then top-p.
fn row_threshold(base: u32, lid: u32) -> u32 {
  if (p.top_k > 0u && p.top_k <= K_SMALL) {
    let top = small_top_k(base, lid);
    if (p.top_p > 0.0) { return small_top_p(base, lid, top.x, top.y); }
    return top.x;
  }
  let hi = row_max_key(base, lid);
  var t = 0u;
  if (p.top_k > 0u) { t = radix_select(base, lid, 0u, hi, false, f32(p.top_k)); }
  if (p.top_p > 0.0) { t = radix_select(base, lid, t, hi, true, p.top_p); }
  return t;
}

// allowed[r, v] = 1 where token v of row r survives top-k / top-p filtering, else 0. One workgroup a row.
@compute @workgroup_size(WG)
fn filter_mask(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  let t = row_threshold(base, lid);
  for (var v = lid; v < p.vocab; v += WG) { allowed[base + v] = select(0, 1, order_key(logits[base + v]) >= t); }
}

// ids[r] = argmax over allowed v of logit/temperature + Gumbel(seed + q, counter + j·V + v), row r being
// row j of sequence q (seq_rows rows a sequence); with top_k = 1, the plain argmax (lowest index among
// ties, no RNG). One workgroup a row.
// The best draw among tokens v = first, first + stride, ... of the row at `base` whose key is >= t: the
// largest logit/temperature + Gumbel(key, counter + draw + v), or with `greedy` the largest logit (no RNG);
// the lowest index among ties. index NO_INDEX when no token is >= t.
struct Draw {
  score: f32,
  index: u32,
}

fn draw_over_row(base: u32, first: u32, stride: u32, t: u32, greedy: bool, key: u32, draw: u32) -> Draw {
  var best = Draw(0.0, NO_INDEX);
  for (var v = first; v < p.vocab; v += stride) {
    let x = logits[base + v];
    if (order_key(x) < t) { continue; }
    var score = x;
    if (!greedy) { score = x * p.inv_temp + gumbel(rng_uniform(key, counter_add(p.counter, draw + v))); }
    if (best.index == NO_INDEX || score > best.score) { best = Draw(score, v); }
  }
  return best;
}

@compute @workgroup_size(WG)
fn sample(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  let key = p.seed + row / p.seq_rows; // wraps around 2^32 as the reference's (seed + q) mod 2^32
  let draw = (row % p.seq_rows) * p.vocab;
  let greedy = p.top_k == 1u;
  var t = 0u;
  if (!greedy) { t = row_threshold(base, lid); }
  let best = draw_over_row(base, lid, WG, t, greedy, key, draw);
  workgroupBarrier();
  part[lid] = best.score;
  part_u[lid] = best.index;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) {
      let j = part_u[lid + s];
      let i = part_u[lid];
      if (j != NO_INDEX && (i == NO_INDEX || part[lid + s] > part[lid] || (part[lid + s] == part[lid] && j < i))) {
        part[lid] = part[lid + s];
        part_u[lid] = j;
      }
    }
  }
  if (lid == 0u) { ids[row] = i32(part_u[0]); }
}

// The direct style's sampler for greedy or top-k <= K_SMALL: one invocation per row, no shared memory
// and no barrier. One pass over the row keeps its k largest keys, sorted, with their tokens, and counts
// the tokens beyond them that tie the k-th: the list is then the row's exact top k, so top-p and the
// draw need the row again only where the cut falls at the k-th key and it has ties outside the list.
override ROWS_WG: u32 = 16u; // rows per workgroup of sample_rows

@compute @workgroup_size(ROWS_WG)
fn sample_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * ROWS_WG;
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  let key = p.seed + row / p.seq_rows;
  let draw = (row % p.seq_rows) * p.vocab;
  if (p.top_k == 1u) {
    ids[row] = i32(draw_over_row(base, 0u, 1u, 0u, true, key, draw).index);
    return;
  }
  let k = p.top_k;
  var keys = array<u32, K_SMALL>();
  var toks = array<u32, K_SMALL>();
  var n = 0u;
  var extra = 0u; // tokens outside the list whose key equals its last
  for (var v = 0u; v < p.vocab; v++) {
    let kv = order_key(logits[base + v]);
    if (n == k && kv <= keys[k - 1u]) {
      if (kv == keys[k - 1u]) { extra++; }
      continue;
    }
    let dropped = keys[k - 1u];
    var i = min(n, k - 1u);
    let full = n == k;
    n = min(n + 1u, k);
    while (i > 0u && keys[i - 1u] < kv) {
      keys[i] = keys[i - 1u];
      toks[i] = toks[i - 1u];
      i--;
    }
    keys[i] = kv;
    toks[i] = v;
    if (full) { extra = select(0u, extra + 1u, dropped == keys[k - 1u]); }
  }
  let kth = keys[k - 1u];
  var t = kth;
  if (p.top_p > 0.0) {
    // Top-p over the groups of equal keys, as small_top_p; the mass of the tokens >= the k-th key is the
    // list's and its ties'.
    let xmax = key_value(keys[0]);
    var mass = f32(extra) * exp((key_value(kth) - xmax) * p.inv_temp);
    for (var i = 0u; i < k; i++) { mass += exp((key_value(keys[i]) - xmax) * p.inv_temp); }
    let goal = p.top_p * mass;
    var cum = 0.0;
    var i = 0u;
    while (keys[i] > kth) {
      let g = keys[i];
      var c = 0u;
      while (keys[i] == g) {
        i++;
        c++;
      }
      cum += f32(c) * exp((key_value(g) - xmax) * p.inv_temp);
      if (cum >= goal) {
        t = g;
        break;
      }
    }
  }
  if (t == kth && extra > 0u) {
    // Tokens tied at the cut lie outside the list: the row again.
    ids[row] = i32(draw_over_row(base, 0u, 1u, t, false, key, draw).index);
    return;
  }
  var best = Draw(0.0, NO_INDEX);
  for (var i = 0u; i < k && keys[i] >= t; i++) {
    let v = toks[i];
    let score = key_value(keys[i]) * p.inv_temp + gumbel(rng_uniform(key, counter_add(p.counter, draw + v)));
    if (best.index == NO_INDEX || score > best.score || (score == best.score && v < best.index)) { best = Draw(score, v); }
  }
  ids[row] = i32(best.index);
}
