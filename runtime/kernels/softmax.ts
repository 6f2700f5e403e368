/**
 * Softmax over the last dim, numerically stable (the row max is subtracted), with an optional scale
 * on the logits. One workgroup per row whatever its length (1 to a 150k-token vocabulary), an online
 * max-and-sum merged in shared memory, then one write pass.
 * WGSL: shaders/softmax.wgsl. Reference: runtime/reference/softmax.ts.
 */
import source from '../../shaders/softmax.wgsl?raw';
import { grid, Kernel, rowWorkgroupSize, type Recorder, type Tensor } from '../gpu/index.ts';
import { notAliased, rowsOf } from './checks.ts';

const softmaxKernel = new Kernel({ name: 'softmax', source, entryPoint: 'softmax' });

/**
 * out = softmax(scale · x) over the last dim N, as `torch.softmax(x * scale, dim=-1)`.
 *
 * @param x [..., N] f32
 * @param out f32 with as many elements as x, in its own buffer (it may not alias x)
 * @param opts.scale multiplies the logits first (default 1), e.g. 1/√d for attention scores
 *
 * @example
 *   softmax(rec, probsBNN, scoresBNN);
 */
export function softmax(rec: Recorder, out: Tensor, x: Tensor, opts: { scale?: number } = {}): void {
  const op = 'softmax';
  const { C: N, rows } = rowsOf(op, out, x);
  notAliased(op, out, { x });
  if (rows === 0) return;
  rec.dispatch(softmaxKernel, {
    bindings: { out, x },
    uniforms: { cols: N, rows, scale: opts.scale ?? 1 },
    constants: { WG: rowWorkgroupSize(rec.kernelStyle) },
    workgroups: grid(rows, 1),
  });
}
