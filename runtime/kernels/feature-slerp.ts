/**
 * Blends two feature maps for the frames between two keyframes: lerp, or per-position slerp (the
 * direction of each position's channel vector on the great circle, its length linear), which keeps an
 * in-between map as strong as its ends instead of fading towards the middle.
 * WGSL: shaders/feature-slerp.wgsl. Reference: runtime/reference/feature-slerp.ts.
 */
import source from '../../shaders/feature-slerp.wgsl?raw';
import { grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, notAliased, sameSize } from './checks.ts';

const WG = 64;
const kernel = new Kernel({ name: 'feature_slerp', source, entryPoint: 'feature_slerp' });

/** How in-between features are made: linear, or spherical per position (see the file header). */
export type BlendMode = 'lerp' | 'slerp';

export const BLEND_MODES: readonly BlendMode[] = ['lerp', 'slerp'];

/**
 * out = blend(a, b, t) for feature maps [B, C, H, W] (or [C, H, W]); t = 0 gives a, t = 1 gives b.
 *
 * @example
 *   featureSlerp(rec, mid, fHatA, fHatB, 0.5); // the halfway map, as strong as its ends
 */
export function featureSlerp(rec: Recorder, out: Tensor, a: Tensor, b: Tensor, t: number, mode: BlendMode = 'slerp'): void {
  const op = 'featureSlerp';
  for (const [name, x] of [['out', out], ['a', a], ['b', b]] as const) expectDType(op, name, x, 'f32');
  sameSize(op, out, a, b);
  notAliased(op, out, { a, b });
  const s = out.shape;
  if (s.length !== 3 && s.length !== 4) throw new Error(`${op}: features must be [B, C, H, W] or [C, H, W], found [${s.join(', ')}]`);
  if (!(t >= 0 && t <= 1)) throw new Error(`${op}: t must be in [0, 1], found ${t}`);
  if (!BLEND_MODES.includes(mode)) throw new Error(`${op}: mode must be one of ${BLEND_MODES.join(', ')}, found '${mode as string}'`);
  const [C, H, W] = s.slice(-3);
  const count = out.size / C;
  if (count === 0) return;
  rec.dispatch(kernel, {
    bindings: { out, a, b },
    uniforms: { channels: C, positions: H * W, count, t, mode: mode === 'slerp' ? 1 : 0 },
    workgroups: grid(count, WG),
  });
}
