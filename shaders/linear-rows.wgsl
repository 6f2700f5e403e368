// linear_direct_16x8's and linear_direct's rows of x (shaders/linear.wgsl, compiled after this file), each
// invocation loading all of them itself: for adapters without subgroups of 4.
// shaders/linear-rows-subgroup.wgsl is the same contract with the loads shared.

// Where rows m0 .. m0 + 15 of x start, in vec4s (rows past the last read the last).
fn x_row_starts(m0: u32, lane: u32, last_m: u32, k4: u32) -> array<u32, 16> {
  return array<u32, 16>(min(m0, last_m) * k4, min(m0 + 1u, last_m) * k4, min(m0 + 2u, last_m) * k4, min(m0 + 3u, last_m) * k4,
                        min(m0 + 4u, last_m) * k4, min(m0 + 5u, last_m) * k4, min(m0 + 6u, last_m) * k4, min(m0 + 7u, last_m) * k4,
                        min(m0 + 8u, last_m) * k4, min(m0 + 9u, last_m) * k4, min(m0 + 10u, last_m) * k4, min(m0 + 11u, last_m) * k4,
                        min(m0 + 12u, last_m) * k4, min(m0 + 13u, last_m) * k4, min(m0 + 14u, last_m) * k4, min(m0 + 15u, last_m) * k4);
}

// x[m0 + i, 4q .. 4q + 3] for i = 0 .. 15.
fn x_rows_16(r: array<u32, 16>, q: u32) -> array<vec4f, 16> {
  return array<vec4f, 16>(x4[r[0] + q], x4[r[1] + q], x4[r[2] + q], x4[r[3] + q], x4[r[4] + q], x4[r[5] + q],
                          x4[r[6] + q], x4[r[7] + q], x4[r[8] + q], x4[r[9] + q], x4[r[10] + q], x4[r[11] + q],
                          x4[r[12] + q], x4[r[13] + q], x4[r[14] + q], x4[r[15] + q]);
}

// Where rows m0 .. m0 + 3 of x start, in vec4s (rows past the last read the last).
fn x_row_starts_4(m0: u32, lane: u32, last_m: u32, k4: u32) -> vec4u {
  return vec4u(min(m0, last_m), min(m0 + 1u, last_m), min(m0 + 2u, last_m), min(m0 + 3u, last_m)) * k4;
}

// x[m0 + i, 4q .. 4q + 3] for i = 0 .. 3.
fn x_rows_4(r: vec4u, q: u32) -> array<vec4f, 4> {
  return array<vec4f, 4>(x4[r.x + q], x4[r.y + q], x4[r.z + q], x4[r.w + q]);
}
