/**
 * RMSNorm over the last dim (Qwen2/LLaMA): out = x · rsqrt(mean(x²) + eps) · weight. One workgroup
 * per row, the sum of squares reduced in shared memory; in the direct style, where C % 4 == 0, one
 * invocation per row, four elements a step.
 * WGSL: shaders/rms-norm.wgsl. Reference: runtime/reference/rms-norm.ts.
 */
import source from '../../shaders/rms-norm.wgsl?raw';
import { grid, Kernel, rowWorkgroupSize, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectVector, notAliased, rowsOf } from './checks.ts';

const rmsNormKernel = new Kernel({ name: 'rms_norm', source, entryPoint: 'rms_norm' });
const rowsKernel = new Kernel({ name: 'rms_norm_rows', source, entryPoint: 'rms_norm_rows' });
/** Rows per workgroup of rms_norm_rows (its ROWS_WG). */
const ROWS_WG = 64;

/**
 * out = x · rsqrt(mean(x²) + eps) · weight, rows over the last dim C, as Qwen2RMSNorm.
 *
 * @param x [..., C] f32 (e.g. [L, C] hidden states, or [L, heads, D] for a per-head norm with weight [D])
 * @param out f32 with as many elements as x, in its own buffer
 * @param opts.weight [C] f32, optional
 *
 * @example
 *   rmsNorm(rec, hLC, xLC, { eps: 1e-6, weight: layer.inputNorm });
 */
export function rmsNorm(rec: Recorder, out: Tensor, x: Tensor, opts: { eps: number; weight?: Tensor }): void {
  const op = 'rmsNorm';
  const { C, rows } = rowsOf(op, out, x);
  if (opts.weight) expectVector(op, 'weight', opts.weight, C);
  notAliased(op, out, { x, weight: opts.weight });
  if (rows === 0) return;
  const weight = opts.weight ?? x;
  const HAS_WEIGHT = opts.weight !== undefined;
  if (rec.kernelStyle === 'direct' && C % 4 === 0) {
    rec.dispatch(rowsKernel, {
      bindings: { out4: out, x4: x, weight4: weight },
      uniforms: { cols: C, rows, eps: opts.eps },
      constants: { HAS_WEIGHT, ROWS_WG },
      workgroups: grid(rows, ROWS_WG),
    });
    return;
  }
  rec.dispatch(rmsNormKernel, {
    bindings: { out, x, weight },
    uniforms: { cols: C, rows, eps: opts.eps },
    constants: { HAS_WEIGHT, WG: rowWorkgroupSize(rec.kernelStyle) },
    workgroups: grid(rows, 1),
  });
}
