/**
 * Elementwise activations (GELU tanh form, SiLU, SwiGLU) and residual updates (scaled and gated).
 * WGSL: shaders/activation.wgsl. Reference: runtime/reference/activation.ts.
 */
import source from '../../shaders/activation.wgsl?raw';
import { grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { sameSize } from './checks.ts';

const WG = 256;
const geluKernel = new Kernel({ name: 'gelu_tanh', source, entryPoint: 'gelu_tanh' });
const siluKernel = new Kernel({ name: 'silu', source, entryPoint: 'silu' });
const swigluKernel = new Kernel({ name: 'swiglu', source, entryPoint: 'swiglu' });
const addScaledKernel = new Kernel({ name: 'add_scaled', source, entryPoint: 'add_scaled' });
const clampAffineKernel = new Kernel({ name: 'clamp_affine', source, entryPoint: 'clamp_affine' });
const addGatedKernel = new Kernel({ name: 'add_gated', source, entryPoint: 'add_gated' });

/** out = GELU(x), tanh approximation (PyTorch's `approximate='tanh'`). */
export function geluTanh(rec: Recorder, out: Tensor, x: Tensor): void {
  sameSize('geluTanh', out, x);
  rec.dispatch(geluKernel, { bindings: { out, a: x }, uniforms: { n: out.size }, workgroups: grid(out.size, WG) });
}

/** out = x · sigmoid(x). */
export function silu(rec: Recorder, out: Tensor, x: Tensor): void {
  sameSize('silu', out, x);
  rec.dispatch(siluKernel, { bindings: { out, a: x }, uniforms: { n: out.size }, workgroups: grid(out.size, WG) });
}

/** out = SiLU(gate) · up, as in the SwiGLU feed-forward of Qwen2/LLaMA. */
export function swiglu(rec: Recorder, out: Tensor, gate: Tensor, up: Tensor): void {
  sameSize('swiglu', out, gate, up);
  rec.dispatch(swigluKernel, { bindings: { out, a: gate, b: up }, uniforms: { n: out.size }, workgroups: grid(out.size, WG) });
}

/** x += scale · y, in place. */
export function addScaled(rec: Recorder, x: Tensor, y: Tensor, scale = 1): void {
  sameSize('addScaled', x, y);
  rec.dispatch(addScaledKernel, { bindings: { out: x, a: y }, uniforms: { n: x.size, scale }, workgroups: grid(x.size, WG) });
}

/**
 * x[g, l, c] += scale · gate[g, c] · y[g, l, c], in place: the gated residual of AdaLN blocks
 * (x, y: [G, L, C]). `gate` is [G, C], or [G, K·C] holding K chunks of which `chunk` is used
 * (VAR's ada_lin output [G, 6C] with gamma1 at chunk 0).
 */
export function addGated(rec: Recorder, x: Tensor, y: Tensor, gate: Tensor, opts: { chunk?: number; scale?: number } = {}): void {
  sameSize('addGated', x, y);
  const C = x.shape[x.shape.length - 1];
  const G = gate.shape[0];
  const stride = gate.size / G;
  const chunk = opts.chunk ?? 0;
  const rows = x.size / (G * C);
  if (!Number.isInteger(rows) || stride % C !== 0 || (chunk + 1) * C > stride) {
    throw new Error(`addGated: x [${x.shape}] is not [G=${G}, L, C] for gate [${gate.shape}] chunk ${chunk}`);
  }
  rec.dispatch(addGatedKernel, {
    bindings: { out: x, a: y, b: gate },
    uniforms: { n: x.size, inner: C, rows_per_gate: rows, scale: opts.scale ?? 1, gate_stride: stride, gate_offset: chunk * C },
    workgroups: grid(x.size, WG),
  });
}

/** out = clamp(x, lo, hi) · scale + shift. */
export function clampAffine(rec: Recorder, out: Tensor, x: Tensor, opts: { lo: number; hi: number; scale?: number; shift?: number }): void {
  sameSize('clampAffine', out, x);
  rec.dispatch(clampAffineKernel, {
    bindings: { out, a: x },
    uniforms: { n: out.size, lo: opts.lo, hi: opts.hi, scale: opts.scale ?? 1, shift: opts.shift ?? 0 },
    workgroups: grid(out.size, WG),
  });
}
