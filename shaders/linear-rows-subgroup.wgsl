// linear_direct_16x8's and linear_direct's rows of x (shaders/linear.wgsl, compiled after this file) shared
// across a subgroup of 4 invocations, which take the same 16 (or 4) rows: each loads a quarter of them and
// hands them to the others with subgroupBroadcast, a register shuffle where a load is a 4-lane gather on
// SwiftShader: 16 loads of x a k step instead of 64 (4 instead of 16). For adapters whose subgroups are
// exactly the kernel's 4 neighbouring invocations (SwiftShader runs a workgroup's invocations in order, 4 at
// a time, as its SIMD group).

enable subgroups;

// Where the lane's 4 rows of x start, in vec4s: m0 + 4·lane .. + 3 (rows past the last read the last); the
// other 12 entries are unused.
fn x_row_starts(m0: u32, lane: u32, last_m: u32, k4: u32) -> array<u32, 16> {
  let m = m0 + 4u * lane;
  return array<u32, 16>(min(m, last_m) * k4, min(m + 1u, last_m) * k4, min(m + 2u, last_m) * k4, min(m + 3u, last_m) * k4,
                        0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
}

// x[m0 + i, 4q .. 4q + 3] for i = 0 .. 15: row i from lane i / 4, its row i % 4.
fn x_rows_16(r: array<u32, 16>, q: u32) -> array<vec4f, 16> {
  let s0 = x4[r[0] + q];
  let s1 = x4[r[1] + q];
  let s2 = x4[r[2] + q];
  let s3 = x4[r[3] + q];
  return array<vec4f, 16>(
    subgroupBroadcast(s0, 0u), subgroupBroadcast(s1, 0u), subgroupBroadcast(s2, 0u), subgroupBroadcast(s3, 0u),
    subgroupBroadcast(s0, 1u), subgroupBroadcast(s1, 1u), subgroupBroadcast(s2, 1u), subgroupBroadcast(s3, 1u),
    subgroupBroadcast(s0, 2u), subgroupBroadcast(s1, 2u), subgroupBroadcast(s2, 2u), subgroupBroadcast(s3, 2u),
    subgroupBroadcast(s0, 3u), subgroupBroadcast(s1, 3u), subgroupBroadcast(s2, 3u), subgroupBroadcast(s3, 3u));
}

// Where the lane's row of x starts, in vec4s: m0 + lane (past the last, the last), in .x; the other
// entries are unused.
fn x_row_starts_4(m0: u32, lane: u32, last_m: u32, k4: u32) -> vec4u {
  return vec4u(min(m0 + lane, last_m) * k4, 0u, 0u, 0u);
}

// x[m0 + i, 4q .. 4q + 3] for i = 0 .. 3: row i from lane i.
fn x_rows_4(r: vec4u, q: u32) -> array<vec4f, 4> {
  let s = x4[r.x + q];
  return array<vec4f, 4>(subgroupBroadcast(s, 0u), subgroupBroadcast(s, 1u), subgroupBroadcast(s, 2u), subgroupBroadcast(s, 3u));
}
