/**
 * GroupNorm (PyTorch's nn.GroupNorm) on NCHW feature maps, with optional per-channel affine and an
 * optional fused SiLU: the VQVAE decoder's `silu(norm(x))` in one dispatch. One workgroup per
 * (batch, group), Welford statistics merged in shared memory; four elements a step where H·W % 4 == 0.
 * WGSL: shaders/group-norm.wgsl. Reference: runtime/reference/group-norm.ts.
 */
import norm from '../../shaders/group-norm.wgsl?raw';
import welford from '../../shaders/welford.wgsl?raw';
import { grid, Kernel, rowWorkgroupSize, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, expectVector, notAliased, sameSize } from './checks.ts';

/** The norm's entry points after the shared Welford reduction (shaders/welford.wgsl). */
const source = welford + norm;

const groupNormKernel = new Kernel({ name: 'group_norm', source, entryPoint: 'group_norm' });
const vec4Kernel = new Kernel({ name: 'group_norm_vec4', source, entryPoint: 'group_norm_vec4' });

/**
 * out = GroupNorm(x) · weight + bias, then SiLU when `silu` is set, as
 * `F.silu(nn.GroupNorm(groups, C, eps)(x))` in PyTorch.
 *
 * @param x [B, C, H, W] or [B, C, N] (any [B, C, ...]) f32, with C divisible by `groups`
 * @param out f32 with as many elements as x, in its own buffer
 * @param opts.weight, opts.bias [C] f32, optional
 *
 * @example
 *   groupNorm(rec, hBChw, xBChw, { groups: 32, eps: 1e-6, weight: norm1.w, bias: norm1.b, silu: true });
 */
export function groupNorm(rec: Recorder, out: Tensor, x: Tensor, opts: { groups: number; eps: number; weight?: Tensor; bias?: Tensor; silu?: boolean }): void {
  const op = 'groupNorm';
  expectDType(op, 'x', x, 'f32');
  expectDType(op, 'out', out, 'f32');
  sameSize(op, x, out);
  if (x.shape.length < 2) throw new Error(`${op}: x must be [B, C, H, W] or [B, C, N], found [${x.shape.join(', ')}]`);
  const [B, C] = x.shape;
  const { groups } = opts;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) {
    throw new Error(`${op}: C must be divisible by groups, found C=${C} with groups=${groups} (x [${x.shape.join(', ')}])`);
  }
  if (opts.weight) expectVector(op, 'weight', opts.weight, C);
  if (opts.bias) expectVector(op, 'bias', opts.bias, C);
  notAliased(op, out, { x, weight: opts.weight, bias: opts.bias });
  if (x.size === 0) return;
  const count = B * groups;
  const spatial = x.size / (B * C);
  const vec4 = spatial % 4 === 0;
  rec.dispatch(vec4 ? vec4Kernel : groupNormKernel, {
    bindings: vec4 ? { out4: out, x4: x, weight: opts.weight ?? x, bias: opts.bias ?? x } : { out, x, weight: opts.weight ?? x, bias: opts.bias ?? x },
    uniforms: { count, groups, channels_per_group: C / groups, spatial, eps: opts.eps },
    constants: { HAS_WEIGHT: opts.weight !== undefined, HAS_BIAS: opts.bias !== undefined, SILU: opts.silu ?? false, WG: rowWorkgroupSize(rec.kernelStyle) },
    workgroups: grid(count, 1),
  });
}
