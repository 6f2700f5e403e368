// The roofline's two calibration kernels (`npm run bench -- --roofline`): the adapter's peak rate of
// multiply-adds, and its memory bandwidth, each measured by a kernel that does nothing else.
//
// fma_peak: each invocation runs 8 independent vec4 chains c ← fma(c, mul, add), 8 steps a round for
// `rounds` rounds, then writes the sum of its chains. Eight chains keep the multiply-add units busy while
// each chain waits on its own previous result; 8 steps a round keep the loop's own cost small (a
// CPU-emulated adapter spends about as long on a loop trip as on 8 vec4 multiply-adds); `mul` and `add`
// are uniforms, so the compiler cannot fold the loop, and the sum is written, so it cannot drop it. With
// |mul| < 1 every chain tends to add / (1 - mul): values stay finite for any number of steps. The chains
// are named, not an array: an array indexed by a loop variable goes to memory on a CPU-emulated adapter,
// and the kernel would time loads instead.
//
// copy_vec4: dst = src in vec4s, 16 of them an invocation: invocation i of T copies vec4s i, i + T,
// i + 2T, ..., so each step of the invocations of a workgroup reads one contiguous run (what a GPU
// coalesces); 16 an invocation, as a CPU-emulated adapter pays for each invocation as for a few loads.
//
// The grid may be folded into 2D for large sizes (see `grid` in TS).

struct Params {
  n: u32,          // invocations (fma_peak) or vec4s (copy_vec4)
  rounds: u32,     // fma_peak: rounds of 8 steps of every chain
  mul: f32,        // fma_peak: each chain's multiplier, |mul| < 1
  add: f32,        // fma_peak: each chain's addend
  invocations: u32, // copy_vec4: invocations T, ⌈n / COPIES⌉
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;
@group(0) @binding(3) var<storage, read> src: array<vec4f>;

const WG: u32 = 256u;
const COPIES: u32 = 16u;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Eight steps of one chain.
fn steps8(c: vec4f, m: vec4f, a: vec4f) -> vec4f {
  var x = fma(c, m, a);
  x = fma(x, m, a);
  x = fma(x, m, a);
  x = fma(x, m, a);
  x = fma(x, m, a);
  x = fma(x, m, a);
  x = fma(x, m, a);
  return fma(x, m, a);
}

// sums[i] = the sum of the 32 lanes of invocation i's 8 chains after 8 · rounds steps; chain j starts at
// (i mod 64) / 64 + (0, 0.25, 0.5, 0.75) + j.
@compute @workgroup_size(WG)
fn fma_peak(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let m = vec4f(p.mul);
  let a = vec4f(p.add);
  let start = vec4f(f32(i & 63u) / 64.0) + vec4f(0.0, 0.25, 0.5, 0.75);
  var c0 = start;
  var c1 = start + 1.0;
  var c2 = start + 2.0;
  var c3 = start + 3.0;
  var c4 = start + 4.0;
  var c5 = start + 5.0;
  var c6 = start + 6.0;
  var c7 = start + 7.0;
  for (var r = 0u; r < p.rounds; r++) {
    c0 = steps8(c0, m, a);
    c1 = steps8(c1, m, a);
    c2 = steps8(c2, m, a);
    c3 = steps8(c3, m, a);
    c4 = steps8(c4, m, a);
    c5 = steps8(c5, m, a);
    c6 = steps8(c6, m, a);
    c7 = steps8(c7, m, a);
  }
  let s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
  sums[i] = (s.x + s.y) + (s.z + s.w);
}

// dst[k] = src[k] for the first n vec4s.
@compute @workgroup_size(WG)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.invocations) { return; }
  for (var j = 0u; j < COPIES; j++) {
    let k = i + j * p.invocations;
    if (k < p.n) { dst[k] = src[k]; }
  }
}
