// Batched matrix product: out[b] = alpha · a[b] @ B[b], with a [batch, M, K], B [batch, K, N] (or
// [batch, N, K] read transposed, TRANS_B), out [batch, M, N], all f32 and row-major. B may be shared by
// the whole batch (b_stride = 0). Attention scores (q @ kᵀ) and weighted values (p @ v) go through here.
//
// In the 'workgroup' kernel style (GPUs), `main` has a workgroup compute a (16·TM)×64 output tile of one
// batch entry with the tiled product of shaders/tiled-matmul.wgsl (as linear_tiled in linear.wgsl),
// which the TS wrapper concatenates before this file: it declares TM, WG and the tiles, and calls
// load_a, load_b and store_c below. `matmul_direct`, the 'direct' style (CPU-emulated adapters),
// computes a 4×4 block per invocation in registers straight from memory: no workgroup memory, no barrier.

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

// a[batch, m, k], or 0 outside [M, K].
fn load_a(batch: u32, m: u32, k: u32) -> f32 {
  if (m < p.M && k < p.K) { return a[batch * p.M * p.K + m * p.K + k]; }
  return 0.0;
}

// B[batch, k, n] at batch · b_stride (stored [N, K] with TRANS_B), or 0 outside [K, N].
fn load_b(batch: u32, n: u32, k: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
  let base = batch * p.b_stride;
  if (TRANS_B) { return b[base + n * p.K + k]; }
  return b[base + k * p.N + n];
}

// out[batch, m, n] = alpha · v, inside [M, N].
fn store_c(batch: u32, m: u32, n: u32, v: f32) {
  if (m < p.M && n < p.N) { out[batch * p.M * p.N + m * p.N + n] = p.alpha * v; }
}

// Grid: [ceil(N / 64), ceil(M / (16·TM)), batch].
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3u) {
  tiled_matmul(lid, wg.y * 16u * TM, wg.x * BN, wg.z, p.K);
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
