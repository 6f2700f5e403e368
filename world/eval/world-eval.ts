/**
 * How well a unified model knows the procedural texture world, measured the way a user would judge
 * it: does a generated texture show the pattern and colours its prompt asked for (graded by the
 * world's attribute checker), does a caption name what an image shows, how faithfully does the
 * tokenizer (the VQVAE) reconstruct the world's images, and how long one image takes.
 *
 * Prompts come from the world's grammar with a fixed seed; half of them are combinations held out of
 * training, counted separately. Everything runs through the same public calls as the tools.
 */
import type { Gpu } from '../../runtime/gpu/index.ts';
import { caption as captionImage, textToImage, UNIFIED_SAMPLING } from '../../runtime/generate/unified-tasks.ts';
import type { UnifiedModel } from '../../runtime/models/unified/model.ts';
import { QuantizerScratch, quantize } from '../../runtime/models/vqvae/quantizer.ts';
import { decode, encode } from '../../runtime/models/vqvae/vqvae.ts';
import { clipFrames } from '../../runtime/video/clip-frames.ts';
import { defaultKeyframeEvery, familyKeyframeSource } from '../../runtime/video/sources.ts';
import { caption, compareToCaption, gradeCaption, hash32, render, rgbToRgba, Rng, sampleClip, sampleSpec, type Split } from '../index.ts';
import { gradeClip, summarizeClips, type ClipGrade, type ClipSummary } from './clip-grade.ts';
import { seamRatio } from './seam.ts';

export interface WorldEvalOptions {
  /** Text-to-image prompts; half from held-out combinations. Default 200. */
  prompts?: number;
  /** World images to caption. Default 100. */
  captions?: number;
  /** World images for the reconstruction PSNR. Default 50. */
  reconstructions?: number;
  /** Clip prompts (a texture and a motion) played through the model's keyframe source and graded against the world's motion. Default 0. */
  clips?: number;
  /** Frames per clip. Default 6. */
  clipFrames?: number;
  seed?: number;
  /** Image sampling settings. Defaults: UNIFIED_SAMPLING (cfg 0, top-k 16, top-p 0.9), seeded per prompt. */
  cfg?: number;
  topK?: number;
  topP?: number;
  /** Top-k of the finest scale of a clip frame that continues the one before. Default: the keyframe source's (1). */
  nextFrameTopK?: number;
  /** Called after each item with a line of progress. */
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Shares in [0, 1]. */
export interface PromptScores {
  count: number;
  colours: number;
  pattern: number;
  both: number;
}

export interface WorldEvalReport {
  /**
   * `seam`: the mean seam ratio of the generated textures (world/eval/seam.ts; about 1: they tile
   * without one); `seamAtPatch`: the same against the inside's steps across patch borders, the wrap edge's phase.
   */
  generation: { seen: PromptScores; heldOut: PromptScores; all: PromptScores; msPerImage: number; seam: number; seamAtPatch: number };
  captioning: { count: number; right: number; pattern: number; colours: number; scale: number };
  /** PSNR, and the shares of reconstructions whose colours and pattern the checker still reads: what a perfect transformer could reach through this tokenizer. */
  reconstruction: { count: number; psnrDb: number; colours: number; pattern: number };
  /** With clips: how they move (world/eval/clip-grade.ts), frames per keyframe, and wall time per frame. */
  video?: ClipSummary & { byMotion: Record<string, ClipSummary>; frames: number; keyframeEvery: number; msPerFrame: number };
}

/** The targets a built-in model must reach (see the eval table); `heldOutPattern` holds for the held-out combinations alone. */
export const WORLD_TARGETS = { colours: 0.9, pattern: 0.7, heldOutPattern: 0.6, captions: 0.85, psnrDb: 26, seam: 1.1 } as const;

export async function evaluateWorld(model: UnifiedModel, opts: WorldEvalOptions = {}): Promise<WorldEvalReport> {
  const prompts = opts.prompts ?? 200;
  const captions = opts.captions ?? 100;
  const recons = opts.reconstructions ?? 50;
  const seed = opts.seed ?? 0;
  const size = model.imageSize;
  const clips = opts.clips ?? 0;
  const frames = opts.clipFrames ?? 6;
  const sampling = { cfg: opts.cfg ?? UNIFIED_SAMPLING.cfg, topK: opts.topK ?? UNIFIED_SAMPLING.topK, topP: opts.topP ?? UNIFIED_SAMPLING.topP };
  if (!Number.isInteger(frames) || frames < 2) throw new Error(`clipFrames must be a whole number >= 2, found ${frames}`);
  const total = prompts + captions + recons + clips;
  let done = 0;
  const progress = (what: string) => opts.onProgress?.(++done, total, what);

  const seen: Tally[] = [];
  const heldOut: Tally[] = [];
  let genMs = 0;
  let seam = 0;
  let seamAtPatch = 0;
  const patch = size / model.config.unified.patchNums[model.config.unified.patchNums.length - 1];
  // Each part draws its items from a stream of its own, so that a part reads the same items whatever the others' counts.
  const promptRng = new Rng(hash32(seed, 0x9e0));
  for (let i = 0; i < prompts; i++) {
    const split: Split = i % 2 === 0 ? 'train' : 'heldout';
    const prompt = caption(sampleSpec(promptRng, split));
    const started = performance.now();
    const out = await textToImage(model, prompt, { ...sampling, seed: hash32(seed, i) });
    genMs += performance.now() - started;
    seam += seamRatio(out.image, size);
    seamAtPatch += seamRatio(out.image, size, patch);
    const match = compareToCaption(planesToRgb(out.image, size), size, prompt);
    (split === 'train' ? seen : heldOut).push({ colours: match.coloursOk, pattern: match.patternOk });
    progress(`generate "${prompt}": colours ${ok(match.coloursOk)}, pattern ${ok(match.patternOk)}`);
  }

  const cap = { right: 0, pattern: 0, colours: 0, scale: 0 };
  const captionRng = new Rng(hash32(seed, 0xca9));
  for (let i = 0; i < captions; i++) {
    const spec = sampleSpec(captionRng, 'all');
    const rgb = render(spec, size, hash32(seed + 1, i));
    const { text } = await captionImage(model, { data: rgbToRgba(rgb), width: size, height: size }, { maxTokens: 24, topK: 1 });
    const { pattern, colours, scale } = gradeCaption(text, spec);
    cap.pattern += +pattern;
    cap.colours += +colours;
    cap.scale += +scale;
    cap.right += +(pattern && colours);
    progress(`caption "${caption(spec)}" → "${text}"`);
  }

  let mse = 0;
  const read: Tally[] = [];
  const reconRng = new Rng(hash32(seed, 0x2ec));
  for (let i = 0; i < recons; i++) {
    const spec = sampleSpec(reconRng, 'all');
    const rgb = render(spec, size, hash32(seed + 2, i));
    const recon = await reconstruct(model, rgb, size);
    let err = 0;
    for (let c = 0; c < 3; c++) for (let p = 0; p < size * size; p++) err += (recon[c * size * size + p] - rgb[p * 3 + c] / 255) ** 2;
    mse += err / (3 * size * size);
    const match = compareToCaption(planesToRgb(recon, size), size, caption(spec));
    read.push({ colours: match.coloursOk, pattern: match.patternOk });
    progress(`reconstruct "${caption(spec)}": colours ${ok(match.coloursOk)}, pattern ${ok(match.patternOk)}`);
  }
  const readBack = score(read);

  let video: WorldEvalReport['video'];
  if (clips > 0) {
    const keyframeEvery = defaultKeyframeEvery(model);
    const source = familyKeyframeSource(model);
    const clipRng = new Rng(hash32(seed, 0xc11b));
    const grades: ClipGrade[] = [];
    const started = performance.now();
    try {
      for (let i = 0; i < clips; i++) {
        const clip = sampleClip(clipRng, 'train');
        const rgb: Uint8ClampedArray[] = [];
        const play = { prompt: clip.text, frames, keyframeEvery, seed: hash32(seed + 3, i), ...sampling, nextFrameTopK: opts.nextFrameTopK };
        for await (const { image } of clipFrames(model.gpu, source, play)) rgb.push(planesToRgb(image, size));
        const g = gradeClip(rgb, size, clip.text);
        grades.push(g);
        progress(`clip "${clip.text}": still ${psnrText(g.stillMse)}, follow ${g.followMse === undefined ? '-' : psnrText(g.followMse)}, change ${g.change === undefined ? '- (the world\'s clip stands still)' : `${g.change.toFixed(2)}x`}`);
      }
    } finally {
      source.dispose?.();
    }
    video = { ...summarizeClips(grades), frames, keyframeEvery, msPerFrame: (performance.now() - started) / (clips * frames) };
  }

  return {
    video,
    generation: { seen: score(seen), heldOut: score(heldOut), all: score([...seen, ...heldOut]), msPerImage: prompts ? genMs / prompts : 0, seam: prompts ? seam / prompts : 0, seamAtPatch: prompts ? seamAtPatch / prompts : 0 },
    captioning: { count: captions, right: share(cap.right, captions), pattern: share(cap.pattern, captions), colours: share(cap.colours, captions), scale: share(cap.scale, captions) },
    reconstruction: { count: recons, psnrDb: recons ? 10 * Math.log10(1 / Math.max(mse / recons, 1e-12)) : 0, colours: readBack.colours, pattern: readBack.pattern },
  };
}

/** The report as a table, with each target and whether it was met; a part that measured nothing is left out. */
export function formatWorldReport(r: WorldEvalReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const db = (x: number, digits = 1) => (Number.isNaN(x) ? '-' : `${x.toFixed(digits)} dB`);
  const atLeast = (x: number, target: number, text: string) => `>= ${text} ${x >= target ? 'met' : 'MISSED'}`;
  const atMost = (x: number, target: number) => `<= ${target} ${x <= target ? 'met' : 'MISSED'}`;
  const rows: [string, string, string][] = [];
  const g = r.generation;
  if (g.all.count > 0) {
    rows.push(
      [`colours right (${g.all.count} prompts)`, pct(g.all.colours), atLeast(g.all.colours, WORLD_TARGETS.colours, pct(WORLD_TARGETS.colours))],
      [`pattern right (${g.all.count} prompts)`, pct(g.all.pattern), atLeast(g.all.pattern, WORLD_TARGETS.pattern, pct(WORLD_TARGETS.pattern))],
      [`  seen combinations: colours / pattern (${g.seen.count})`, `${pct(g.seen.colours)} / ${pct(g.seen.pattern)}`, ''],
      [`  held-out combinations: colours / pattern (${g.heldOut.count})`, `${pct(g.heldOut.colours)} / ${pct(g.heldOut.pattern)}`, `pattern ${atLeast(g.heldOut.pattern, WORLD_TARGETS.heldOutPattern, pct(WORLD_TARGETS.heldOutPattern))}`],
      ['seam of the generated textures, tiled', g.seam.toFixed(2), `${atMost(g.seam, WORLD_TARGETS.seam)} (the wrap edge's step over the inside's)`],
      ['  against the inside at the same phase (patch borders)', g.seamAtPatch.toFixed(2), atMost(g.seamAtPatch, WORLD_TARGETS.seam)],
      ['generation time per image', `${g.msPerImage.toFixed(0)} ms`, 'wall clock, this device'],
    );
  }
  const c = r.captioning;
  if (c.count > 0) {
    rows.push(
      [`captions right: pattern and colours (${c.count})`, pct(c.right), atLeast(c.right, WORLD_TARGETS.captions, pct(WORLD_TARGETS.captions))],
      ['  caption pattern / colours / scale', `${pct(c.pattern)} / ${pct(c.colours)} / ${pct(c.scale)}`, ''],
    );
  }
  const t = r.reconstruction;
  if (t.count > 0) {
    rows.push(
      [`tokenizer reconstruction PSNR (${t.count})`, `${t.psnrDb.toFixed(2)} dB`, atLeast(t.psnrDb, WORLD_TARGETS.psnrDb, `${WORLD_TARGETS.psnrDb} dB`)],
      ['  checker on the reconstructions: colours / pattern', `${pct(t.colours)} / ${pct(t.pattern)}`, 'the most a generator can show through this tokenizer'],
    );
  }
  const v = r.video;
  if (v && v.clips > 0) {
    const follows = (s: ClipSummary) => (Number.isNaN(s.followPsnr) ? 'unmeasured: no clip moves its pixels' : s.followPsnr > s.stillPsnr ? 'met' : 'MISSED');
    rows.push([`clips: follow / still PSNR (${v.clips} of ${v.frames} frames, a keyframe every ${v.keyframeEvery})`, `${db(v.followPsnr, 2)} / ${db(v.stillPsnr, 2)}`, `follow > still ${follows(v)}: moves like the world`]);
    // Per motion that acts on pixels (scroll, hue drift): the combined reading weighs each clip by its squared error.
    for (const [kind, s] of Object.entries(v.byMotion)) {
      if (!Number.isNaN(s.followPsnr)) rows.push([`  ${kind} (${s.clips})`, `${db(s.followPsnr)} / ${db(s.stillPsnr)}`, '']);
    }
    rows.push(
      ['  change between frames / the world\'s', Number.isNaN(v.change) ? '-' : `${v.change.toFixed(2)}x`, '0 frozen, 1 as the world'],
      ['  texture kept: colours / pattern', `${pct(v.colours)} / ${pct(v.pattern)}`, ''],
      ['generation time per frame', `${v.msPerFrame.toFixed(0)} ms`, 'wall clock, this device'],
    );
  }
  if (rows.length === 0) return 'nothing measured: every count is 0';
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd()).join('\n');
}

function psnrText(mse: number): string {
  return mse === 0 ? 'inf' : `${(10 * Math.log10((255 * 255) / mse)).toFixed(1)} dB`;
}

/** VQVAE encode, multi-scale quantise, decode: RGB bytes [size, size, 3] → planes [3, size, size] in [0, 1]. */
export async function reconstruct(model: UnifiedModel, rgb: ArrayLike<number>, size: number): Promise<Float32Array> {
  const gpu: Gpu = model.gpu;
  const vae = model.config.vae;
  const P = vae.vPatchNums[vae.vPatchNums.length - 1];
  const planes = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) for (let p = 0; p < size * size; p++) planes[c * size * size + p] = (rgb[p * 3 + c] / 255) * 2 - 1;
  const image = gpu.upload(planes, [1, 3, size, size]);
  const f = gpu.tensor([1, vae.zChannels, P, P]);
  const fRest = gpu.tensor(f.shape);
  const fHat = gpu.tensor(f.shape);
  const idx = vae.vPatchNums.map((pn) => gpu.tensor([1, pn * pn], 'i32'));
  const recon = gpu.tensor([1, 3, size, size]);
  const scratch = new QuantizerScratch(gpu, vae, 1);
  try {
    gpu.run('vqvae round trip', (rec) => {
      encode(rec, gpu, model.encoder, image, f);
      quantize(rec, vae, model.quantizer, scratch, f, fRest, fHat, idx);
      decode(rec, gpu, model.decoder, fHat, recon);
    });
    return (await gpu.read(recon)) as Float32Array;
  } finally {
    for (const t of [image, f, fRest, fHat, recon, ...idx]) t.dispose();
    scratch.dispose();
  }
}

/** Planes [3, size, size] in [0, 1] → RGB bytes [size, size, 3]. */
export function planesToRgb(planes: Float32Array, size: number): Uint8ClampedArray {
  const rgb = new Uint8ClampedArray(size * size * 3);
  for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(planes[c * size * size + p] * 255);
  return rgb;
}

interface Tally {
  colours: boolean;
  pattern: boolean;
}

function score(t: Tally[]): PromptScores {
  const n = t.length;
  return {
    count: n,
    colours: share(t.filter((x) => x.colours).length, n),
    pattern: share(t.filter((x) => x.pattern).length, n),
    both: share(t.filter((x) => x.colours && x.pattern).length, n),
  };
}

function share(k: number, n: number): number {
  return n ? k / n : 0;
}

function ok(b: boolean): string {
  return b ? 'ok' : 'wrong';
}
