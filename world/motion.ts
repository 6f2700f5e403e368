/**
 * Motion for the video world: frame t of a clip is the texture of a spec under one motion. Every
 * frame stays seamless:
 * - scroll: integer pixels per frame, a wrap-around shift of the still image (np.roll);
 * - drift: both colours turn around OKLab's neutral axis by `degrees` per frame (greys stay grey);
 * - grow: the figure's width (stripe duty, dot radius, mortar, rims, veins) scales by exp(rate·t),
 *   kept within [0.5, 1.7] (the period never changes, which would break tileability);
 * - flow: the pattern's phase drifts by `rate` periods per frame along its own direction (waves
 *   travel, wood rings expand, marble and noise fields evolve). It stands in for rotation: no angle
 *   other than multiples of 45 keeps a square texture periodic.
 */
import type { TextureSpec } from './grammar.ts';
import { renderState, type RenderOptions } from './render.ts';

/** One motion of a clip (speeds per frame; scroll in pixels of the rendered size). */
export type Motion = { kind: 'scroll'; dx: number; dy: number } | { kind: 'drift'; degrees: number } | { kind: 'grow'; rate: number } | { kind: 'flow'; rate: number };

/** Frame t (0, 1, 2, ...) of a clip: RGB bytes [size, size, 3]; frame 0 is render(spec, size, seed, options). */
export function renderFrame(spec: TextureSpec, motion: Motion, t: number, size: number, seed: number, options: RenderOptions = {}): Uint8ClampedArray {
  if (!Number.isFinite(t) || t < 0) throw new Error(`renderFrame: t must be a frame number >= 0; found ${t}`);
  switch (motion.kind) {
    case 'scroll': {
      if (!Number.isInteger(motion.dx) || !Number.isInteger(motion.dy)) {
        throw new Error(`renderFrame: scroll speeds must be whole pixels per frame (seamless shifts); found dx ${motion.dx}, dy ${motion.dy}`);
      }
      const still = renderState(spec, size, seed, { growth: 1, flow: 0, hueDegrees: 0 }, options);
      return roll(still, size, Math.round(motion.dx * t), Math.round(motion.dy * t));
    }
    case 'drift':
      return renderState(spec, size, seed, { growth: 1, flow: 0, hueDegrees: motion.degrees * t }, options);
    case 'grow':
      return renderState(spec, size, seed, { growth: Math.min(1.7, Math.max(0.5, Math.exp(motion.rate * t))), flow: 0, hueDegrees: 0 }, options);
    case 'flow':
      return renderState(spec, size, seed, { growth: 1, flow: motion.rate * t, hueDegrees: 0 }, options);
    default:
      throw new Error(`renderFrame: motion kind must be scroll, drift, grow or flow; found '${(motion as { kind: string }).kind}'`);
  }
}

/** A wrap-around shift of an RGB image: the pixel at (x, y) moves to (x + dx, y + dy) mod size. */
export function roll(rgb: Uint8ClampedArray, size: number, dx: number, dy: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(rgb.length);
  const sx = ((dx % size) + size) % size;
  const sy = ((dy % size) + size) % size;
  for (let y = 0; y < size; y++) {
    const ty = (y + sy) % size;
    for (let x = 0; x < size; x++) {
      const o = (ty * size + ((x + sx) % size)) * 3;
      const i = (y * size + x) * 3;
      out[o] = rgb[i];
      out[o + 1] = rgb[i + 1];
      out[o + 2] = rgb[i + 2];
    }
  }
  return out;
}
