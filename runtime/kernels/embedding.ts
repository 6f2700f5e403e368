/**
 * Table lookups: nn.Embedding's gather (class labels into condition vectors, token ids into codebook
 * vectors, row-major or as an NCHW feature map) and its inverse, the nearest-codebook search of VAR's
 * quantizer. One dispatch each; out-of-range ids are clamped in the kernel.
 * WGSL: shaders/embedding.wgsl. Reference: runtime/reference/embedding.ts.
 */
import source from '../../shaders/embedding.wgsl?raw';
import { byteSize, expectShape, grid, Kernel, rowWorkgroupSize, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, expectRank } from './checks.ts';

const WG = 256;
/** Most channels nearestCode takes (MAX_C in the WGSL: its features are staged in workgroup memory). */
export const NEAREST_CODE_MAX_CHANNELS = 1024;
const rowsKernel = new Kernel({ name: 'embedding_rows', source, entryPoint: 'embedding_rows' });
const nchwKernel = new Kernel({ name: 'embedding_nchw', source, entryPoint: 'embedding_nchw' });
const nearestKernel = new Kernel({ name: 'nearest_code', source, entryPoint: 'nearest_code' });

function expectTable(op: string, table: Tensor): [V: number, C: number] {
  expectDType(op, 'table', table, 'f32', 'f16');
  expectRank(op, 'table', table, ['V', 'C']);
  if (table.shape[0] < 1) throw new Error(`${op}: table must have at least one row, found [${table.shape.join(', ')}]`);
  return [table.shape[0], table.shape[1]];
}

/**
 * Gathers rows of `table` [V, C] (f32 or f16) by `ids` (i32, any shape, R = ids.size; ids outside
 * [0, V) are clamped).
 * - layout 'rows' (default): out [..., C] with R·C elements, out[r, c] = table[ids[r], c];
 * - layout 'nchw': ids [B, N], out [B, C, ...] with B·C·N elements, out[b, c, n] = table[ids[b, n], c]
 *   (codebook vectors laid out as a feature map, as VAR's quantizer needs).
 *
 * @example
 *   embedding(rec, condGD, classEmb, labelsG);                          // [G] → [G, D]
 *   embedding(rec, hB32x4x4, codebook, idxB16, { layout: 'nchw' });     // [B, 16] → [B, 32, 4, 4]
 */
export function embedding(rec: Recorder, out: Tensor, table: Tensor, ids: Tensor, opts: { layout?: 'rows' | 'nchw' } = {}): void {
  const op = 'embedding';
  const [V, C] = expectTable(op, table);
  expectDType(op, 'ids', ids, 'i32');
  expectDType(op, 'out', out, 'f32');
  const R = ids.size;
  const layout = opts.layout ?? 'rows';
  // The rows gathered, not the whole table: what a profiler counts as read.
  const bytes = out.byteLength + ids.byteLength + byteSize(table.dtype, out.size);
  if (layout === 'nchw') {
    expectRank(op, 'ids', ids, ['B', 'N']);
    const [B, N] = ids.shape;
    if (out.shape.length < 3 || out.shape[0] !== B || out.shape[1] !== C || out.size !== B * C * N) {
      throw new Error(`${op}: out must be [B=${B}, C=${C}, ...] with B·C·N = ${B * C * N} elements, found [${out.shape.join(', ')}]`);
    }
    if (out.size > 0) rec.dispatch(nchwKernel, { bindings: { out, ids, table }, uniforms: { n: out.size, V, C, N }, constants: { TABLE_F16: table.dtype === 'f16' }, workgroups: grid(out.size, WG), bytes });
    return;
  }
  if (layout !== 'rows') throw new Error(`${op}: layout must be 'rows' or 'nchw', found '${layout}'`);
  if (out.shape[out.shape.length - 1] !== C || out.size !== R * C) {
    throw new Error(`${op}: out must be [..., C=${C}] with R·C = ${R}·${C} elements, found [${out.shape.join(', ')}]`);
  }
  if (out.size > 0) rec.dispatch(rowsKernel, { bindings: { out, ids, table }, uniforms: { n: out.size, V, C, N: R }, constants: { TABLE_F16: table.dtype === 'f16' }, workgroups: grid(out.size, WG), bytes });
}

/**
 * outIds [B, N] (i32) = argmin_v ‖x[b, :, n] - codebook[v]‖², ties to the lowest v (as torch.argmin),
 * for x [B, C, N] or [B, C, H, W] (channel-major, N = H·W) and codebook [V, C] (f32, or f16).
 * Plain squared distance, not PyTorch VAR's ‖x‖² + ‖e‖² - 2x·e: the same codes up to rounding in
 * near-ties. C ≤ NEAREST_CODE_MAX_CHANNELS.
 *
 * @example
 *   nearestCode(rec, idxB16, zB32x16, codebook); // residual at scale 4x4 → its token ids
 */
export function nearestCode(rec: Recorder, outIds: Tensor, x: Tensor, codebook: Tensor): void {
  const op = 'nearestCode';
  const [V, C] = expectTable(op, codebook);
  expectDType(op, 'x', x, 'f32');
  expectDType(op, 'outIds', outIds, 'i32');
  if (C > NEAREST_CODE_MAX_CHANNELS) throw new Error(`${op}: at most ${NEAREST_CODE_MAX_CHANNELS} channels, found codebook [${codebook.shape.join(', ')}]`);
  if (x.shape.length < 3 || x.shape[1] !== C) throw new Error(`${op}: x must be [B, C=${C}, N] or [B, C=${C}, H, W], found [${x.shape.join(', ')}]`);
  const B = x.shape[0];
  const N = x.size / (B * C);
  expectShape(`${op}: outIds`, outIds, [B, N]);
  if (outIds.size > 0) rec.dispatch(nearestKernel, { bindings: { out_ids: outIds, x, table: codebook }, uniforms: { n: B * N, V, C, N }, constants: { TABLE_F16: codebook.dtype === 'f16', WG: rowWorkgroupSize(rec.kernelStyle) }, workgroups: grid(B * N, 1), flops: 3 * B * N * V * C });
}
