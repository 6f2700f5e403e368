/**
 * LayerNorm over the last dim, with optional affine weight/bias and VAR's adaptive modulation (AdaLN)
 * fused in, so a block's `ln(x) · (1 + scale) + shift` is one dispatch; plus the modulation alone.
 * One workgroup per row, Welford statistics merged in shared memory.
 * WGSL: shaders/layer-norm.wgsl. Reference: runtime/reference/layer-norm.ts.
 */
import norm from '../../shaders/layer-norm.wgsl?raw';
import welford from '../../shaders/welford.wgsl?raw';
import { grid, Kernel, rowWorkgroupSize, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, expectVector, notAliased, rowsOf, sameSize } from './checks.ts';

/** The norm's entry points after the shared Welford reduction (shaders/welford.wgsl). */
const source = welford + norm;

const WG = 256;
const layerNormKernel = new Kernel({ name: 'layer_norm', source, entryPoint: 'layer_norm' });
const modulateKernel = new Kernel({ name: 'modulate', source, entryPoint: 'modulate' });

/**
 * AdaLN modulation: `ada` is [G, K·C] (K chunks of C per group row g, e.g. VAR's ada_lin output
 * [G, 6C]); x [G, L, C] is scaled by 1 + chunk `scaleChunk` and shifted by chunk `shiftChunk` of row g.
 */
export interface Modulation {
  ada: Tensor;
  scaleChunk: number;
  shiftChunk: number;
}

/**
 * out = LayerNorm(x) over the last dim C, as PyTorch's F.layer_norm (population variance), times
 * `weight` and plus `bias` when given, then modulated when `modulation` is given:
 * out[g, l, c] = LN(x)[g, l, c] · (1 + ada[g, scaleChunk·C + c]) + ada[g, shiftChunk·C + c].
 *
 * @param x [..., C] f32; [G, L, C] with modulation
 * @param out f32 with as many elements as x, in its own buffer
 * @param opts.weight, opts.bias [C] f32, optional
 *
 * @example
 *   layerNorm(rec, hBLC, xBLC, { eps: 1e-6, modulation: { ada: adaB6C, scaleChunk: 1, shiftChunk: 4 } });
 */
export function layerNorm(rec: Recorder, out: Tensor, x: Tensor, opts: { eps: number; weight?: Tensor; bias?: Tensor; modulation?: Modulation }): void {
  const op = 'layerNorm';
  const { C, rows } = rowsOf(op, out, x);
  if (opts.weight) expectVector(op, 'weight', opts.weight, C);
  if (opts.bias) expectVector(op, 'bias', opts.bias, C);
  const m = opts.modulation;
  notAliased(op, out, { x, weight: opts.weight, bias: opts.bias, ada: m?.ada });
  const ada = m ? adaLayout(op, x, m) : { rows_per_ada: 1, ada_stride: 0, scale_offset: 0, shift_offset: 0 };
  if (rows === 0) return;
  rec.dispatch(layerNormKernel, {
    bindings: { out, x, weight: opts.weight ?? x, bias: opts.bias ?? x, ada: m?.ada ?? x },
    uniforms: { cols: C, rows, eps: opts.eps, ...ada },
    constants: { HAS_WEIGHT: opts.weight !== undefined, HAS_BIAS: opts.bias !== undefined, MODULATE: m !== undefined, WG: rowWorkgroupSize(rec.kernelStyle) },
    workgroups: grid(rows, 1),
  });
}

/**
 * out = x · (1 + ada[g, scaleChunk·C + c]) + ada[g, shiftChunk·C + c] for x [G, L, C]: the AdaLN
 * modulation without the norm. `out` must be a separate buffer from x and ada.
 */
export function modulate(rec: Recorder, out: Tensor, x: Tensor, modulation: Modulation): void {
  const op = 'modulate';
  expectDType(op, 'x', x, 'f32');
  expectDType(op, 'out', out, 'f32');
  sameSize(op, x, out);
  notAliased(op, out, { x, ada: modulation.ada });
  const ada = adaLayout(op, x, modulation);
  if (x.size === 0) return;
  rec.dispatch(modulateKernel, {
    bindings: { out, x, ada: modulation.ada },
    uniforms: { cols: x.shape[2], n: x.size, ...ada },
    workgroups: grid(x.size, WG),
  });
}

/** Checks x [G, L, C] against ada [G, K·C] and the chunk indices; returns the uniforms that locate them. */
function adaLayout(op: string, x: Tensor, m: Modulation) {
  if (x.shape.length !== 3) throw new Error(`${op}: with modulation x must be [G, L, C], found [${x.shape.join(', ')}]`);
  const [G, L, C] = x.shape;
  expectDType(op, 'ada', m.ada, 'f32');
  const stride = m.ada.size / G;
  if (m.ada.shape[0] !== G || !Number.isInteger(stride) || stride % C !== 0 || stride === 0) {
    throw new Error(`${op}: ada must be [G=${G}, K·C] with C=${C}, found [${m.ada.shape.join(', ')}]`);
  }
  const K = stride / C;
  for (const [name, k] of [['scaleChunk', m.scaleChunk], ['shiftChunk', m.shiftChunk]] as const) {
    if (!Number.isInteger(k) || k < 0 || k >= K) throw new Error(`${op}: ${name} must be an integer in [0, ${K}) for ada [${m.ada.shape.join(', ')}], found ${k}`);
  }
  return { rows_per_ada: Math.max(L, 1), ada_stride: stride, scale_offset: m.scaleChunk * C, shift_offset: m.shiftChunk * C };
}
