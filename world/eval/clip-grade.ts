/**
 * How well a generated clip moves like the procedural world: frame-to-frame consistency against the
 * world's true motion. Plain TypeScript on RGB bytes, so clips from the runtime (`npm run eval --
 * --clips`) and from a PyTorch checkpoint (`npm run world -- --grade`) are graded alike.
 *
 * For a clip whose caption names a motion (`parseClipCaption`: its default speeds):
 * - follow: PSNR of frame t + 1 against frame t moved by the true motion, where the motion acts on
 *   pixels (a scroll is a wrap-around shift, a hue change turns every pixel's OKLab hue); growth and
 *   flow change the pattern itself, so they have no follow score.
 * - still: PSNR of frame t + 1 against frame t unchanged. A clip that moves as the world does scores
 *   follow above still; a frozen clip scores still at infinity; a clip of unrelated frames scores both low.
 * - change: mean absolute change between consecutive frames over the world's own clip's (1: moves as
 *   much as the world; 0: frozen; far above 1: flicker).
 * - kept: the share of frames whose pattern and colours the attribute checker still finds (the texture
 *   of the prompt, held through the motion).
 */
import { caption as textureCaption, compareToCaption, parseClipCaption, renderFrame, roll, rotateHue, type Motion } from '../index.ts';

export interface ClipGrade {
  motion: Motion['kind'];
  /** Mean squared error (0..255² scale) of frame t + 1 against the moved frame t; undefined when the motion does not act on pixels. */
  followMse?: number;
  /** Mean squared error of frame t + 1 against frame t. */
  stillMse: number;
  /** Mean |Δ| between consecutive frames over the world's clip's; undefined when the world's clip stands still. */
  change?: number;
  /** Shares of frames whose colours / pattern the checker confirms. */
  colours: number;
  pattern: number;
}

/** Frame t moved by one frame of `motion`, or undefined when the motion changes the pattern rather than moving pixels. */
export function applyMotion(rgb: Uint8ClampedArray, size: number, motion: Motion): Uint8ClampedArray | undefined {
  if (motion.kind === 'scroll') return roll(rgb, size, motion.dx, motion.dy);
  if (motion.kind !== 'drift') return undefined;
  const out = new Uint8ClampedArray(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const [r, g, b] = rotateHue([rgb[i], rgb[i + 1], rgb[i + 2]], motion.degrees);
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = b;
  }
  return out;
}

/**
 * Grades `frames` (RGB bytes [size, size, 3] each, at least 2) against the clip caption `text`; the
 * world's own clip of that caption, rendered with `seed`, sets the scale of `change`.
 */
export function gradeClip(frames: readonly Uint8ClampedArray[], size: number, text: string, seed = 0): ClipGrade {
  if (frames.length < 2) throw new Error(`gradeClip: a clip needs at least 2 frames, found ${frames.length}`);
  const bad = frames.findIndex((f) => f.length !== size * size * 3);
  if (bad >= 0) throw new Error(`gradeClip: frame ${bad} holds ${frames[bad].length} bytes, expected ${size}·${size}·3 = ${size * size * 3}`);
  const { spec, motion } = parseClipCaption(text);
  let follow = 0;
  let still = 0;
  let change = 0;
  let truth = 0;
  let previousTrue = renderFrame(spec, motion, 0, size, seed);
  for (let t = 0; t + 1 < frames.length; t++) {
    const moved = applyMotion(frames[t], size, motion);
    if (moved) follow += mse(frames[t + 1], moved);
    still += mse(frames[t + 1], frames[t]);
    change += meanAbs(frames[t + 1], frames[t]);
    const nextTrue = renderFrame(spec, motion, t + 1, size, seed);
    truth += meanAbs(nextTrue, previousTrue);
    previousTrue = nextTrue;
  }
  const pairs = frames.length - 1;
  const texture = textureCaption(spec);
  const matches = frames.map((f) => compareToCaption(f, size, texture));
  return {
    motion: motion.kind,
    followMse: applyMotion(frames[0], size, motion) ? follow / pairs : undefined,
    stillMse: still / pairs,
    change: truth > 0 ? change / truth : undefined,
    colours: matches.filter((m) => m.coloursOk).length / frames.length,
    pattern: matches.filter((m) => m.patternOk).length / frames.length,
  };
}

/** Clip grades summed up: PSNRs of the mean squared errors, means of the rest, per motion and in all. */
export interface ClipSummary {
  clips: number;
  /** PSNR (dB) of frame t + 1 against the moved frame t, over the clips whose motion acts on pixels. */
  followPsnr: number;
  /** PSNR (dB) of frame t + 1 against frame t over the same clips. */
  stillPsnr: number;
  /** Mean change over the world's, over the clips whose world clip moves (NaN when none does). */
  change: number;
  colours: number;
  pattern: number;
}

export function summarizeClips(grades: readonly ClipGrade[]): ClipSummary & { byMotion: Record<string, ClipSummary> } {
  const summary = (g: readonly ClipGrade[]): ClipSummary => {
    const moving = g.filter((x) => x.followMse !== undefined);
    const mean = (f: (x: ClipGrade) => number, of: readonly ClipGrade[] = g) => (of.length ? of.reduce((a, x) => a + f(x), 0) / of.length : NaN);
    return {
      clips: g.length,
      followPsnr: psnr(mean((x) => x.followMse!, moving)),
      stillPsnr: psnr(mean((x) => x.stillMse, moving)),
      change: mean((x) => x.change!, g.filter((x) => x.change !== undefined)),
      colours: mean((x) => x.colours),
      pattern: mean((x) => x.pattern),
    };
  };
  const byMotion: Record<string, ClipSummary> = {};
  for (const kind of [...new Set(grades.map((g) => g.motion))].sort()) byMotion[kind] = summary(grades.filter((g) => g.motion === kind));
  return { ...summary(grades), byMotion };
}

/** PSNR in dB of a mean squared error on the 0..255 scale (Infinity for 0, NaN for none). */
export function psnr(mse: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

function meanAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}
