/**
 * The attribute checker: grades an image (a world render, or a model's lossy generation) by naming
 * its pattern, its two colours and its scale.
 *
 * Colours come from two-cluster k-means in OKLab (clusters.ts): the majority cluster is A, the other
 * B, each named by the nearest palette colour (the two names always differ), allowing for figures
 * too thin or blurred to show their pure colour. The pattern and scale come from one linear
 * discriminant (classifier.ts) over the 30 (pattern, scale) classes on the figure mask's features
 * (features.ts); the pattern's probability is the sum over its scales. The discriminant is fitted at
 * first use on the world itself: CHECKER_TRAINING_PER_CLASS images per (pattern, scale) from a fixed
 * seed, half of them degraded (box blur, noise, a 2x down-and-up resample) so that lossy generations
 * grade well. Nothing is stored: the same code on any machine fits the same model (about a second).
 */
import { type ColourName, nearestColour, srgbToOklab } from './colours.ts';
import { fitLda, predictLinear, type LinearModel } from './classifier.ts';
import { parseCaption } from './captions.ts';
import { clusterColours, toFeatureGrid } from './clusters.ts';
import { patternFeatures } from './features.ts';
import { PATTERNS, PATTERN_ROTATIONS, Rng, SCALES, hash32, sampleSpec, type Pattern, type Scale, type Split } from './grammar.ts';
import { render } from './render.ts';

/** What the checker sees in an image. */
export interface CheckResult {
  pattern: Pattern;
  /** [A, B]: the majority colour, then the other. */
  colours: [ColourName, ColourName];
  scale: Scale;
  /** Probability of the pattern (0..1) under the fitted model. */
  confidence: number;
}

/** Images per (pattern, scale) class that the checker's model is fitted on. */
export const CHECKER_TRAINING_PER_CLASS = 16;
/** Seed of the checker's training images. */
export const CHECKER_TRAINING_SEED = 7001;

let fitted: LinearModel | undefined;

/** The fitted model (fits it on first call: about a second). */
export function checkerModel(): LinearModel {
  if (!fitted) {
    const rng = new Rng(CHECKER_TRAINING_SEED);
    const rows: Float64Array[] = [];
    const labels: number[] = [];
    PATTERNS.forEach((pattern, p) =>
      SCALES.forEach((scale, s) => {
        for (let i = 0; i < CHECKER_TRAINING_PER_CLASS; i++) {
          const spec = { ...sampleSpec(rng, 'all'), pattern, scale, rotation: rng.pick(PATTERN_ROTATIONS[pattern]) };
          const size = i % 4 === 3 ? 128 : 64;
          let rgb = render(spec, size, hash32(CHECKER_TRAINING_SEED, rows.length));
          if (i % 2 === 1) rgb = degrade(rgb, size, rows.length, { blur: rng.next() < 0.7, noise: rng.range(0, 8), resample: rng.next() < 0.4 });
          rows.push(imageFeatures(rgb, size).features);
          labels.push(p * SCALES.length + s);
        }
      }),
    );
    fitted = fitLda(rows, labels, PATTERNS.length * SCALES.length);
  }
  return fitted;
}

function imageFeatures(rgb: ArrayLike<number>, size: number) {
  const clusters = clusterColours(toFeatureGrid(rgb, size));
  return { clusters, features: patternFeatures(clusters.mask) };
}

/** OKLab distance under which a colour counts as seen pure (no extrapolation). */
const PURE_DISTANCE = 0.04;

/**
 * The palette colour of `b`, allowing for a region too thin or too blurred to show its pure colour:
 * when `b` is not within PURE_DISTANCE of a palette colour, candidates are `a + s·(b - a)` for s in
 * [1, 1.8] (pixels blend along that line, so the pure colour lies at or beyond the one seen), each
 * scored by its OKLab distance to the nearest palette colour plus 0.05·(s - 1), so that only a clear
 * gain moves away from what was seen.
 */
function nameAlongRay(a: readonly number[], b: readonly number[], exclude?: ColourName): { name: ColourName; score: number } {
  let best = { name: 'gray' as ColourName, score: Infinity };
  for (let s = 1; s <= 1.8001; s += 0.05) {
    const lab = srgbToOklab(a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1]), a[2] + s * (b[2] - a[2]));
    const near = nearestColour(lab[0], lab[1], lab[2], exclude);
    const score = near.distance + 0.05 * (s - 1);
    if (score < best.score) best = { name: near.name, score };
    if (s === 1 && near.distance <= PURE_DISTANCE) break;
  }
  return best;
}

/** Names the two colours [A, B] with two different palette colours (the cheaper choice on a clash). */
function nameColours(a: readonly number[], b: readonly number[]): [ColourName, ColourName] {
  const na = nameAlongRay(b, a);
  const nb = nameAlongRay(a, b);
  if (na.name !== nb.name) return [na.name, nb.name];
  const otherB = nameAlongRay(a, b, na.name);
  const otherA = nameAlongRay(b, a, nb.name);
  return na.score + otherB.score <= otherA.score + nb.score ? [na.name, otherB.name] : [otherA.name, nb.name];
}

/**
 * Pattern, colours [A, B] and scale of an RGB (or RGBA) image of size x size.
 *
 * @example checkImage(render({ pattern: 'dots', colours: ['white', 'red'], scale: 'fine', rotation: 0 }, 64, 1), 64)
 *   // { pattern: 'dots', colours: ['white', 'red'], scale: 'fine', confidence: 0.99 }
 */
export function checkImage(rgb: ArrayLike<number>, size: number): CheckResult {
  const { clusters, features } = imageFeatures(rgb, size);
  const probs = predictLinear(checkerModel(), features);
  let best = 0;
  for (let c = 1; c < probs.length; c++) if (probs[c] > probs[best]) best = c;
  const p = Math.floor(best / SCALES.length);
  let confidence = 0;
  for (let s = 0; s < SCALES.length; s++) confidence += probs[p * SCALES.length + s];
  return { pattern: PATTERNS[p], colours: nameColours(clusters.colourA, clusters.colourB), scale: SCALES[best % SCALES.length], confidence };
}

/** How an image matches a caption: pattern, colours as a set, colours in order, scale; and what the checker saw. */
export interface CaptionMatch {
  patternOk: boolean;
  coloursOk: boolean;
  coloursOrderedOk: boolean;
  scaleOk: boolean;
  seen: CheckResult;
}

/** Grades an image against a caption (the eval of generated images). */
export function compareToCaption(rgb: ArrayLike<number>, size: number, text: string): CaptionMatch {
  const spec = parseCaption(text);
  const seen = checkImage(rgb, size);
  const [a, b] = spec.colours;
  return {
    patternOk: seen.pattern === spec.pattern,
    coloursOk: (seen.colours[0] === a && seen.colours[1] === b) || (seen.colours[0] === b && seen.colours[1] === a),
    coloursOrderedOk: seen.colours[0] === a && seen.colours[1] === b,
    scaleOk: seen.scale === spec.scale,
    seen,
  };
}

/** Degradations that stand in for a lossy generator. */
export interface Degradation {
  /** A 2x2 box blur (wrapping around). */
  blur?: boolean;
  /** Standard deviation of added Gaussian noise, in sRGB levels. */
  noise?: number;
  /** Halve the resolution by 2x2 averaging, then double it back by bilinear interpolation. */
  resample?: boolean;
}

/** A 2x2 box average of an RGB float image, wrapping around (pixel (x, y) averages x..x+1, y..y+1). */
function boxBlur(src: Float32Array, size: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < size; y++) {
    const y1 = (y + 1) % size;
    for (let x = 0; x < size; x++) {
      const x1 = (x + 1) % size;
      const a = (y * size + x) * 3;
      const b = (y * size + x1) * 3;
      const c = (y1 * size + x) * 3;
      const d = (y1 * size + x1) * 3;
      for (let k = 0; k < 3; k++) out[a + k] = (src[a + k] + src[b + k] + src[c + k] + src[d + k]) / 4;
    }
  }
  return out;
}

/** Half resolution by 2x2 averaging, then full resolution again by bilinear interpolation (wrapping). */
function downUp(src: Float32Array, size: number): Float32Array {
  const half = size / 2;
  const small = new Float32Array(half * half * 3);
  const blurred = boxBlur(src, size);
  for (let y = 0; y < half; y++)
    for (let x = 0; x < half; x++) for (let k = 0; k < 3; k++) small[(y * half + x) * 3 + k] = blurred[(2 * y * size + 2 * x) * 3 + k];
  const out = new Float32Array(src.length);
  for (let y = 0; y < size; y++) {
    const sy = (y + 0.5) / 2 - 0.5;
    const fy = Math.floor(sy);
    const ty = sy - fy;
    const r0 = ((fy + half) % half) * half;
    const r1 = ((fy + 1) % half) * half;
    for (let x = 0; x < size; x++) {
      const sx = (x + 0.5) / 2 - 0.5;
      const fx = Math.floor(sx);
      const tx = sx - fx;
      const c0 = (fx + half) % half;
      const c1 = (fx + 1) % half;
      for (let k = 0; k < 3; k++) {
        const top = small[(r0 + c0) * 3 + k] * (1 - tx) + small[(r0 + c1) * 3 + k] * tx;
        const bottom = small[(r1 + c0) * 3 + k] * (1 - tx) + small[(r1 + c1) * 3 + k] * tx;
        out[(y * size + x) * 3 + k] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return out;
}

/** A degraded copy of an RGB image (deterministic in seed): blur, then resample, then noise. */
export function degrade(rgb: ArrayLike<number>, size: number, seed: number, how: Degradation): Uint8ClampedArray {
  let img: Float32Array = Float32Array.from(rgb);
  if (img.length !== size * size * 3) throw new Error(`degrade: expected ${size}x${size} RGB (${size * size * 3} bytes); found ${img.length}`);
  if (how.blur) img = boxBlur(img, size);
  if (how.resample && size % 2 === 0) img = downUp(img, size);
  const sigma = how.noise ?? 0;
  if (sigma > 0) {
    const rng = new Rng(hash32(seed, 0x0015e));
    for (let i = 0; i < img.length; i += 2) {
      const r = sigma * Math.sqrt(-2 * Math.log(1 - rng.next()));
      const angle = 2 * Math.PI * rng.next();
      img[i] += r * Math.cos(angle);
      if (i + 1 < img.length) img[i + 1] += r * Math.sin(angle);
    }
  }
  return Uint8ClampedArray.from(img);
}

/** Accuracies of the checker on fresh world images. */
export interface CheckerReport {
  count: number;
  pattern: number;
  coloursAsSet: number;
  coloursOrdered: number;
  scale: number;
  /** Pattern accuracy per pattern. */
  perPattern: Record<string, number>;
}

/**
 * Grades `count` fresh images (seeds disjoint from the checker's training) of the split at `size`,
 * optionally degraded; reports the share right.
 */
export function evaluateChecker(options: { count: number; size: number; seed: number; split?: Split; degradation?: Degradation }): CheckerReport {
  const { count, size, seed, split = 'all', degradation } = options;
  const rng = new Rng(hash32(seed, 0xe7a1));
  const right = { pattern: 0, set: 0, ordered: 0, scale: 0 };
  const perPattern: Record<string, [number, number]> = {};
  for (let i = 0; i < count; i++) {
    const spec = sampleSpec(rng, split);
    const imageSeed = hash32(seed, i + 1) ^ 0x40000000;
    let rgb = render(spec, size, imageSeed);
    if (degradation) rgb = degrade(rgb, size, imageSeed, degradation);
    const seen = checkImage(rgb, size);
    const [a, b] = spec.colours;
    const ok = seen.pattern === spec.pattern;
    right.pattern += +ok;
    right.set += +((seen.colours[0] === a && seen.colours[1] === b) || (seen.colours[0] === b && seen.colours[1] === a));
    right.ordered += +(seen.colours[0] === a && seen.colours[1] === b);
    right.scale += +(seen.scale === spec.scale);
    const tally = (perPattern[spec.pattern] ??= [0, 0]);
    tally[0] += +ok;
    tally[1]++;
  }
  return {
    count,
    pattern: right.pattern / count,
    coloursAsSet: right.set / count,
    coloursOrdered: right.ordered / count,
    scale: right.scale / count,
    perPattern: Object.fromEntries(Object.entries(perPattern).map(([k, [r, n]]) => [k, r / n])),
  };
}
