/**
 * Resampling of NCHW feature maps as PyTorch's F.interpolate: nearest 2x upsampling (the VQVAE decoder),
 * bicubic (align_corners=False) and area (adaptive average pooling), the latter two between any sizes
 * (VAR's quantizer moving token maps between scales). One dispatch each.
 * WGSL: shaders/resize.wgsl. Reference: runtime/reference/resize.ts.
 */
import source from '../../shaders/resize.wgsl?raw';
import { expectShape, grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, expectRank } from './checks.ts';
import type { PaddingMode } from './conv2d.ts';

const WG = 256;
const nearestKernel = new Kernel({ name: 'upsample_nearest2x', source, entryPoint: 'upsample_nearest2x' });
const bicubicKernel = new Kernel({ name: 'resize_bicubic', source, entryPoint: 'resize_bicubic' });
const areaKernel = new Kernel({ name: 'resize_area', source, entryPoint: 'resize_area' });

/** Checks x [B, C, H, W] and out [B, C, Ho, Wo] (f32, same B and C) and records the kernel. */
function resize(op: string, kernel: Kernel, rec: Recorder, out: Tensor, x: Tensor, size?: (H: number, W: number) => [number, number], constants?: Record<string, boolean>): void {
  expectDType(op, 'x', x, 'f32');
  expectDType(op, 'out', out, 'f32');
  expectRank(op, 'x', x, ['B', 'C', 'H', 'W']);
  const [B, C, H, W] = x.shape;
  if (size) expectShape(`${op}: out`, out, [B, C, ...size(H, W)]);
  else if (out.shape.length !== 4 || out.shape[0] !== B || out.shape[1] !== C || out.shape[2] < 1 || out.shape[3] < 1) {
    throw new Error(`${op}: out must be [B=${B}, C=${C}, Ho ≥ 1, Wo ≥ 1], found [${out.shape.join(', ')}]`);
  }
  if (out.size === 0) return;
  if (x.size === 0) throw new Error(`${op}: cannot resample an empty x [${x.shape.join(', ')}] into out [${out.shape.join(', ')}]`);
  const [, , Ho, Wo] = out.shape;
  rec.dispatch(kernel, { bindings: { out, x }, uniforms: { n: out.size, H, W, Ho, Wo }, constants, workgroups: grid(out.size, WG) });
}

/** out [B, C, 2H, 2W] = x [B, C, H, W] with each pixel repeated 2x2 (F.interpolate(scale_factor=2, mode='nearest')). */
export function upsampleNearest2x(rec: Recorder, out: Tensor, x: Tensor): void {
  resize('upsampleNearest2x', nearestKernel, rec, out, x, (H, W) => [2 * H, 2 * W]);
}

/**
 * out [B, C, Ho, Wo] = F.interpolate(x [B, C, H, W], size=(Ho, Wo), mode='bicubic', align_corners=False):
 * a = -0.75, source coordinate (dst + 0.5)·in/out - 0.5, taps clamped to the edge; up or down. With
 * `paddingMode: 'circular'` the taps past an edge wrap around instead (x and out on the torus: the
 * same as upsampling x tiled 3x3 and keeping the middle tile).
 *
 * @example
 *   resizeBicubic(rec, hUpB32x16x16, hB32x4x4); // VAR's quantizer: a 4x4 token map to the 16x16 f_hat grid
 */
export function resizeBicubic(rec: Recorder, out: Tensor, x: Tensor, opts: { paddingMode?: PaddingMode } = {}): void {
  resize('resizeBicubic', bicubicKernel, rec, out, x, undefined, { CIRCULAR: opts.paddingMode === 'circular' });
}

/**
 * out [B, C, Ho, Wo] = F.interpolate(x [B, C, H, W], size=(Ho, Wo), mode='area'), i.e.
 * adaptive_avg_pool2d: output cell i averages input cells ⌊i·In/Out⌋ .. ⌈(i+1)·In/Out⌉ - 1 per axis.
 */
export function resizeArea(rec: Recorder, out: Tensor, x: Tensor): void {
  resize('resizeArea', areaKernel, rec, out, x);
}
