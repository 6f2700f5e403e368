/** Rendering the world: seamless, deterministic per seed, consistent across sizes and edits; motion. */
import { describe, expect, it } from 'vitest';
import { PATTERNS, PATTERN_ROTATIONS, PALETTE, SCALES, render, renderFrame, rgbToRgba, roll, type TextureSpec } from '../../world/index.ts';

/** Mean absolute difference between column x and column x+1 (wrapping) of an RGB image. */
function columnSteps(rgb: Uint8ClampedArray, size: number): number[] {
  const steps: number[] = [];
  for (let x = 0; x < size; x++) {
    let s = 0;
    for (let y = 0; y < size; y++)
      for (let c = 0; c < 3; c++) s += Math.abs(rgb[(y * size + ((x + 1) % size)) * 3 + c] - rgb[(y * size + x) * 3 + c]);
    steps.push(s / (3 * size));
  }
  return steps;
}

/** The image with rows and columns swapped (so row steps are column steps). */
function transpose(rgb: Uint8ClampedArray, size: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(rgb.length);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) out[(x * size + y) * 3 + c] = rgb[(y * size + x) * 3 + c];
  return out;
}

/** Share of pixels nearer to colour B than to colour A. */
function figureShare(rgb: Uint8ClampedArray, spec: TextureSpec): number {
  const [a, b] = spec.colours.map((c) => PALETTE[c]);
  let n = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    const da = Math.hypot(rgb[i] - a[0], rgb[i + 1] - a[1], rgb[i + 2] - a[2]);
    const db = Math.hypot(rgb[i] - b[0], rgb[i + 1] - b[1], rgb[i + 2] - b[2]);
    if (db < da) n++;
  }
  return n / (rgb.length / 3);
}

const spec: TextureSpec = { pattern: 'waves', colours: ['white', 'blue'], scale: 'medium', rotation: 45 };

describe('world rendering', () => {
  it('is seamless: the wrap-around step at each edge is like a step inside, for every pattern, scale and rotation', () => {
    for (const pattern of PATTERNS)
      for (const rotation of PATTERN_ROTATIONS[pattern])
        for (const scale of SCALES)
          for (const size of [64, 96]) {
            const s: TextureSpec = { pattern, colours: ['black', 'yellow'], scale, rotation };
            const img = render(s, size, 17);
            for (const [axis, steps] of [['columns', columnSteps(img, size)], ['rows', columnSteps(transpose(img, size), size)]] as const) {
              const inside = Math.max(...steps.slice(0, size - 1));
              expect(steps[size - 1], `${pattern} ${scale} rotated ${rotation} at ${size}: wrap step of ${axis} vs largest inside step`).toBeLessThanOrEqual(inside + 1);
            }
          }
  });

  it('is deterministic per seed and varies between seeds', () => {
    expect(render(spec, 64, 5)).toEqual(render(spec, 64, 5));
    const a = render(spec, 64, 5);
    const b = render(spec, 64, 6);
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 8) differ++;
    expect(differ / a.length).toBeGreaterThan(0.1);
  });

  it('draws the same texture at 128 as at 64 (2x2 averages of the 128 image match the 64 image)', () => {
    for (const pattern of PATTERNS) {
      const s: TextureSpec = { ...spec, pattern, rotation: 0 };
      const small = render(s, 64, 3);
      const large = render(s, 128, 3);
      let err = 0;
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++)
          for (let c = 0; c < 3; c++) {
            const at = (dx: number, dy: number) => large[((2 * y + dy) * 128 + 2 * x + dx) * 3 + c];
            err += Math.abs((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4 - small[(y * 64 + x) * 3 + c]);
          }
      expect(err / (64 * 64 * 3), pattern).toBeLessThan(14);
    }
  });

  it('keeps the layout of an image when an edit changes its colours (same seed, same shapes)', () => {
    const src = render(spec, 64, 8);
    const dst = render({ ...spec, colours: ['red', 'blue'] }, 64, 8);
    const onB = (img: Uint8ClampedArray, i: number) => Math.abs(img[i * 3 + 2] - PALETTE.blue[2]) < Math.abs(img[i * 3] - PALETTE.blue[0]) + 40;
    let same = 0;
    for (let i = 0; i < 64 * 64; i++) if (onB(src, i) === onB(dst, i)) same++;
    expect(same / (64 * 64)).toBeGreaterThan(0.95);
  });

  it('widens RGB to opaque RGBA', () => {
    expect(Array.from(rgbToRgba(Uint8ClampedArray.of(1, 2, 3, 4, 5, 6)))).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
  });

  it('aligned draws one layout per caption: the random phase is all that moves a lattice between seeds', () => {
    const lattices = ['checker', 'stripes', 'dots', 'bricks', 'hex', 'scales'] as const;
    for (const pattern of lattices)
      for (const rotation of PATTERN_ROTATIONS[pattern])
        for (const scale of SCALES) {
          const s: TextureSpec = { pattern, colours: ['black', 'yellow'], scale, rotation };
          const mask = (img: Uint8ClampedArray) => Array.from({ length: 64 * 64 }, (_, i) => img[i * 3] > 128);
          const agree = (a: boolean[], b: boolean[]) => a.filter((x, i) => x === b[i]).length / a.length;
          const aligned = [11, 12].map((seed) => mask(render(s, 64, seed, { aligned: true })));
          expect(agree(aligned[0], aligned[1]), `${pattern} ${scale} rotated ${rotation}: aligned seeds`).toBeGreaterThan(0.85);
        }
    // The option changes the phase and nothing else: an aligned image is not the random-phase one, but its colours are.
    const dots: TextureSpec = { pattern: 'dots', colours: ['black', 'yellow'], scale: 'coarse', rotation: 0 };
    const [aligned, random] = [render(dots, 64, 11, { aligned: true }), render(dots, 64, 11)];
    expect(aligned).not.toEqual(random);
    expect(figureShare(aligned, dots)).toBeCloseTo(figureShare(random, dots), 1);
  });

  it('rejects sizes it cannot render', () => {
    expect(() => render(spec, 4, 0)).toThrow(/size must be an integer in \[8, 4096\]; found 4/);
  });
});

describe('world motion', () => {
  it('scroll shifts whole pixels around the torus; frame 0 is the still image', () => {
    const still = render(spec, 64, 2);
    expect(renderFrame(spec, { kind: 'scroll', dx: -2, dy: 1 }, 0, 64, 2)).toEqual(still);
    expect(renderFrame(spec, { kind: 'scroll', dx: -2, dy: 1 }, 5, 64, 2)).toEqual(roll(still, 64, -10, 5));
    const moved = roll(still, 64, 3, 0);
    expect(Array.from(moved.subarray(3 * 3, 3 * 3 + 3))).toEqual(Array.from(still.subarray(0, 3)));
    expect(() => renderFrame(spec, { kind: 'scroll', dx: 0.5, dy: 0 }, 1, 64, 2)).toThrow(/whole pixels/);
  });

  it('colour drift turns the hues and keeps the shapes', () => {
    const s: TextureSpec = { ...spec, colours: ['red', 'blue'] };
    expect(renderFrame(s, { kind: 'drift', degrees: 6 }, 0, 64, 2)).toEqual(render(s, 64, 2));
    const later = renderFrame(s, { kind: 'drift', degrees: 6 }, 15, 64, 2);
    const first = render(s, 64, 2);
    let changed = 0;
    for (let i = 0; i < first.length; i += 3) if (Math.abs(later[i] - first[i]) + Math.abs(later[i + 1] - first[i + 1]) + Math.abs(later[i + 2] - first[i + 2]) > 40) changed++;
    expect(changed / (64 * 64)).toBeGreaterThan(0.9);
    const steps = columnSteps(later, 64);
    expect(steps[63]).toBeLessThanOrEqual(Math.max(...steps.slice(0, 63)) + 1);
  });

  it('growth widens the figure smoothly; flow moves the pattern and stays seamless', () => {
    for (const pattern of ['stripes', 'dots', 'hex', 'noise'] as const) {
      const s: TextureSpec = { pattern, colours: ['white', 'black'], scale: 'medium', rotation: 0 };
      const shares = [0, 10, 20].map((t) => figureShare(renderFrame(s, { kind: 'grow', rate: 0.02 }, t, 64, 4), s));
      expect(shares[1], pattern).toBeGreaterThan(shares[0]);
      expect(shares[2], pattern).toBeGreaterThan(shares[1]);
    }
    for (const pattern of PATTERNS) {
      const s: TextureSpec = { pattern, colours: ['white', 'black'], scale: 'medium', rotation: 0 };
      const a = renderFrame(s, { kind: 'flow', rate: 0.05 }, 0, 64, 4);
      const b = renderFrame(s, { kind: 'flow', rate: 0.05 }, 4, 64, 4);
      expect(b, pattern).not.toEqual(a);
      expect(renderFrame(s, { kind: 'flow', rate: 0.05 }, 4, 64, 4)).toEqual(b);
      const steps = columnSteps(b, 64);
      expect(steps[63], pattern).toBeLessThanOrEqual(Math.max(...steps.slice(0, 63)) + 1);
    }
  });
});
