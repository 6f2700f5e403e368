/**
 * Tileable gradient noise for the world's organic patterns (marble, wood, noise). Gradients sit on an
 * integer lattice of `freq` x `freq` cells that wraps around the image, so the field is exactly
 * periodic over the image at every octave (each octave doubles an integer frequency). The gradient
 * angles can be turned by an offset that differs in sign per lattice point: the field then evolves
 * smoothly over time while staying tileable (the "flow" motion).
 */
import { hash32 } from './grammar.ts';

/** One octave's gradients: unit vectors on a freq x freq torus. */
function gradients(freq: number, seed: number, angleOffset: number): Float32Array {
  const g = new Float32Array(freq * freq * 2);
  for (let i = 0; i < freq * freq; i++) {
    const h = hash32(i, seed);
    const angle = (h / 4294967296) * 2 * Math.PI + (h & 1 ? angleOffset : -angleOffset);
    g[i * 2] = Math.cos(angle);
    g[i * 2 + 1] = Math.sin(angle);
  }
  return g;
}

const fade = (t: number) => t * t * t * (t * (t * 6 - 15) + 10);

/**
 * Fractal tileable gradient noise over a size x size image, sampled at pixel centres: octave k has
 * frequency baseFreq·2^k and weight 0.5^k. Values are roughly in [-0.7, 0.7], mean 0.
 */
export function fbmField(size: number, baseFreq: number, octaves: number, seed: number, angleOffset = 0): Float32Array {
  const out = new Float32Array(size * size);
  let amplitude = 1;
  for (let o = 0; o < octaves; o++) {
    const f = baseFreq << o;
    const g = gradients(f, hash32(seed, o), angleOffset * (o + 1));
    for (let y = 0; y < size; y++) {
      const gy = ((y + 0.5) / size) * f;
      const iy0 = Math.floor(gy);
      const ty = gy - iy0;
      const row0 = (iy0 % f) * f;
      const row1 = ((iy0 + 1) % f) * f;
      const sy = fade(ty);
      for (let x = 0; x < size; x++) {
        const gx = ((x + 0.5) / size) * f;
        const ix0 = Math.floor(gx);
        const tx = gx - ix0;
        const c0 = ix0 % f;
        const c1 = (ix0 + 1) % f;
        const n00 = g[(row0 + c0) * 2] * tx + g[(row0 + c0) * 2 + 1] * ty;
        const n10 = g[(row0 + c1) * 2] * (tx - 1) + g[(row0 + c1) * 2 + 1] * ty;
        const n01 = g[(row1 + c0) * 2] * tx + g[(row1 + c0) * 2 + 1] * (ty - 1);
        const n11 = g[(row1 + c1) * 2] * (tx - 1) + g[(row1 + c1) * 2 + 1] * (ty - 1);
        const sx = fade(tx);
        const top = n00 + (n10 - n00) * sx;
        const bottom = n01 + (n11 - n01) * sx;
        out[y * size + x] += amplitude * (top + (bottom - top) * sy);
      }
    }
    amplitude *= 0.5;
  }
  return out;
}
