/**
 * The checker's view of an image's colours. The image is brought to a 64x64 grid of sRGB levels
 * (larger images box-averaged, others resampled bilinearly, wrapping around like the textures do);
 * two-means in OKLab (a perceptual space) on a scattered quarter of the pixels splits it into two
 * clusters; each colour is then re-estimated from its purest quarter of pixels along the axis
 * between the two, so that soft edges and blur do not pull the colours together. The majority
 * cluster is A (the background), the other B. The figure mask, each pixel's position along the
 * A -> B axis, is what the pattern features (features.ts) look at, so they do not depend on colour.
 */
import { imageToOklab } from './colours.ts';
import { Rng } from './grammar.ts';

/** Side of the grid the checker works on. */
export const FEATURE_SIZE = 64;
const N = FEATURE_SIZE;

/** The two colour clusters of an image: their purest colours (sRGB levels, A first) and the figure mask. */
export interface ColourClusters {
  colourA: [number, number, number];
  colourB: [number, number, number];
  /** Pixels of the majority cluster (A), as a share of the image. */
  shareA: number;
  /** Position of each pixel along the A -> B axis, clamped to [0, 1]: [64 x 64]. */
  mask: Float32Array;
}

/**
 * An image (RGB or RGBA bytes, size x size) as sRGB levels on the 64 x 64 grid [64 x 64 x 3]. sRGB
 * levels, not linear light, because that is where the renderer blends A into B, and where blur
 * averages them: a soft edge is a straight segment between the two colours.
 */
export function toFeatureGrid(rgb: ArrayLike<number>, size: number): Float32Array {
  const channels = rgb.length === size * size * 4 ? 4 : 3;
  if (!Number.isInteger(size) || size < 2 || rgb.length !== size * size * channels) {
    throw new Error(`checker: expected ${size}x${size} RGB (${size * size * 3} bytes) or RGBA (${size * size * 4}); found ${rgb.length} values`);
  }
  const out = new Float32Array(N * N * 3);
  const at = (x: number, y: number, c: number) => rgb[((((y % size) + size) % size) * size + (((x % size) + size) % size)) * channels + c];
  if (size % N === 0) {
    const f = size / N;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const o = (Math.floor(y / f) * N + Math.floor(x / f)) * 3;
        const i = (y * size + x) * channels;
        out[o] += rgb[i];
        out[o + 1] += rgb[i + 1];
        out[o + 2] += rgb[i + 2];
      }
    for (let i = 0; i < out.length; i++) out[i] /= f * f;
    return out;
  }
  for (let y = 0; y < N; y++) {
    const sy = ((y + 0.5) * size) / N - 0.5;
    const y0 = Math.floor(sy);
    const ty = sy - y0;
    for (let x = 0; x < N; x++) {
      const sx = ((x + 0.5) * size) / N - 0.5;
      const x0 = Math.floor(sx);
      const tx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const top = at(x0, y0, c) * (1 - tx) + at(x0 + 1, y0, c) * tx;
        const bottom = at(x0, y0 + 1, c) * (1 - tx) + at(x0 + 1, y0 + 1, c) * tx;
        out[(y * N + x) * 3 + c] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return out;
}

/** A fixed scattered quarter of the grid's pixels (scattered so that no period aliases it). */
const SAMPLE = (() => {
  const rng = new Rng(0x5a3);
  const picked = new Set<number>();
  while (picked.size < (N * N) / 4) picked.add(rng.int(N * N));
  return Uint16Array.from([...picked].sort((a, b) => a - b));
})();

/**
 * Two-means in OKLab on the sampled pixels, from a farthest-point start; returns the sRGB mean of
 * each cluster.
 */
function twoMeans(grid: Float32Array): [number[], number[]] {
  const n = SAMPLE.length;
  const picked = new Float32Array(n * 3);
  SAMPLE.forEach((p, i) => picked.set(grid.subarray(p * 3, p * 3 + 3), i * 3));
  const lab = imageToOklab(picked, n);
  const assign = new Uint8Array(n);
  let mL = 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    mL += lab[i * 3] / n;
    ma += lab[i * 3 + 1] / n;
    mb += lab[i * 3 + 2] / n;
  }
  const farthest = (L: number, a: number, b: number) => {
    let best = 0;
    let bestD = -1;
    for (let i = 0; i < n; i++) {
      const d = (lab[i * 3] - L) ** 2 + (lab[i * 3 + 1] - a) ** 2 + (lab[i * 3 + 2] - b) ** 2;
      if (d > bestD) {
        best = i;
        bestD = d;
      }
    }
    return [lab[best * 3], lab[best * 3 + 1], lab[best * 3 + 2]];
  };
  let c0 = farthest(mL, ma, mb);
  let c1 = farthest(c0[0], c0[1], c0[2]);
  for (let iter = 0; iter < 12; iter++) {
    const sum = new Float64Array(8);
    for (let i = 0; i < n; i++) {
      const L = lab[i * 3];
      const a = lab[i * 3 + 1];
      const b = lab[i * 3 + 2];
      const k = (L - c0[0]) ** 2 + (a - c0[1]) ** 2 + (b - c0[2]) ** 2 <= (L - c1[0]) ** 2 + (a - c1[1]) ** 2 + (b - c1[2]) ** 2 ? 0 : 1;
      assign[i] = k;
      sum[k * 4] += L;
      sum[k * 4 + 1] += a;
      sum[k * 4 + 2] += b;
      sum[k * 4 + 3]++;
    }
    if (sum[3] === 0 || sum[7] === 0) break;
    const next0 = [sum[0] / sum[3], sum[1] / sum[3], sum[2] / sum[3]];
    const next1 = [sum[4] / sum[7], sum[5] / sum[7], sum[6] / sum[7]];
    const moved = Math.abs(next0[0] - c0[0]) + Math.abs(next0[1] - c0[1]) + Math.abs(next0[2] - c0[2]) + Math.abs(next1[0] - c1[0]) + Math.abs(next1[1] - c1[1]) + Math.abs(next1[2] - c1[2]);
    [c0, c1] = [next0, next1];
    if (moved < 1e-6) break;
  }
  const rgb = new Float64Array(8);
  for (let i = 0; i < n; i++) {
    const k = assign[i] * 4;
    rgb[k] += picked[i * 3];
    rgb[k + 1] += picked[i * 3 + 1];
    rgb[k + 2] += picked[i * 3 + 2];
    rgb[k + 3]++;
  }
  const first = rgb[3] > 0 ? [rgb[0] / rgb[3], rgb[1] / rgb[3], rgb[2] / rgb[3]] : [0, 0, 0];
  const second = rgb[7] > 0 ? [rgb[4] / rgb[7], rgb[5] / rgb[7], rgb[6] / rgb[7]] : first;
  return [first, second];
}

/** Mean sRGB colour of the pixels whose position t lies in [lo, hi]. */
function meanBetween(grid: Float32Array, t: Float32Array, lo: number, hi: number): number[] | undefined {
  const s = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] < lo || t[i] > hi) continue;
    s[0] += grid[i * 3];
    s[1] += grid[i * 3 + 1];
    s[2] += grid[i * 3 + 2];
    count++;
  }
  return count > 0 ? [s[0] / count, s[1] / count, s[2] / count] : undefined;
}

/** Each pixel's position along the axis from a to b (sRGB), unclamped. */
function positions(grid: Float32Array, a: readonly number[], b: readonly number[], t: Float32Array = new Float32Array(grid.length / 3)): Float32Array {
  const d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const len2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] || 1e-9;
  for (let i = 0; i < t.length; i++) t[i] = ((grid[i * 3] - a[0]) * d[0] + (grid[i * 3 + 1] - a[1]) * d[1] + (grid[i * 3 + 2] - a[2]) * d[2]) / len2;
  return t;
}

/** The value below which a share q of the values in [lo, hi) lie (to 1/256 of the range). */
function quantileBetween(t: Float32Array, lo: number, hi: number, q: number): number {
  const bins = new Uint32Array(256);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < t.length; i++) {
    if (t[i] < lo || t[i] >= hi) continue;
    min = Math.min(min, t[i]);
    max = Math.max(max, t[i]);
  }
  if (!(max > min)) return Number.isFinite(min) ? min : lo;
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] < lo || t[i] >= hi) continue;
    bins[Math.min(255, Math.floor(((t[i] - min) / (max - min)) * 256))]++;
    count++;
  }
  let seen = 0;
  for (let b = 0; b < 256; b++) {
    seen += bins[b];
    if (seen >= q * count) return min + ((b + 1) / 256) * (max - min);
  }
  return max;
}

/**
 * Two colour clusters (two-means in OKLab), each colour then re-estimated in sRGB from its purest
 * quarter of pixels along the axis between the two, so that soft edges and blur do not pull the
 * colours together; the majority cluster is A.
 */
export function clusterColours(grid: Float32Array): ColourClusters {
  const n = grid.length / 3;
  const [first, second] = twoMeans(grid);
  const t = positions(grid, first, second);
  const cutLow = quantileBetween(t, -Infinity, 0.5, 0.25);
  const cutHigh = quantileBetween(t, 0.5, Infinity, 0.75);
  const a = meanBetween(grid, t, -Infinity, Math.min(cutLow, 0.5)) ?? first;
  const b = meanBetween(grid, t, Math.max(cutHigh, 0.5), Infinity) ?? second;
  positions(grid, a, b, t);
  let onB = 0;
  for (let i = 0; i < n; i++) if (t[i] > 0.5) onB++;
  const swap = onB > n / 2;
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.min(1, Math.max(0, t[i]));
    mask[i] = swap ? 1 - v : v;
  }
  const [colourA, colourB] = (swap ? [b, a] : [a, b]) as [number, number, number][];
  return { colourA, colourB, shareA: swap ? onB / n : 1 - onB / n, mask };
}
