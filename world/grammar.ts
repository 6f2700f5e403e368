/**
 * The grammar of the procedural texture world: a texture is a pattern, two named colours, a scale and
 * a rotation. Every combination the grammar allows can be enumerated and sampled; a fixed tenth of the
 * (pattern, colour pair) combinations is held out of training so that the model's generalisation to
 * unseen combinations can be measured.
 *
 * Roles of the two colours: the first (A) is the background or dominant colour, the second (B) the
 * figure (stripes, dots, mortar, rims, veins, rings; the "on" squares of a checker, where both cover
 * half the image). The two are never the same.
 *
 * Rotations keep every texture exactly periodic over the image (see render.ts): checker and dots
 * allow 0 and 45 (90 would repeat 0), hex allows 0 and 90 (its lattice is not square), noise has no
 * direction and allows 0 only, every other pattern allows 0, 45 and 90.
 */
import { COLOUR_NAMES, type ColourName } from './colours.ts';

export const PATTERNS = ['checker', 'stripes', 'dots', 'bricks', 'waves', 'marble', 'wood', 'hex', 'scales', 'noise'] as const;
export type Pattern = (typeof PATTERNS)[number];

/** Scales from the smallest period to the largest. */
export const SCALES = ['fine', 'medium', 'coarse'] as const;
export type Scale = (typeof SCALES)[number];

export const ROTATIONS = [0, 45, 90] as const;
export type Rotation = (typeof ROTATIONS)[number];

/** The rotations each pattern allows (see the file's header). */
export const PATTERN_ROTATIONS: Readonly<Record<Pattern, readonly Rotation[]>> = {
  checker: [0, 45],
  stripes: [0, 45, 90],
  dots: [0, 45],
  bricks: [0, 45, 90],
  waves: [0, 45, 90],
  marble: [0, 45, 90],
  wood: [0, 45, 90],
  hex: [0, 90],
  scales: [0, 45, 90],
  noise: [0],
};

/** One texture of the world, e.g. `{ pattern: 'checker', colours: ['red', 'blue'], scale: 'fine', rotation: 45 }`. */
export interface TextureSpec {
  pattern: Pattern;
  /** [A, B]: background (dominant) colour, then figure colour; never equal. */
  colours: readonly [ColourName, ColourName];
  scale: Scale;
  rotation: Rotation;
}

export function isPattern(word: string): word is Pattern {
  return (PATTERNS as readonly string[]).includes(word);
}

export function isScale(word: string): word is Scale {
  return (SCALES as readonly string[]).includes(word);
}

/** Throws a clear error when a spec is outside the grammar; returns it otherwise. */
export function validateSpec(spec: TextureSpec): TextureSpec {
  if (!isPattern(spec.pattern)) throw new Error(`texture spec: pattern must be one of ${PATTERNS.join(', ')}; found '${spec.pattern}'`);
  const [a, b] = spec.colours ?? [];
  for (const c of [a, b]) {
    if (!(COLOUR_NAMES as readonly string[]).includes(c)) throw new Error(`texture spec: colours must be two of ${COLOUR_NAMES.join(', ')}; found '${c}'`);
  }
  if (a === b) throw new Error(`texture spec: the two colours must differ; found '${a}' twice`);
  if (!isScale(spec.scale)) throw new Error(`texture spec: scale must be one of ${SCALES.join(', ')}; found '${spec.scale}'`);
  if (!PATTERN_ROTATIONS[spec.pattern].includes(spec.rotation)) {
    throw new Error(`texture spec: ${spec.pattern} allows rotations ${PATTERN_ROTATIONS[spec.pattern].join(', ')}; found ${spec.rotation}`);
  }
  return spec;
}

/** A small seeded generator (mulberry32): the world's only source of randomness. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = hash32(seed >>> 0, 0x5eed) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** A 32-bit hash of two integers (used for per-image seeds and per-cell jitter). */
export function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Every spec of the grammar: pattern x ordered colour pair x scale x allowed rotation (9 900 in all). */
export function enumerateSpecs(): TextureSpec[] {
  const out: TextureSpec[] = [];
  for (const pattern of PATTERNS)
    for (const a of COLOUR_NAMES)
      for (const b of COLOUR_NAMES) {
        if (a === b) continue;
        for (const scale of SCALES) for (const rotation of PATTERN_ROTATIONS[pattern]) out.push({ pattern, colours: [a, b], scale, rotation });
      }
  return out;
}

/** A held-out combination: a pattern with an unordered colour pair (both orders are held out). */
export interface HeldOutCombination {
  pattern: Pattern;
  colours: readonly [ColourName, ColourName];
}

/** Seed of the shuffle that picks the held-out combinations; changing it changes the split. */
export const HELD_OUT_SEED = 2024;
/** Held-out colour pairs per pattern: 7 of the 66 unordered pairs (70 of 660 combinations, 10.6%). */
export const HELD_OUT_PER_PATTERN = 7;

function pairKey(pattern: string, a: string, b: string): string {
  return a < b ? `${pattern}:${a}:${b}` : `${pattern}:${b}:${a}`;
}

let heldOut: { list: HeldOutCombination[]; keys: Set<string> } | undefined;

/**
 * The held-out combinations, fixed: for pattern number p (in PATTERNS order), the 66 unordered pairs
 * of COLOUR_NAMES (i < j, in palette order) are shuffled by Fisher-Yates with `new Rng(HELD_OUT_SEED
 * + p)` and the first HELD_OUT_PER_PATTERN are held out. Training never produces them, in either
 * colour order, at any scale or rotation; `npm run world -- --list-heldout` prints them.
 */
export function heldOutCombinations(): readonly HeldOutCombination[] {
  if (!heldOut) {
    const list: HeldOutCombination[] = [];
    PATTERNS.forEach((pattern, p) => {
      const pairs: [ColourName, ColourName][] = [];
      for (let i = 0; i < COLOUR_NAMES.length; i++) for (let j = i + 1; j < COLOUR_NAMES.length; j++) pairs.push([COLOUR_NAMES[i], COLOUR_NAMES[j]]);
      const rng = new Rng(HELD_OUT_SEED + p);
      for (let i = pairs.length - 1; i > 0; i--) {
        const k = rng.int(i + 1);
        [pairs[i], pairs[k]] = [pairs[k], pairs[i]];
      }
      for (const colours of pairs.slice(0, HELD_OUT_PER_PATTERN)) list.push({ pattern, colours });
    });
    heldOut = { list, keys: new Set(list.map((c) => pairKey(c.pattern, c.colours[0], c.colours[1]))) };
  }
  return heldOut.list;
}

/** True when the spec's pattern and colour pair (in either order) are held out of training. */
export function isHeldOut(spec: Pick<TextureSpec, 'pattern' | 'colours'>): boolean {
  heldOutCombinations();
  return heldOut!.keys.has(pairKey(spec.pattern, spec.colours[0], spec.colours[1]));
}

/** Which part of the world to sample: training combinations, held-out ones, or any. */
export type Split = 'train' | 'heldout' | 'all';

/**
 * A uniformly random spec (pattern, ordered colour pair, scale, rotation) from the split; 'train'
 * (the default) never yields a held-out combination, 'heldout' yields only those.
 */
export function sampleSpec(rng: Rng, split: Split = 'train'): TextureSpec {
  if (split === 'heldout') {
    const combo = rng.pick(heldOutCombinations());
    const colours: [ColourName, ColourName] = rng.next() < 0.5 ? [combo.colours[0], combo.colours[1]] : [combo.colours[1], combo.colours[0]];
    return { pattern: combo.pattern, colours, scale: rng.pick(SCALES), rotation: rng.pick(PATTERN_ROTATIONS[combo.pattern]) };
  }
  for (;;) {
    const pattern = rng.pick(PATTERNS);
    const a = rng.pick(COLOUR_NAMES);
    const b = rng.pick(COLOUR_NAMES.filter((c) => c !== a));
    const spec: TextureSpec = { pattern, colours: [a, b], scale: rng.pick(SCALES), rotation: rng.pick(PATTERN_ROTATIONS[pattern]) };
    if (split === 'all' || !isHeldOut(spec)) return spec;
  }
}
