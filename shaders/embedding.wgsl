// Table lookups by index and their inverse: embedding gather (nn.Embedding: class labels, codebook
// entries) and nearest-codebook search (VAR's quantizer turning features into token ids).
//
// The table [V, C] is f32, or f16 packed two halves per u32 word (low half first), chosen by the
// TABLE_F16 override; it is bound as u32 words either way. Ids are clamped to [0, V) so a bad id reads
// row 0 or V - 1, never out of bounds.
//
// - embedding_rows: out[r, c] = table[ids[r], c]; one invocation per output element, adjacent
//   invocations on adjacent channels (coalesced reads and writes).
// - embedding_nchw: out[b, c, n] = table[ids[b, n], c], channel-major as a feature map [B, C, pn, pn];
//   adjacent invocations on adjacent positions, so writes are coalesced and the (small, cached) table
//   is gathered.
// - nearest_code: out_ids[b, n] = argmin_v Σ_c (x[b, c, n] - table[v, c])², ties to the lowest v. One
//   workgroup per position: its C features are staged in workgroup memory, each thread scans every
//   WG-th code keeping its best (distance, index), and a tree reduction in workgroup memory picks the
//   winner. Plain squared distance, not PyTorch's ‖x‖² + ‖e‖² - 2x·e: the same argmin up to rounding.

struct Params {
  n: u32, // embedding: elements of out; nearest_code: positions (B·N)
  V: u32, // table rows
  C: u32, // channels (table columns)
  N: u32, // positions per batch entry (embedding_nchw, nearest_code)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> out_ids: array<i32>;

override TABLE_F16: bool = false;

override WG: u32 = 256u; // invocations per row (a power of two): rowWorkgroupSize
// Largest C nearest_code stages (the TS wrapper checks it).
const MAX_C: u32 = 1024u;

var<workgroup> xs: array<f32, MAX_C>;
var<workgroup> best_d: array<f32, WG>;
var<workgroup> best_v: array<u32, WG>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// table[row, c] for an id clamped to [0, V).
fn lookup(id: i32, c: u32) -> f32 {
  let e = u32(clamp(id, 0, i32(p.V) - 1)) * p.C + c;
  if (TABLE_F16) { return unpack2x16float(table[e >> 1u])[e & 1u]; }
  return bitcast<f32>(table[e]);
}

@compute @workgroup_size(WG)
fn embedding_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = lookup(ids[i / p.C], i % p.C);
}

@compute @workgroup_size(WG)
fn embedding_nchw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let n = i % p.N;
  let bc = i / p.N; // b · C + c
  let b = bc / p.C;
  out[i] = lookup(ids[b * p.N + n], bc - b * p.C);
}

// True when (d, v) beats (bd, bv): a smaller distance, or an equal one at a lower index.
fn better(d: f32, v: u32, bd: f32, bv: u32) -> bool {
  return d < bd || (d == bd && v < bv);
}

// Grid: one workgroup per position, folded over x and y.
@compute @workgroup_size(WG)
fn nearest_code(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let q = wg.x + wg.y * nwg.x;
  if (q >= p.n) { return; }
  let b = q / p.N;
  let n = q - b * p.N;
  for (var c = lid; c < p.C; c += WG) { xs[c] = x[(b * p.C + c) * p.N + n]; }
  workgroupBarrier();
  var bd = 3.4e38;
  var bv = 0xffffffffu;
  for (var v = lid; v < p.V; v += WG) {
    var d = 0.0;
    for (var c = 0u; c < p.C; c++) {
      let e = xs[c] - lookup(i32(v), c);
      d += e * e;
    }
    if (better(d, v, bd, bv)) {
      bd = d;
      bv = v;
    }
  }
  best_d[lid] = bd;
  best_v[lid] = bv;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && better(best_d[lid + s], best_v[lid + s], best_d[lid], best_v[lid])) {
      best_d[lid] = best_d[lid + s];
      best_v[lid] = best_v[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out_ids[q] = i32(min(best_v[0], p.V - 1u)); }
}
