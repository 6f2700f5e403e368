// The tiled matrix product shared by linear.wgsl (linear_tiled) and matmul.wgsl (main), concatenated
// before each by its TS wrapper. `tiled_matmul` has a workgroup of WG threads compute one (16·TM)×64 tile
// of C = A @ B (A [M, K], B [K, N]): K is walked BK = 16 at a time through workgroup memory stored
// k-major, so the inner loop reads 4 adjacent rows or columns as one vec4; each thread keeps a TM×4
// block of sums in registers, and issues the global loads of the next K step before the arithmetic of
// this one so their latency hides behind it. Whatever B's layout, its tile is read along its contiguous
// axis (coalesced). Each sum adds its products one k at a time, in order.
//
// The including kernel defines what differs, the operands and what becomes of the sums:
// - TRANS_B: bool (const or override): B is stored [N, K] (read as its transpose) rather than [K, N];
// - fn load_a(batch: u32, m: u32, k: u32) -> f32: A[m, k] of batch entry `batch`, 0 outside [M, K];
// - fn load_b(batch: u32, n: u32, k: u32) -> f32: B[k, n] of that entry, 0 outside [K, N];
// - fn store_c(batch: u32, m: u32, n: u32, v: f32): v = Σ_k A[m, k] · B[k, n]; stores nothing outside
//   [M, N] (the tile's edge rows and columns reach past it);
// and calls tiled_matmul from an entry point of @workgroup_size(WG), in uniform control flow.

// Rows per thread (1, 2 or 4); a tile has 16·TM rows.
override TM: u32 = 4u;

const WG: u32 = 256u;
const BN: u32 = 64u; // tile columns
const BK: u32 = 16u; // K step

// [BK][rows / 4] and [BK][BN / 4]; 17 vec4 per row rather than 16 to spread the stores over the banks.
var<workgroup> a_tile: array<array<vec4f, 17>, 16>;
var<workgroup> b_tile: array<array<vec4f, 17>, 16>;

// (column, k) within B's tile of element j of this thread's share: 16 threads along k of one column
// when B is [N, K], 64 threads along n of one k row when B is [K, N].
fn b_slot(lid: u32, j: u32) -> vec2u {
  if (TRANS_B) { return vec2u(lid / BK + 16u * j, lid % BK); }
  return vec2u(lid % BN, lid / BN + 4u * j);
}

// The tile of rows m0 .. m0 + 16·TM - 1 and columns n0 .. n0 + 63 of batch entry `batch`, with K the
// length of the sums (uniform across the workgroup).
fn tiled_matmul(lid: u32, m0: u32, n0: u32, batch: u32, K: u32) {
  let tx = lid % 16u; // computes columns n0 + 4·tx .. +3
  let ty = lid / 16u; // computes rows m0 + TM·ty .. +TM-1
  // A's tile: element j of this thread's share is (row lr + 16·j, k lk), 16 threads along k of a row.
  let lk = lid % BK;
  let lr = lid / BK;
  var ar: array<f32, 4>;
  var br: array<f32, 4>;
  var acc: array<vec4f, 4>;
  for (var j = 0u; j < TM; j++) { ar[j] = load_a(batch, m0 + lr + 16u * j, lk); }
  for (var j = 0u; j < 4u; j++) {
    let s = b_slot(lid, j);
    br[j] = load_b(batch, n0 + s.x, s.y);
  }
  let av4 = (ty * TM) >> 2u; // the vec4 of a_tile holding this thread's rows, from component ac
  let ac = (ty * TM) & 3u;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var j = 0u; j < TM; j++) {
      let r = lr + 16u * j;
      a_tile[lk][r >> 2u][r & 3u] = ar[j];
    }
    for (var j = 0u; j < 4u; j++) {
      let s = b_slot(lid, j);
      b_tile[s.y][s.x >> 2u][s.x & 3u] = br[j];
    }
    workgroupBarrier();
    for (var j = 0u; j < TM; j++) { ar[j] = load_a(batch, m0 + lr + 16u * j, k0 + BK + lk); }
    for (var j = 0u; j < 4u; j++) {
      let s = b_slot(lid, j);
      br[j] = load_b(batch, n0 + s.x, k0 + BK + s.y);
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
    for (var c = 0u; c < 4u; c++) { store_c(batch, m, n0 + 4u * tx + c, acc[i][c]); }
  }
}
