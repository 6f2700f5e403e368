/**
 * Swaps the last two axes: x [B, R, C] → out [B, C, R], optionally accumulating into out. Moves
 * feature maps between channel-major (NCHW) and token-major ([B, N, C]) layouts.
 * Tiles in workgroup memory in the 'workgroup' kernel style, an invocation per element in the 'direct' one.
 * WGSL: shaders/transpose.wgsl. Reference: runtime/reference/transpose.ts.
 */
import source from '../../shaders/transpose.wgsl?raw';
import { grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { sameSize } from './checks.ts';

const kernel = new Kernel({ name: 'transpose', source });
const directKernel = new Kernel({ name: 'transpose_direct', source, entryPoint: 'transpose_direct' });

/** out [B, C, R] = (out +) x [B, R, C]ᵀ; x may be 2-D (B = 1). */
export function transpose(rec: Recorder, out: Tensor, x: Tensor, opts: { accumulate?: boolean } = {}): void {
  if (x.shape.length < 2) throw new Error(`transpose: x must have at least 2 dims, found [${x.shape}]`);
  sameSize('transpose', out, x);
  const R = x.shape[x.shape.length - 2];
  const C = x.shape[x.shape.length - 1];
  const B = x.size / (R * C);
  const uniforms = { rows: R, cols: C, accumulate: opts.accumulate ? 1 : 0, count: x.size };
  if (rec.kernelStyle === 'direct') {
    rec.dispatch(directKernel, { bindings: { out, x }, uniforms, workgroups: grid(x.size, 64) });
    return;
  }
  rec.dispatch(kernel, { bindings: { out, x }, uniforms, workgroups: [Math.ceil(C / 16), Math.ceil(R / 16), B] });
}
