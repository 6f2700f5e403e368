/**
 * The pattern features the attribute checker classifies, measured on the figure mask of an image
 * (clusters.ts: each pixel's position between colour A and colour B on the 64x64 grid), so they do
 * not depend on the colours. PATTERN_FEATURES names them: the power spectrum's peakiness, the
 * dominant frequency and the spread of power around it by radius and by angle relative to the
 * dominant direction (rotation-invariant), harmonics, the strongest peak off the dominant
 * direction, the autocorrelation's strongest repeat and deepest trough, gradient coherence (global
 * and in 8x8 blocks), edge density, and connected components of figure and background on the torus
 * (counts per period², largest share, share that wraps around, compactness).
 */
import { FEATURE_SIZE } from './clusters.ts';
import { powerAndAutocorrelation } from './fft.ts';

const N = FEATURE_SIZE;

/** Names of the pattern features, in the order patternFeatures returns them. */
export const PATTERN_FEATURES = [
  'figure share', 'soft share',
  'top1', 'top2', 'top3', 'top4', 'top6', 'top8', 'top16', 'entropy',
  'log2 r1', 'r<0.6', 'r0.6-0.85', 'r0.85-1.2', 'r1.2-1.6', 'r1.6-2.4', 'r2.4-3.5', 'r>3.5',
  'a0', 'a90', 'a45', 'a60', 'a30',
  'harmonic2', 'harmonic3', 'second peak power', 'second peak radius', 'second peak angle',
  'ac repeat', 'ac trough',
  'coherence', 'block coherence', 'edge density',
  'log figure parts', 'log ground parts', 'largest figure part', 'largest ground part',
  'figure wraps', 'ground wraps', 'figure compactness', 'ground compactness', 'figure size spread',
] as const;

const freq = (k: number) => (k < N / 2 ? k : k - N);

/** The pattern features of a 64 x 64 mask (see PATTERN_FEATURES and the file's header). */
export function patternFeatures(mask: Float32Array): Float64Array {
  const f: number[] = [];
  let mean = 0;
  let soft = 0;
  for (let i = 0; i < mask.length; i++) {
    mean += mask[i] / mask.length;
    if (mask[i] > 0.2 && mask[i] < 0.8) soft++;
  }
  f.push(mean, soft / mask.length);
  const { power, autocorrelation } = powerAndAutocorrelation(Array.from(mask, (v) => v - mean), N);
  spectralFeatures(power, f);
  const r1 = 2 ** f[10];
  f.push(...autocorrelationFeatures(autocorrelation, r1));
  f.push(...gradientFeatures(mask, r1));
  f.push(...componentFeatures(mask, r1));
  return Float64Array.from(f);
}

/** The half-plane of frequency bins (one of each conjugate pair, Nyquist rows left out). */
const HALF_PLANE = (() => {
  const index: number[] = [];
  for (let ky = 0; ky < N; ky++)
    for (let kx = 0; kx < N; kx++) {
      const fx = freq(kx);
      const fy = freq(ky);
      if (fy < 0 || (fy === 0 && fx <= 0) || fy === -N / 2 || fx === -N / 2) continue;
      index.push(ky * N + kx);
    }
  const fx = Float64Array.from(index, (i) => freq(i % N));
  const fy = Float64Array.from(index, (i) => freq(Math.floor(i / N)));
  return {
    index: Uint16Array.from(index),
    fx,
    fy,
    radius: fx.map((x, k) => Math.hypot(x, fy[k])),
    angle: fx.map((x, k) => Math.atan2(fy[k], x)),
  };
})();

/** Distance between two directions (angles mod π), in [0, π/2]. */
function directionGap(a: number, b: number): number {
  const d = Math.abs(a - b) % Math.PI;
  return Math.min(d, Math.PI - d);
}

const SPECTRAL_COUNT = 26;
const RADIAL_EDGES = [0.6, 0.85, 1.2, 1.6, 2.4, 3.5, Infinity];
const TOPS = [1, 2, 3, 4, 6, 8, 16];

function spectralFeatures(power: Float64Array, f: number[]): void {
  const { index, radius, angle, fx, fy } = HALF_PLANE;
  const count = index.length;
  const p = new Float64Array(count);
  let total = 0;
  for (let k = 0; k < count; k++) total += p[k] = power[index[k]];
  if (total <= 1e-9) {
    for (let k = 0; k < SPECTRAL_COUNT; k++) f.push(0);
    return;
  }
  const top: number[] = [];
  for (let k = 0; k < count; k++) {
    if (top.length === 16 && p[k] <= p[top[15]]) continue;
    let at = top.length === 16 ? 15 : top.length;
    while (at > 0 && p[top[at - 1]] < p[k]) at--;
    top.splice(at, 0, k);
    if (top.length > 16) top.pop();
  }
  let cumulative = 0;
  for (let k = 0, t = 0; k < 16; k++) {
    cumulative += p[top[k]];
    if (k + 1 === TOPS[t]) {
      f.push(cumulative / total);
      t++;
    }
  }
  let entropy = 0;
  for (let k = 0; k < count; k++) if (p[k] > 0) entropy -= (p[k] / total) * Math.log(p[k] / total);
  f.push(entropy / Math.log(count));
  const peak = top[0];
  const r1 = radius[peak];
  const theta1 = angle[peak];
  f.push(Math.log2(r1));
  const radial = RADIAL_EDGES.map(() => 0);
  const angular = [0, 0, 0, 0, 0];
  const tolerance = Math.PI / 16;
  const deg = Math.PI / 180;
  let second = peak;
  for (let k = 0; k < count; k++) {
    const share = p[k] / total;
    const r = radius[k] / r1;
    let band = 0;
    while (r >= RADIAL_EDGES[band]) band++;
    radial[band] += share;
    const gap = directionGap(angle[k], theta1);
    if (gap < tolerance) angular[0] += share;
    else if (second === peak || p[k] > p[second]) second = k;
    if (Math.abs(gap - 90 * deg) < tolerance) angular[1] += share;
    if (Math.abs(gap - 45 * deg) < tolerance) angular[2] += share;
    if (Math.abs(gap - 60 * deg) < tolerance) angular[3] += share;
    if (Math.abs(gap - 30 * deg) < tolerance) angular[4] += share;
  }
  f.push(...radial, ...angular);
  const harmonic = (m: number) => {
    let best = 0;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const x = Math.round(m * fx[peak]) + dx;
        const y = Math.round(m * fy[peak]) + dy;
        if (Math.abs(x) >= N / 2 || Math.abs(y) >= N / 2) continue;
        best = Math.max(best, power[(((y % N) + N) % N) * N + (((x % N) + N) % N)]);
      }
    return best / p[peak];
  };
  f.push(harmonic(2), harmonic(3));
  f.push(p[second] / p[peak], radius[second] / r1, directionGap(angle[second], theta1) / (Math.PI / 2));
}

function autocorrelationFeatures(ac: Float64Array, r1: number): number[] {
  const zero = ac[0];
  if (zero <= 1e-9) return [0, 0];
  const minRadius = Math.max(2, (0.6 * N) / Math.max(r1, 1));
  let repeat = -1;
  let trough = 1;
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      const v = ac[y * N + x] / zero;
      trough = Math.min(trough, v);
      if (Math.hypot(freq(x), freq(y)) >= minRadius) repeat = Math.max(repeat, v);
    }
  return [repeat, trough];
}

function gradientFeatures(mask: Float32Array, r1: number): number[] {
  let jxx = 0;
  let jyy = 0;
  let jxy = 0;
  let magnitude = 0;
  const block = new Float64Array(((N / 8) * (N / 8)) * 3);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      const gx = (mask[y * N + ((x + 1) % N)] - mask[y * N + ((x + N - 1) % N)]) / 2;
      const gy = (mask[((y + 1) % N) * N + x] - mask[((y + N - 1) % N) * N + x]) / 2;
      jxx += gx * gx;
      jyy += gy * gy;
      jxy += gx * gy;
      magnitude += Math.hypot(gx, gy);
      const b = (Math.floor(y / 8) * (N / 8) + Math.floor(x / 8)) * 3;
      block[b] += gx * gx;
      block[b + 1] += gy * gy;
      block[b + 2] += gx * gy;
    }
  const coherence = (xx: number, yy: number, xy: number) => (xx + yy > 1e-9 ? Math.hypot(xx - yy, 2 * xy) / (xx + yy) : 0);
  let local = 0;
  let weight = 0;
  for (let b = 0; b < block.length; b += 3) {
    const e = block[b] + block[b + 1];
    local += coherence(block[b], block[b + 1], block[b + 2]) * e;
    weight += e;
  }
  return [coherence(jxx, jyy, jxy), weight > 0 ? local / weight : 0, magnitude / (N * Math.max(r1, 1))];
}

/** Connected parts (4-neighbour, on the torus) of mask > 0.5 (figure) and of the rest (ground). */
function componentFeatures(mask: Float32Array, r1: number): number[] {
  const label = new Int32Array(N * N).fill(-1);
  const ux = new Int32Array(N * N);
  const uy = new Int32Array(N * N);
  const queue = new Int32Array(N * N);
  const parts: { figure: boolean; area: number; perimeter: number; wraps: boolean }[] = [];
  for (let start = 0; start < N * N; start++) {
    if (label[start] >= 0) continue;
    const figure = mask[start] > 0.5;
    const id = parts.length;
    const part = { figure, area: 0, perimeter: 0, wraps: false };
    parts.push(part);
    label[start] = id;
    ux[start] = start % N;
    uy[start] = Math.floor(start / N);
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    while (head < tail) {
      const p = queue[head++];
      part.area++;
      const x = p % N;
      const y = (p - x) / N;
      for (let k = 0; k < 4; k++) {
        const dx = k === 0 ? 1 : k === 1 ? -1 : 0;
        const dy = k === 2 ? 1 : k === 3 ? -1 : 0;
        const q = ((y + dy + N) % N) * N + ((x + dx + N) % N);
        if (mask[q] > 0.5 !== figure) {
          part.perimeter++;
          continue;
        }
        const qx = ux[p] + dx;
        const qy = uy[p] + dy;
        if (label[q] < 0) {
          label[q] = id;
          ux[q] = qx;
          uy[q] = qy;
          queue[tail++] = q;
        } else if (ux[q] !== qx || uy[q] !== qy) part.wraps = true;
      }
    }
  }
  const periods = Math.max(r1, 1) ** 2;
  const summary = (figure: boolean) => {
    const own = parts.filter((p) => p.figure === figure);
    const area = own.reduce((s, p) => s + p.area, 0);
    if (area === 0) return { count: 0, largest: 0, wraps: 0, compact: 0, spread: 0 };
    const largest = Math.max(...own.map((p) => p.area)) / area;
    const wraps = own.filter((p) => p.wraps).reduce((s, p) => s + p.area, 0) / area;
    const closed = own.filter((p) => !p.wraps && p.area >= 3);
    const closedArea = closed.reduce((s, p) => s + p.area, 0);
    const compact = closedArea > 0 ? closed.reduce((s, p) => s + (16 * p.area) / (p.perimeter * p.perimeter) * p.area, 0) / closedArea : 0;
    const sizes = own.filter((p) => p.area >= 3).map((p) => p.area);
    const m = sizes.reduce((s, v) => s + v, 0) / Math.max(1, sizes.length);
    const spread = sizes.length > 1 ? Math.sqrt(sizes.reduce((s, v) => s + (v - m) ** 2, 0) / sizes.length) / m : 0;
    return { count: own.filter((p) => p.area >= 3).length, largest, wraps, compact, spread };
  };
  const fig = summary(true);
  const ground = summary(false);
  return [
    Math.log2((fig.count + 1) / periods), Math.log2((ground.count + 1) / periods), fig.largest, ground.largest,
    fig.wraps, ground.wraps, fig.compact, ground.compact, fig.spread,
  ];
}
