/**
 * The material-map kernels: each image's principal colour axis and its colours projected on it, a
 * wrap-around Gaussian blur, and the height, normal, roughness and
 * ambient-occlusion maps built from them (runtime/generate/material.ts chains them). Every neighbourhood
 * wraps around, so each map tiles as its albedo does. One dispatch each.
 * WGSL: shaders/material-maps.wgsl. Reference: runtime/reference/material-maps.ts.
 */
import source from '../../shaders/material-maps.wgsl?raw';
import { expectShape, grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';
import { expectDType, expectRank, notAliased } from './checks.ts';

const WG = 256;
const kernels = {
  colourAxis: new Kernel({ name: 'material_colour_axis', source, entryPoint: 'colour_axis' }),
  project: new Kernel({ name: 'material_project', source, entryPoint: 'project' }),
  blur: new Kernel({ name: 'material_blur', source, entryPoint: 'blur' }),
  height: new Kernel({ name: 'material_height', source, entryPoint: 'height' }),
  normal: new Kernel({ name: 'material_normal', source, entryPoint: 'normal' }),
  roughness: new Kernel({ name: 'material_roughness', source, entryPoint: 'roughness' }),
  ao: new Kernel({ name: 'material_ao', source, entryPoint: 'ao' }),
};

/** Taps on each side of a Gaussian of `sigma` pixels over an axis of n: 3σ, at most n - 1 (one wrap). */
export function blurRadius(sigma: number, n: number): number {
  return Math.min(Math.ceil(3 * sigma), n - 1);
}

/** [B, channels, H, W] f32 of `t`, named in errors as `name`; returns [B, H, W]. */
function imageDims(op: string, name: string, t: Tensor, channels: number): [number, number, number] {
  expectDType(op, name, t, 'f32');
  expectRank(op, name, t, ['B', String(channels), 'H', 'W']);
  const [B, C, H, W] = t.shape;
  if (C !== channels || H < 1 || W < 1) throw new Error(`${op}: ${name} must be [B, ${channels}, H ≥ 1, W ≥ 1], found [${t.shape.join(', ')}]`);
  return [B, H, W];
}

/** Records a per-pixel map kernel over B·H·W pixels. */
function perPixel(rec: Recorder, kernel: Kernel, B: number, H: number, W: number, bindings: Record<string, Tensor>, gain = 0, base = 0): void {
  const n = B * H * W;
  if (n === 0) return;
  rec.dispatch(kernel, { bindings, uniforms: { n, H, W, axis: 0, radius: 0, sigma: 1, gain, base }, workgroups: grid(n, WG) });
}

/**
 * axis [B, 4] = each image's unit direction of largest colour variance (xyz; w = 0), signed so that brighter
 * is positive; the luma direction for an image without variance. One workgroup per image.
 */
export function colourAxis(rec: Recorder, axis: Tensor, image: Tensor): void {
  const [B, H, W] = imageDims('colourAxis', 'image', image, 3);
  expectShape('colourAxis: axis', axis, [B, 4]);
  notAliased('colourAxis', axis, { image });
  if (B === 0) return;
  rec.dispatch(kernels.colourAxis, { bindings: { out: axis, x: image }, uniforms: { n: B * H * W, H, W, axis: 0, radius: 0, sigma: 1, gain: 0, base: 0 }, workgroups: [B, 1, 1] });
}

/** lum [B, 2, H, W] = image [B, 3, H, W]'s colours along `axis` [B, 4], Y (channel 0), and Y² (channel 1). */
export function projectColours(rec: Recorder, lum: Tensor, image: Tensor, axis: Tensor): void {
  const [B, H, W] = imageDims('projectColours', 'image', image, 3);
  expectShape('projectColours: axis', axis, [B, 4]);
  expectShape('projectColours: lum', lum, [B, 2, H, W]);
  notAliased('projectColours', lum, { image, axis });
  perPixel(rec, kernels.project, B, H, W, { out: lum, x: image, y: axis });
}

/**
 * out = x [..., H, W] blurred along one axis ('x': along rows, 'y': along columns) by a normalised
 * Gaussian of `sigma` pixels, taps wrapping around (radius `blurRadius`). A blur both ways is two calls.
 */
export function blurCircular(rec: Recorder, out: Tensor, x: Tensor, axis: 'x' | 'y', sigma: number): void {
  const op = 'blurCircular';
  expectDType(op, 'x', x, 'f32');
  expectShape(`${op}: out`, out, x.shape);
  notAliased(op, out, { x });
  if (x.shape.length < 2) throw new Error(`${op}: x must be [..., H, W], found [${x.shape.join(', ')}]`);
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`${op}: sigma must be a positive number of pixels, found ${sigma}`);
  const [H, W] = x.shape.slice(-2);
  if (x.size === 0) return;
  const radius = blurRadius(sigma, axis === 'x' ? W : H);
  rec.dispatch(kernels.blur, {
    bindings: { out, x },
    uniforms: { n: x.size, H, W, axis: axis === 'x' ? 0 : 1, radius, sigma, gain: 0, base: 0 },
    workgroups: grid(x.size, WG),
  });
}

/** Checks local and `other` ([B, 2, H, W] each) and out ([B, 3, H, W]), and records a map kernel of the two. */
function mapOfTwo(op: string, kernel: Kernel, rec: Recorder, out: Tensor, local: Tensor, other: [string, Tensor], gain: number): void {
  const [B, H, W] = imageDims(op, 'local', local, 2);
  expectShape(`${op}: ${other[0]}`, other[1], local.shape);
  expectShape(`${op}: out`, out, [B, 3, H, W]);
  notAliased(op, out, { local, [other[0]]: other[1] });
  perPixel(rec, kernel, B, H, W, { out, x: local, y: other[1] }, gain);
}

/** out [B, 3, H, W] (grey) = clamp(0.5 + gain · (local Y − wide Y), 0, 1): the band-passed height. */
export function heightMap(rec: Recorder, out: Tensor, local: Tensor, wide: Tensor, gain: number): void {
  mapOfTwo('heightMap', kernels.height, rec, out, local, ['wide', wide], gain);
}

/**
 * out [B, 3, H, W] = the tangent-space normal of height [B, 3, H, W] (channel 0), +Y up (OpenGL, glTF,
 * three.js), encoded n · 0.5 + 0.5; `strength` scales the slope, measured per 64th of the texture.
 */
export function normalMap(rec: Recorder, out: Tensor, height: Tensor, strength: number): void {
  const [B, H, W] = imageDims('normalMap', 'height', height, 3);
  expectShape('normalMap: out', out, [B, 3, H, W]);
  notAliased('normalMap', out, { height });
  perPixel(rec, kernels.normal, B, H, W, { out, x: height }, strength);
}

/** out [B, 3, H, W] (grey) = clamp(base + gain · local standard deviation of Y, 0, 1), from local [B, 2, H, W]. */
export function roughnessMap(rec: Recorder, out: Tensor, local: Tensor, base: number, gain: number): void {
  const [B, H, W] = imageDims('roughnessMap', 'local', local, 2);
  expectShape('roughnessMap: out', out, [B, 3, H, W]);
  notAliased('roughnessMap', out, { local });
  perPixel(rec, kernels.roughness, B, H, W, { out, x: local }, gain, base);
}

/** out [B, 3, H, W] (grey) = clamp(1 − gain · max(0, mid Y − local Y), 0, 1): occlusion in the cavities. */
export function aoMap(rec: Recorder, out: Tensor, local: Tensor, mid: Tensor, gain: number): void {
  mapOfTwo('aoMap', kernels.ao, rec, out, local, ['mid', mid], gain);
}
