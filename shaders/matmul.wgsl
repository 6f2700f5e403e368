// Batched matrix product: out[b] = alpha · a[b] @ B[b], with a [batch, M, K], B [batch, K, N] (or
// [batch, N, K] read transposed, TRANS_B), out [batch, M, N], all f32 and row-major. B may be shared by
// the whole batch (b_stride = 0). Attention scores (q @ kᵀ) and weighted values (p @ v) go through here.
//
// Tiled like linear_tiled in linear.wgsl: a workgroup computes a (16·TM)×64 output tile of one batch
// entry; K is walked 16 at a time through workgroup memory stored k-major, so the inner loop reads 4
// adjacent rows or columns as one vec4; each thread keeps a TM×4 block of sums in registers and issues
// the next K step's global loads before this step's arithmetic. Whatever B's layout, its tile is read
// along its contiguous axis (coalesced). That is the 'workgroup' kernel style (GPUs); `matmul_direct`,
// the 'direct' style (CPU-emulated adapters), computes a 4×4 block per invocation in registers
// straight from memory: no workgroup memory, no barrier.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  alpha: f32,
  b_stride: u32, // elements between batch entries of B: K·N, or 0 when B is shared
  batches: u32,  // matmul_direct: batch entries (the workgroup kernel has one per grid z)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

override TRANS_B: bool = false;
// Rows per thread (1, 2 or 4); a tile has 16·TM rows.
override TM: u32 = 4u;

const WG: u32 = 256u;
const BN: u32 = 64u; // tile columns
const BK: u32 = 16u; // K step

// [BK][rows / 4] and [BK][BN / 4]; 17 vec4 per row rather than 16 to spread the stores over the banks.
var<workgroup> a_tile: array<array<vec4f, 17>, 16>;
var<workgroup> b_tile: array<array<vec4f, 17>, 16>;

// a[batch, m, k] at `base` = batch · M · K, or 0 outside [M, K].
fn load_a(base: u32, m: u32, k: u32) -> f32 {
  if (m < p.M && k < p.K) { return a[base + m * p.K + k]; }
  return 0.0;
}

// B[batch, k, n] at `base` = batch · b_stride (stored [N, K] with TRANS_B), or 0 outside [K, N].
fn load_b(base: u32, n: u32, k: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
  if (TRANS_B) { return b[base + n * p.K + k]; }
  return b[base + k * p.N + n];
}

// (column, k) within B's tile of element j of this thread's share: 16 threads along k of one column
// when B is [N, K], 64 threads along n of one k row when B is [K, N].
fn b_slot(lid: u32, j: u32) -> vec2u {
  if (TRANS_B) { return vec2u(lid / BK + 16u * j, lid % BK); }
  return vec2u(lid % BN, lid / BN + 4u * j);
}

// Grid: [ceil(N / 64), ceil(M / (16·TM)), batch].
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3u) {
  let m0 = wg.y * 16u * TM;
  let n0 = wg.x * BN;
  let a_base = wg.z * p.M * p.K;
  let b_base = wg.z * p.b_stride;
  let o_base = wg.z * p.M * p.N;
  let tx = lid % 16u; // computes columns n0 + 4·tx .. +3
  let ty = lid / 16u; // computes rows m0 + TM·ty .. +TM-1
  // a's tile: element j of this thread's share is (row lr + 16·j, k lk), 16 threads along k of a row.
  let lk = lid % BK;
  let lr = lid / BK;
  var ar: array<f32, 4>;
  var br: array<f32, 4>;
  var acc: array<vec4f, 4>;
  for (var j = 0u; j < TM; j++) { ar[j] = load_a(a_base, m0 + lr + 16u * j, lk); }
  for (var j = 0u; j < 4u; j++) {
    let s = b_slot(lid, j);
    br[j] = load_b(b_base, n0 + s.x, s.y);
  }
  let av4 = (ty * TM) >> 2u; // the vec4 of a_tile holding this thread's rows, from component ac
  let ac = (ty * TM) & 3u;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var j = 0u; j < TM; j++) {
      let r = lr + 16u * j;
      a_tile[lk][r >> 2u][r & 3u] = ar[j];
    }
    for (var j = 0u; j < 4u; j++) {
      let s = b_slot(lid, j);
      b_tile[s.y][s.x >> 2u][s.x & 3u] = br[j];
    }
    workgroupBarrier();
    for (var j = 0u; j < TM; j++) { ar[j] = load_a(a_base, m0 + lr + 16u * j, k0 + BK + lk); }
    for (var j = 0u; j < 4u; j++) {
      let s = b_slot(lid, j);
      br[j] = load_b(b_base, n0 + s.x, k0 + BK + s.y);
    }
    for (var kk = 0u; kk < BK; kk++) {
      let av = a_tile[kk][av4];
      let bv = b_tile[kk][tx];
      for (var i = 0u; i < TM; i++) { acc[i] += av[ac + i] * bv; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + ty * TM + i;
    for (var c = 0u; c < 4u; c++) {
      let n = n0 + 4u * tx + c;
      if (m < p.M && n < p.N) { out[o_base + m * p.N + n] = p.alpha * acc[i][c]; }
    }
  }
}

const DIRECT_WG: u32 = 64u;

// Grid: batch · ceil(M / 4) · ceil(N / 4) invocations of DIRECT_WG, folded as `grid` does; an
// invocation computes rows m0 .. m0 + 3 × columns n0 .. n0 + 3 of one batch entry. Rows and columns past
// the edge read the last one and store nothing.
@compute @workgroup_size(DIRECT_WG)
fn matmul_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * DIRECT_WG;
  let blocks_n = (p.N + 3u) / 4u;
  let blocks = ((p.M + 3u) / 4u) * blocks_n;
  let batch = t / blocks;
  if (batch >= p.batches) { return; } // the last workgroup's spare invocations
  let r = t % blocks;
  let m0 = (r / blocks_n) * 4u;
  let n0 = (r % blocks_n) * 4u;
  let a_base = batch * p.M * p.K;
  let b_base = batch * p.b_stride;
  // Where row i of a and column c of B start, and the step from one k to the next along B's column.
  var a_row: vec4u;
  var b_col: vec4u;
  for (var i = 0u; i < 4u; i++) {
    a_row[i] = a_base + min(m0 + i, p.M - 1u) * p.K;
    b_col[i] = b_base + select(min(n0 + i, p.N - 1u), min(n0 + i, p.N - 1u) * p.K, TRANS_B);
  }
  let b_step = select(p.N, 1u, TRANS_B);
  var r0 = vec4f(); var r1 = vec4f(); var r2 = vec4f(); var r3 = vec4f(); // rows m0 + i, columns n0 .. n0 + 3
  for (var k = 0u; k < p.K; k++) {
    let bk = k * b_step;
    let bv = vec4f(b[b_col.x + bk], b[b_col.y + bk], b[b_col.z + bk], b[b_col.w + bk]);
    r0 += a[a_row.x + k] * bv;
    r1 += a[a_row.y + k] * bv;
    r2 += a[a_row.z + k] * bv;
    r3 += a[a_row.w + k] * bv;
  }
  let rows = array<vec4f, 4>(r0, r1, r2, r3);
  let o_base = batch * p.M * p.N;
  for (var i = 0u; i < 4u; i++) {
    for (var c = 0u; c < 4u; c++) {
      if (m0 + i < p.M && n0 + c < p.N) { out[o_base + (m0 + i) * p.N + n0 + c] = p.alpha * rows[i][c]; }
    }
  }
}
