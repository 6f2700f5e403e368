// Assembles token rows from two broadcast sources (VAR's inputs: a class or word embedding plus a
// position table), optionally into a row window of a longer sequence:
//   out[g, out_off + l, c] = a[g % a_groups, l % a_rows, c] + b[b_off + l, c],  l < rows.
// With a_groups smaller than the output's groups, the rows of `a` repeat (CFG's doubled batch).

struct Params {
  n: u32,        // groups · rows · C invocations
  C: u32,
  rows: u32,     // rows written per group
  out_rows: u32, // rows per group in `out`
  out_off: u32,
  a_groups: u32,
  a_rows: u32,
  b_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let c = i % p.C;
  let l = (i / p.C) % p.rows;
  let g = i / (p.C * p.rows);
  let av = a[((g % p.a_groups) * p.a_rows + (l % p.a_rows)) * p.C + c];
  out[(g * p.out_rows + p.out_off + l) * p.C + c] = av + b[(p.b_off + l) * p.C + c];
}
