// Elementwise activations and residual updates over flat f32 arrays.
// One invocation per element; the grid may be folded into 2D for large tensors (see `grid` in TS).

struct Params {
  n: u32,          // elements of `out`
  inner: u32,      // residual: channels per row of the gate (C); swiglu: unused
  rows_per_gate: u32, // residual: rows (L) sharing one gate row
  scale: f32,      // residual: extra scalar multiplier
  gate_stride: u32, // residual: elements per gate row (K·C when the gate is one of K chunks)
  gate_offset: u32, // residual: offset of the gate's chunk within its row
  lo: f32,          // clamp_affine: lower bound
  hi: f32,          // clamp_affine: upper bound
  shift: f32,       // clamp_affine: added after scaling
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

const WG: u32 = 256u;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn gelu_tanh_f(x: f32) -> f32 {
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with tanh written so large |u| cannot overflow.
  let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  let t = 1.0 - 2.0 / (exp(2.0 * clamp(u, -20.0, 20.0)) + 1.0);
  return 0.5 * x * (1.0 + t);
}

fn silu_f(x: f32) -> f32 {
  return x / (1.0 + exp(-x));
}

// out = gelu_tanh(a)
@compute @workgroup_size(WG)
fn gelu_tanh(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = gelu_tanh_f(a[i]); }
}

// out = silu(a)
@compute @workgroup_size(WG)
fn silu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = silu_f(a[i]); }
}

// out = silu(a) * b (a: gate projection, b: up projection)
@compute @workgroup_size(WG)
fn swiglu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = silu_f(a[i]) * b[i]; }
}

// out += scale * a (plain residual; `b` is bound but unused)
@compute @workgroup_size(WG)
fn add_scaled(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = out[i] + p.scale * a[i]; }
}

// out[g, l, c] += scale * gate[g, c] * a[g, l, c]: a gated residual (AdaLN's gamma), one gate row per
// `rows_per_gate` rows of `inner` channels; gate[g, c] = b[g * gate_stride + gate_offset + c].
@compute @workgroup_size(WG)
fn add_gated(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let c = i % p.inner;
  let g = i / (p.inner * p.rows_per_gate);
  out[i] = out[i] + p.scale * b[g * p.gate_stride + p.gate_offset + c] * a[i];
}

// out = clamp(a, lo, hi) * scale + shift (e.g. a decoded image from [-1, 1] to [0, 1])
@compute @workgroup_size(WG)
fn clamp_affine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = clamp(a[i], p.lo, p.hi) * p.scale + p.shift; }
}
