/**
 * The ten pattern fields. Each fills, per pixel, `mix` (0 = colour A, 1 = colour B, soft at the
 * edges: a signed distance in pixels over the anti-aliasing width) and `shade` (a brightness factor
 * near 1 for mild texture: brick-to-brick variation, bevels, wood grain).
 *
 * Exact tileability: every field is a function of frame coordinates (u, v) in pixels with an integer
 * number of cells over the frame's period L. Rotation 0 is (u, v) = (x, y), L = N; rotation 90 is
 * (y, -x), L = N; rotation 45 is ((x + y)/√2, (y - x)/√2), L = N/√2, because shifting x or y by N
 * moves (u, v) by (±L, ±L), whole cells in both directions. A pattern that alternates rows (bricks,
 * checker squares) keeps an even count, and per-cell jitter hashes cell indices modulo the count, so
 * np.roll of an image is always another image of the world. Noise fields wrap on their own lattice.
 */
import type { Pattern, Rotation, Scale } from './grammar.ts';
import { hash32 } from './grammar.ts';
import { fbmField } from './noise.ts';

/** The random draws of one image (see render.ts `variation`): phases, widths, edge softness, seeds. */
export interface Variation {
  /** Phase offsets in cells along u and v, in [0, 1). */
  phaseU: number;
  phaseV: number;
  /** Relative figure width (stripe duty, dot radius, mortar width...), about 1. */
  weight: number;
  /** Anti-aliasing width in pixels of a 64x64 image (scaled with the size). */
  softness: number;
  /** Wave cycles along a wave relative to the stripe count, and amplitude in cells. */
  waveRatio: number;
  waveAmplitude: number;
  /** Seed of the noise fields and of per-cell jitter. */
  noiseSeed: number;
}

/** What a pattern field needs: the image, the spec's scale and rotation, the draws, the motion state. */
export interface PatternContext {
  size: number;
  scale: Scale;
  rotation: Rotation;
  vars: Variation;
  /** Figure width factor (vars.weight times the growth motion). */
  weight: number;
  /** Phase drift in periods (the flow motion), 0 for a still image. */
  flow: number;
  mix: Float32Array;
  shade: Float32Array;
}

/**
 * Periods across the image at rotation 0, per pattern and scale (cells for dots and scales, stripe
 * pairs for stripes and waves, square pairs for checker, rows for bricks, veins for marble, rings
 * per half period for wood, base lattice frequency for noise).
 */
const PERIODS: Readonly<Record<Exclude<Pattern, 'hex'>, Readonly<Record<Scale, number>>>> = {
  checker: { fine: 8, medium: 4, coarse: 2 },
  stripes: { fine: 8, medium: 4, coarse: 2 },
  dots: { fine: 8, medium: 4, coarse: 2 },
  bricks: { fine: 12, medium: 8, coarse: 4 },
  waves: { fine: 8, medium: 4, coarse: 2 },
  marble: { fine: 6, medium: 4, coarse: 2 },
  wood: { fine: 8, medium: 5, coarse: 3 },
  scales: { fine: 8, medium: 5, coarse: 3 },
  noise: { fine: 8, medium: 4, coarse: 2 },
};

/** Hex tiles: [columns, rows of two-tile rectangles] (a regular hexagon's rectangle is 1 x √3). */
const HEX_COUNTS: Readonly<Record<Scale, readonly [number, number]>> = { fine: [9, 5], medium: [5, 3], coarse: [3, 2] };

interface Frame {
  ux: number;
  uy: number;
  vx: number;
  vy: number;
  /** The frame's period L in pixels. */
  period: number;
}

function frameOf(rotation: Rotation, size: number): Frame {
  if (rotation === 0) return { ux: 1, uy: 0, vx: 0, vy: 1, period: size };
  if (rotation === 90) return { ux: 0, uy: 1, vx: -1, vy: 0, period: size };
  const r = Math.SQRT1_2;
  return { ux: r, uy: r, vx: -r, vy: r, period: size * r };
}

/** Cells over the frame's period: the rotation-0 count, or about 1/√2 of it at 45 (cells keep their size). */
function cellsOf(count: number, rotation: Rotation, even = false): number {
  if (rotation !== 45) return count;
  return even ? 2 * Math.ceil(count / 2 / Math.SQRT2) : Math.ceil(count / Math.SQRT2);
}

const frac = (x: number) => x - Math.floor(x);
const saturate = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);
const mod = (i: number, n: number) => ((i % n) + n) % n;
/** Uniform in [-1, 1) from cell indices (jitter that repeats with the pattern). */
const jitter = (i: number, j: number, seed: number) => (hash32(i * 7919 + j, seed) / 2147483648) - 1;

/** Calls `fn(u, v, index)` for the centre of every pixel in frame coordinates. */
function eachPixel(ctx: PatternContext, frame: Frame, fn: (u: number, v: number, i: number) => void): void {
  const n = ctx.size;
  for (let y = 0; y < n; y++) {
    const py = y + 0.5;
    for (let x = 0; x < n; x++) {
      const px = x + 0.5;
      fn(frame.ux * px + frame.uy * py, frame.vx * px + frame.vy * py, y * n + x);
    }
  }
}

const aaOf = (ctx: PatternContext) => (ctx.vars.softness * ctx.size) / 64;

function stripes(ctx: PatternContext, wavy: boolean): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const n = cellsOf(PERIODS[wavy ? 'waves' : 'stripes'][ctx.scale], ctx.rotation);
  const c = frame.period / n;
  const aa = aaOf(ctx);
  const duty = Math.min(0.8, 0.38 * ctx.weight);
  const cycles = wavy ? Math.max(1, Math.round(n * ctx.vars.waveRatio)) : 0;
  const amp = wavy ? ctx.vars.waveAmplitude : 0;
  const k = (2 * Math.PI * cycles) / frame.period;
  const phase = ctx.vars.phaseV + (wavy ? 0 : ctx.flow);
  const wavePhase = 2 * Math.PI * (ctx.vars.phaseU + (wavy ? ctx.flow : 0));
  eachPixel(ctx, frame, (u, v, i) => {
    const t = v / c + phase + amp * Math.sin(k * u + wavePhase);
    const gradient = Math.hypot(1 / c, amp * k * Math.cos(k * u + wavePhase));
    const d = Math.abs(frac(t) - 0.5);
    ctx.mix[i] = saturate(0.5 + (duty / 2 - d) / gradient / aa);
  });
}

function checker(ctx: PatternContext): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const cells = 2 * cellsOf(PERIODS.checker[ctx.scale], ctx.rotation);
  const c = frame.period / cells;
  const aa = aaOf(ctx);
  const pu = 2 * (ctx.vars.phaseU + ctx.flow);
  const pv = 2 * ctx.vars.phaseV;
  eachPixel(ctx, frame, (u, v, i) => {
    const su = u / c + pu;
    const sv = v / c + pv;
    const iu = Math.floor(su);
    const iv = Math.floor(sv);
    const fu = su - iu;
    const fv = sv - iv;
    const edge = Math.min(fu, 1 - fu, fv, 1 - fv) * c;
    ctx.mix[i] = saturate(0.5 + ((iu + iv) & 1 ? edge : -edge) / aa);
  });
}

function dots(ctx: PatternContext): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const n = cellsOf(PERIODS.dots[ctx.scale], ctx.rotation);
  const c = frame.period / n;
  const aa = aaOf(ctx);
  const radius = Math.min(0.48, 0.3 * Math.sqrt(ctx.weight)) * c;
  const seed = ctx.vars.noiseSeed;
  eachPixel(ctx, frame, (u, v, i) => {
    const su = u / c + ctx.vars.phaseU + ctx.flow;
    const sv = v / c + ctx.vars.phaseV;
    const iu = Math.floor(su);
    const iv = Math.floor(sv);
    const r = radius * (1 + 0.07 * jitter(mod(iu, n), mod(iv, n), seed));
    const dist = Math.hypot(su - iu - 0.5, sv - iv - 0.5) * c;
    ctx.mix[i] = saturate(0.5 + (r - dist) / aa);
    ctx.shade[i] = 1 + 0.08 * Math.max(0, 1 - dist / r);
  });
}

function bricks(ctx: PatternContext): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const rows = cellsOf(PERIODS.bricks[ctx.scale], ctx.rotation, true);
  const h = frame.period / rows;
  const aa = aaOf(ctx);
  const mortar = Math.max(0.7 * (ctx.size / 64), 0.1 * h) * ctx.weight;
  const seed = ctx.vars.noiseSeed;
  eachPixel(ctx, frame, (u, v, i) => {
    const sv = v / h + 2 * ctx.vars.phaseV;
    const iv = Math.floor(sv);
    const su = u / (2 * h) + ctx.vars.phaseU + ctx.flow + (iv & 1 ? 0.5 : 0);
    const iu = Math.floor(su);
    const fu = su - iu;
    const fv = sv - iv;
    const edge = Math.min(Math.min(fu, 1 - fu) * 2 * h, Math.min(fv, 1 - fv) * h);
    ctx.mix[i] = saturate(0.5 + (mortar - edge) / aa);
    ctx.shade[i] = 1 + 0.07 * jitter(mod(iu, rows / 2), mod(iv, rows), seed) - 0.05 * saturate(1 - edge / (0.35 * h));
  });
}

function hex(ctx: PatternContext): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const [cols, rows] = HEX_COUNTS[ctx.scale];
  const w = frame.period / cols;
  const yScale = (Math.sqrt(3) * rows) / frame.period;
  const aa = aaOf(ctx);
  const grout = Math.max(0.6 * (ctx.size / 64), 0.06 * w) * ctx.weight;
  const seed = ctx.vars.noiseSeed;
  const rh = Math.sqrt(3);
  eachPixel(ctx, frame, (u, v, i) => {
    const x = u / w + ctx.vars.phaseU + ctx.flow;
    const y = v * yScale + rh * ctx.vars.phaseV;
    const ax = x - Math.floor(x) - 0.5;
    const ay = y - rh * Math.floor(y / rh) - rh / 2;
    const bx = frac(x - 0.5) - 0.5;
    const by = y - rh / 2 - rh * Math.floor((y - rh / 2) / rh) - rh / 2;
    const useA = ax * ax + ay * ay < bx * bx + by * by;
    const gx = Math.abs(useA ? ax : bx);
    const gy = Math.abs(useA ? ay : by);
    const hd = Math.max(gx, 0.5 * gx + (rh / 2) * gy);
    const tileX = useA ? Math.floor(x) : Math.floor(x - 0.5);
    const tileY = useA ? Math.floor(y / rh) : Math.floor((y - rh / 2) / rh);
    const edge = (0.5 - hd) * w;
    ctx.mix[i] = saturate(0.5 + (grout - edge) / aa);
    ctx.shade[i] = 1 + 0.06 * jitter(mod(tileX, cols) * 2 + (useA ? 0 : 1), mod(tileY, rows), seed) - 0.08 * hd * hd;
  });
}

function scales(ctx: PatternContext): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const n = cellsOf(PERIODS.scales[ctx.scale], ctx.rotation);
  const c = frame.period / n;
  const r = c / 2;
  const aa = aaOf(ctx);
  const rim = Math.min(0.4, 0.2 * ctx.weight) * r;
  const circle = (su: number, sv: number, j: number) => {
    const offset = j & 1 ? 0.5 : 0;
    const dx = (su - offset - Math.round(su - offset)) * c;
    const dy = (sv - j) * r;
    return { dist: Math.hypot(dx, dy), dy };
  };
  eachPixel(ctx, frame, (u, v, i) => {
    const su = u / c + ctx.vars.phaseU;
    const sv = v / r + 2 * (ctx.vars.phaseV + ctx.flow);
    const j = Math.floor(sv);
    const top = circle(su, sv, j + 1);
    const under = circle(su, sv, j);
    const cover = saturate(0.5 + (r - top.dist) / aa);
    const rimTop = saturate(0.5 + (top.dist - (r - rim)) / aa);
    const rimUnder = saturate(0.5 + (under.dist - (r - rim)) / aa);
    ctx.mix[i] = cover * rimTop + (1 - cover) * rimUnder;
    const dy = cover > 0.5 ? top.dy : under.dy;
    ctx.shade[i] = 1.03 + 0.07 * (dy / r);
  });
}

function wood(ctx: PatternContext): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const L = frame.period;
  const spacing = L / 2 / PERIODS.wood[ctx.scale];
  const aa = aaOf(ctx);
  const band = Math.min(0.8, 0.34 * ctx.weight);
  const warp = fbmField(ctx.size, 2, 2, ctx.vars.noiseSeed);
  const grain = fbmField(ctx.size, 8, 1, ctx.vars.noiseSeed + 1);
  const cu = ctx.vars.phaseU * L;
  const cv = ctx.vars.phaseV * L;
  const wrap = (d: number) => d - L * Math.round(d / L);
  eachPixel(ctx, frame, (u, v, i) => {
    const r = Math.hypot(wrap(u - cu) / 2.2, wrap(v - cv));
    const t = r / spacing + 0.9 * warp[i] - ctx.flow;
    const f = frac(t);
    const d = Math.abs(f - 0.5);
    ctx.mix[i] = saturate(0.5 + ((band / 2 - d) * spacing) / aa);
    ctx.shade[i] = 0.97 + 0.08 * f + 0.05 * grain[i];
  });
}

function marble(ctx: PatternContext): void {
  const frame = frameOf(ctx.rotation, ctx.size);
  const n = cellsOf(PERIODS.marble[ctx.scale], ctx.rotation);
  const c = frame.period / n;
  const aa = aaOf(ctx);
  const turbulence = fbmField(ctx.size, 2, 3, ctx.vars.noiseSeed, ctx.flow);
  const cloud = fbmField(ctx.size, 4, 2, ctx.vars.noiseSeed + 7);
  const swing = (0.22 * ctx.size) / c;
  const width = Math.max((2.2 * ctx.size) / 64 / c, 0.13) * ctx.weight;
  eachPixel(ctx, frame, (_u, v, i) => {
    const q = v / c + ctx.vars.phaseV + swing * turbulence[i];
    const d = Math.abs(frac(q) - 0.5);
    ctx.mix[i] = saturate(0.5 + ((width / 2 - d) * c) / 1.6 / aa);
    ctx.shade[i] = 1 + 0.07 * cloud[i];
  });
}

function noise(ctx: PatternContext): void {
  const base = PERIODS.noise[ctx.scale];
  const field = fbmField(ctx.size, base, 3, ctx.vars.noiseSeed, ctx.flow);
  const threshold = 0.08 - 0.1 * (ctx.weight - 1);
  const edge = 0.05;
  for (let i = 0; i < field.length; i++) {
    const t = saturate((field[i] - threshold + edge) / (2 * edge));
    ctx.mix[i] = t * t * (3 - 2 * t);
    ctx.shade[i] = 1 + 0.08 * field[i];
  }
}

/** Fills ctx.mix and ctx.shade with the pattern's field. */
export function fillPattern(pattern: Pattern, ctx: PatternContext): void {
  switch (pattern) {
    case 'checker':
      return checker(ctx);
    case 'stripes':
      return stripes(ctx, false);
    case 'waves':
      return stripes(ctx, true);
    case 'dots':
      return dots(ctx);
    case 'bricks':
      return bricks(ctx);
    case 'hex':
      return hex(ctx);
    case 'scales':
      return scales(ctx);
    case 'wood':
      return wood(ctx);
    case 'marble':
      return marble(ctx);
    case 'noise':
      return noise(ctx);
  }
}
