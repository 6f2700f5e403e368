/**
 * Renders a texture of the world: the pattern's field (patterns.ts) blends colour A into colour B,
 * then a mild shade and a per-pixel grain are applied. Everything that varies between images of one
 * caption (phase offsets, figure width, edge softness, a small colour jitter, noise seeds) is drawn
 * from the image seed alone, in a fixed order, so the same seed gives the same variation whatever the
 * spec: an edit pair rendered with one seed differs only where the instruction says.
 *
 * Output: interleaved RGB bytes [size, size, 3] (the exporter's layout); rgbToRgba widens them for
 * canvases and PNGs.
 */
import { PALETTE, rotateHue } from './colours.ts';
import { Rng, hash32, validateSpec, type TextureSpec } from './grammar.ts';
import { fillPattern, type PatternContext, type Variation } from './patterns.ts';

/** The draws of one image seed (see the file's header). */
export interface ImageVariation extends Variation {
  /** sRGB offsets added to colours A and B, within ±6. */
  jitterA: readonly [number, number, number];
  jitterB: readonly [number, number, number];
  /** Grain amplitude in sRGB levels, and its seed. */
  grain: number;
  grainSeed: number;
}

/**
 * How an image is drawn beyond its spec and seed. `aligned`: the pattern's phase is 0 (its cells,
 * rings or lattice start at the origin) instead of the seed's random phase; every other draw is the
 * seed's. A phase is only a wrap-around shift of a seamless texture, so it carries no meaning. A
 * generator trained on aligned images sees one layout per caption. training/NOTES.md measures what
 * that did for the built-in model.
 */
export interface RenderOptions {
  aligned?: boolean;
}

/** The variation drawn from an image seed (independent of the spec). */
export function variation(seed: number, { aligned = false }: RenderOptions = {}): ImageVariation {
  const rng = new Rng(hash32(seed, 0x7e27));
  const jitter = (): [number, number, number] => [rng.range(-6, 6), rng.range(-6, 6), rng.range(-6, 6)];
  const phaseU = rng.next();
  const phaseV = rng.next();
  return {
    phaseU: aligned ? 0 : phaseU,
    phaseV: aligned ? 0 : phaseV,
    weight: rng.range(0.88, 1.12),
    softness: rng.range(0.75, 1.4),
    waveRatio: rng.range(0.3, 0.55),
    waveAmplitude: rng.range(0.22, 0.34),
    noiseSeed: hash32(seed, rng.int(1 << 30)),
    jitterA: jitter(),
    jitterB: jitter(),
    grain: rng.range(1, 3),
    grainSeed: rng.int(1 << 30),
  };
}

/** Time-varying parts of a frame (motion.ts): growth factor, flow phase, hue turn in degrees. */
export interface FrameState {
  growth: number;
  flow: number;
  hueDegrees: number;
}

const STILL: FrameState = { growth: 1, flow: 0, hueDegrees: 0 };

/**
 * One texture as RGB bytes [size, size, 3]: deterministic in (spec, size, seed), seamless (every
 * row and column wraps around), and size-consistent (a 128 image is the 64 image's texture at twice
 * the resolution).
 *
 * @example render({ pattern: 'checker', colours: ['red', 'blue'], scale: 'fine', rotation: 45 }, 64, 7)
 */
export function render(spec: TextureSpec, size: number, seed: number, options: RenderOptions = {}): Uint8ClampedArray {
  return renderState(spec, size, seed, STILL, options);
}

/** render() with a frame state (used by renderFrame for motion). */
export function renderState(spec: TextureSpec, size: number, seed: number, state: FrameState, options: RenderOptions = {}): Uint8ClampedArray {
  validateSpec(spec);
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new Error(`render: size must be an integer in [8, 4096]; found ${size}`);
  const vars = variation(seed, options);
  const pixels = size * size;
  const ctx: PatternContext = {
    size,
    scale: spec.scale,
    rotation: spec.rotation,
    vars,
    weight: vars.weight * state.growth,
    flow: state.flow,
    mix: new Float32Array(pixels),
    shade: new Float32Array(pixels).fill(1),
  };
  fillPattern(spec.pattern, ctx);
  const colourOf = hueTurned(state.hueDegrees);
  const a = colourOf(PALETTE[spec.colours[0]]).map((c, k) => c + vars.jitterA[k]);
  const b = colourOf(PALETTE[spec.colours[1]]).map((c, k) => c + vars.jitterB[k]);
  const out = new Uint8ClampedArray(pixels * 3);
  const grainScale = (2 * vars.grain) / 4294967296;
  for (let i = 0; i < pixels; i++) {
    const m = ctx.mix[i];
    const s = ctx.shade[i];
    const g = hash32(i, vars.grainSeed) * grainScale - vars.grain;
    const o = i * 3;
    out[o] = (a[0] + (b[0] - a[0]) * m) * s + g;
    out[o + 1] = (a[1] + (b[1] - a[1]) * m) * s + g;
    out[o + 2] = (a[2] + (b[2] - a[2]) * m) * s + g;
  }
  return out;
}

function hueTurned(degrees: number): (rgb: readonly [number, number, number]) => readonly number[] {
  return degrees === 0 ? (rgb) => rgb : (rgb) => rotateHue(rgb, degrees);
}

/** RGB bytes [n, 3] widened to RGBA [n, 4] with opaque alpha (for canvases and PNG writers). */
export function rgbToRgba(rgb: ArrayLike<number>): Uint8ClampedArray {
  const n = rgb.length / 3;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = rgb[i * 3];
    out[i * 4 + 1] = rgb[i * 3 + 1];
    out[i * 4 + 2] = rgb[i * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}
