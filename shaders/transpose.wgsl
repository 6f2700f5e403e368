// Swaps the last two axes of a batch of matrices: out[b, c, r] (+)= x[b, r, c].
// Converts between token-major [B, N, C] and channel-major [B, C, N] (NCHW feature maps).
// `main` ('workgroup' kernel style, GPUs): 16x16 tiles staged in workgroup memory so both the read and the
// write are coalesced. `transpose_direct` ('direct' style, CPU-emulated adapters): an invocation per
// output element, no workgroup memory and no barrier, which cost a software adapter more than the copy.

struct Params {
  rows: u32,       // R: rows of x per batch
  cols: u32,       // C: columns of x per batch
  accumulate: u32, // 1: out += x^T, 0: out = x^T
  count: u32,      // transpose_direct: elements B·R·C
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

const T: u32 = 16u;
var<workgroup> tile: array<array<f32, 17>, 16>; // +1 column: no bank conflicts on the transposed read

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wg.z;
  let base = b * p.rows * p.cols;
  let r = wg.y * T + lid.y;
  let c = wg.x * T + lid.x;
  if (r < p.rows && c < p.cols) { tile[lid.y][lid.x] = x[base + r * p.cols + c]; }
  workgroupBarrier();
  // Write out[b, c', r'] with c' = wg.x * T + lid.y, r' = wg.y * T + lid.x (contiguous in r').
  let oc = wg.x * T + lid.y;
  let or = wg.y * T + lid.x;
  if (oc < p.cols && or < p.rows) {
    let i = base + oc * p.rows + or;
    let v = tile[lid.x][lid.y];
    if (p.accumulate == 1u) { out[i] = out[i] + v; } else { out[i] = v; }
  }
}

// Grid: B·R·C invocations of 64, folded as `grid` does; neighbouring invocations write neighbouring
// elements of out.
@compute @workgroup_size(64)
fn transpose_direct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.count) { return; }
  let per_batch = p.rows * p.cols;
  let b = i / per_batch;
  let j = i - b * per_batch; // out[b, c, r] with j = c·R + r
  let c = j / p.rows;
  let r = j - c * p.rows;
  let v = x[b * per_batch + r * p.cols + c];
  if (p.accumulate == 1u) { out[i] = out[i] + v; } else { out[i] = v; }
}
