/**
 * npm run bench -- --video: video playback measured three ways.
 *
 * 1. Generation: a clip made along the feature path as fast as the GPU goes: frames per second (wall
 *    clock, noisy on a shared machine), dispatches per frame, and the decodes' share of the work
 *    (of GPU time where timestamps exist, of dispatches always).
 * 2. Consistency: mean absolute difference between consecutive frames against that between
 *    consecutive keyframes (a smooth path: about 1/N), and the detail of the frames halfway between
 *    keyframes against the keyframes' (1: in-betweens as sharp as keyframes; below: washed out), for
 *    slerp and lerp blends; and in feature space, the halfway blend's length against the keyframes'.
 * 3. Smoothness: the engine plays the clip at a given budget under a simulated 60 Hz clock, with unit
 *    costs frozen (calibrated here, or given with --video-costs), so the count of stalls per minute
 *    depends only on the budget, the costs and the clip: a counts-based measure, not a timing.
 */
import type { Gpu, Tensor } from '../gpu/index.ts';
import { addModel, addVideo, createEngine, disposeEngine, getVideoStatus, observeCost, runFrame } from '../ecs/index.ts';
import { SAMPLING_DEFAULTS } from '../generate/sampling.ts';
import type { StepKind } from '../generate/steps.ts';
import { featureSlerp, type BlendMode } from '../kernels/feature-slerp.ts';
import type { AnyModel } from '../models/load.ts';
import { FeaturePath } from '../video/feature-path.ts';
import type { KeyframeSettings } from '../video/keyframes.ts';
import type { Timeline } from '../video/timeline.ts';
import { familyKeyframeSource } from '../video/sources.ts';

/** The bench's video flags (merged into bench.ts's options). */
export const VIDEO_OPTIONS = {
  video: { type: 'boolean' },
  frames: { type: 'string' },
  'keyframe-every': { type: 'string' },
  'video-fps': { type: 'string', default: '12' },
  'video-budget': { type: 'string', default: '8' },
  'video-seconds': { type: 'string' },
  'video-costs': { type: 'string' },
} as const;

export interface VideoBenchOptions {
  frames: number;
  keyframeEvery: number;
  fps: number;
  budgetMs: number;
  seconds: number;
  /** Frozen unit costs in ms by kind (calibrated when missing). */
  costs?: Partial<Record<StepKind, number>>;
}

type Values = { [K in keyof typeof VIDEO_OPTIONS]?: K extends 'video' ? boolean : string };

/**
 * The options from the command line, with defaults sized for the adapter (small on a software one);
 * `modelEvery` is the frames per keyframe that suit the model (1: it plays frame by frame).
 */
export function videoOptions(values: Values, real: boolean, modelEvery = 8): VideoBenchOptions {
  const num = (flag: string, raw: string | undefined, fallback: number) => {
    const v = raw === undefined ? fallback : Number(raw);
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`--${flag} must be a positive number, found '${raw}'`);
    return v;
  };
  const costs: Partial<Record<StepKind, number>> = {};
  for (const pair of values['video-costs']?.split(',') ?? []) {
    const [kind, ms] = pair.split('=');
    if (!['condition', 'blocks', 'sample', 'decode'].includes(kind) || !(Number(ms) >= 0)) {
      throw new Error(`--video-costs must be kind=ms pairs (kinds: condition, blocks, sample, decode), found '${pair}'`);
    }
    costs[kind as StepKind] = Number(ms);
  }
  return {
    frames: num('frames', values.frames, real ? 48 : 8),
    keyframeEvery: num('keyframe-every', values['keyframe-every'], modelEvery === 1 ? 1 : real ? 8 : 4),
    fps: num('video-fps', values['video-fps'], 12),
    budgetMs: num('video-budget', values['video-budget'], 8),
    seconds: num('video-seconds', values['video-seconds'], real ? 60 : 1),
    costs: values['video-costs'] ? costs : undefined,
  };
}

interface Clip {
  wallMs: number;
  units: { kind: StepKind; dispatches: number; gpuMs?: number }[];
  /** Each frame's image [3, H, W] in [0, 1]. */
  images: Float32Array[];
}

/** Makes every frame of the clip, submitting without waiting, then reads the frames back. */
async function makeClip(gpu: Gpu, model: AnyModel, tl: Timeline, settings: KeyframeSettings, blend: BlendMode): Promise<Clip> {
  const source = familyKeyframeSource(model);
  const path = new FeaturePath(source, { timeline: tl, settings, slots: 3, blend });
  const pending: { kind: StepKind; dispatches: number; done: Promise<{ ms?: number }[]> }[] = [];
  const copies: Tensor[] = [];
  const t0 = performance.now();
  for (let f = 0; f < tl.frames; f++) {
    path.setWindow(f, 1, 1);
    for (let k = path.keyframeToStep(f); k >= 0; k = path.keyframeToStep(f)) {
      const info = path.stepKeyframe(k, true);
      pending.push({ kind: info.kind, dispatches: info.dispatches, done: info.gpuDone });
    }
    const rec = gpu.recorder('bench frame', true);
    rec.section(`frame ${f}`);
    path.recordFrame(rec, f);
    const copy = gpu.tensor(path.image.shape, 'f32', 'bench frame copy');
    rec.copy(path.image.buffer, 0, copy.buffer, 0, path.image.byteLength);
    copies.push(copy);
    const sub = rec.submit();
    rec.dispose();
    pending.push({ kind: 'decode', dispatches: sub.dispatches, done: sub.done });
  }
  const timings = await Promise.all(pending.map((p) => p.done));
  const wallMs = performance.now() - t0;
  const images = await Promise.all(copies.map(async (t) => (await gpu.read(t)) as Float32Array));
  for (const t of copies) t.dispose();
  path.dispose();
  source.dispose?.();
  const units = pending.map((p, i) => ({
    kind: p.kind,
    dispatches: p.dispatches,
    gpuMs: timings[i].every((s) => s.ms !== undefined) ? timings[i].reduce((a, s) => a + (s.ms ?? 0), 0) : undefined,
  }));
  return { wallMs, units, images };
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return (255 * s) / a.length;
}

/** Mean absolute difference between horizontally adjacent pixels: how much fine detail an image has. */
function detail(image: Float32Array, size: number): number {
  let s = 0;
  for (let row = 0; row < image.length / size; row++) for (let x = 1; x < size; x++) s += Math.abs(image[row * size + x] - image[row * size + x - 1]);
  return (255 * s) / ((image.length / size) * (size - 1));
}

/** Consecutive-frame change against keyframe-to-keyframe change, and halfway detail against keyframe detail. */
function consistency(images: Float32Array[], N: number, size: number): { ratio: number; consecutive: number; keyframes: number; midDetailRatio: number } {
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
  const consecutive = mean(images.slice(1).map((im, i) => meanAbsDiff(images[i], im)));
  const keys = images.filter((_, f) => f % N === 0);
  const keyframes = mean(keys.slice(1).map((im, i) => meanAbsDiff(keys[i], im)));
  const mids = images.filter((_, f) => f % N === Math.floor(N / 2) && N > 1);
  return { ratio: consecutive / keyframes, consecutive, keyframes, midDetailRatio: mean(mids.map((im) => detail(im, size))) / mean(keys.map((im) => detail(im, size))) };
}

/**
 * How long the halfway blend of two keyframes' features is against the keyframes themselves (mean
 * per-position length of the channel vectors), for lerp and slerp, and how alike the keyframes are
 * (mean per-position cosine): the feature-space reason for the blend chosen.
 */
async function halfwayNorms(gpu: Gpu, model: AnyModel, settings: KeyframeSettings): Promise<{ cosine: number; lerp: number; slerp: number }> {
  // Frame 1 of a clip with a keyframe every 2 frames lies halfway between keyframes 0 and 1.
  const source = familyKeyframeSource(model);
  const path = new FeaturePath(source, { timeline: { frames: 2, keyframeEvery: 2, loop: false }, settings, slots: 2 });
  path.setWindow(0, 1, 2);
  for (let k = path.keyframeToStep(1); k >= 0; k = path.keyframeToStep(1)) path.stepKeyframe(k);
  const [a, b] = [path.keyframeFeatures(0)!, path.keyframeFeatures(1)!];
  const [lerp, slerp] = [gpu.tensor(a.shape), gpu.tensor(a.shape)];
  gpu.run('halfway', (rec) => {
    featureSlerp(rec, lerp, a, b, 0.5, 'lerp');
    featureSlerp(rec, slerp, a, b, 0.5, 'slerp');
  });
  const [va, vb, vl, vs] = (await Promise.all([a, b, lerp, slerp].map((t) => gpu.read(t)))) as Float32Array[];
  const [, C, H, W] = a.shape;
  const P = H * W;
  const norm = (x: Float32Array, q: number) => Math.sqrt(Array.from({ length: C }, (_, c) => x[c * P + q] ** 2).reduce((s, v) => s + v, 0));
  const mean = (fn: (q: number) => number) => Array.from({ length: P }, (_, q) => fn(q)).reduce((s, v) => s + v, 0) / P;
  const ends = mean((q) => (norm(va, q) + norm(vb, q)) / 2);
  const cosine = mean((q) => Array.from({ length: C }, (_, c) => va[c * P + q] * vb[c * P + q]).reduce((s, v) => s + v, 0) / (norm(va, q) * norm(vb, q) || 1));
  const result = { cosine, lerp: mean((q) => norm(vl, q)) / ends, slerp: mean((q) => norm(vs, q)) / ends };
  for (const t of [lerp, slerp]) t.dispose();
  path.dispose();
  source.dispose?.();
  return result;
}

/** Unit costs by kind: given ones, else the mean GPU ms (or wall ms of units run one at a time) measured here. */
async function calibrate(gpu: Gpu, model: AnyModel, settings: KeyframeSettings, given: Partial<Record<StepKind, number>> | undefined): Promise<Record<StepKind, number>> {
  const samples: Record<StepKind, number[]> = { condition: [], blocks: [], sample: [], decode: [] };
  const source = familyKeyframeSource(model, { blocksPerStep: 1 });
  const path = new FeaturePath(source, { timeline: { frames: 2, keyframeEvery: 4, loop: true }, settings, slots: 2 });
  path.setWindow(0, 1, 2);
  const timed = async (kind: StepKind, run: () => Promise<{ ms?: number }[]>) => {
    const t0 = performance.now();
    const sections = await run();
    const wall = performance.now() - t0;
    samples[kind].push(sections.length && sections.every((s) => s.ms !== undefined) ? sections.reduce((a, s) => a + (s.ms ?? 0), 0) : wall);
  };
  for (let k = path.keyframeToStep(1); k >= 0; k = path.keyframeToStep(1)) {
    const kind = path.nextUnit(k).kind;
    await timed(kind, () => path.stepKeyframe(k, true).gpuDone);
  }
  for (const f of [0, 1]) {
    await timed('decode', () => {
      const rec = gpu.recorder('calibrate frame', true);
      rec.section(`frame ${f}`);
      path.recordFrame(rec, f);
      const sub = rec.submit();
      rec.dispose();
      return sub.done;
    });
  }
  path.dispose();
  source.dispose?.();
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  return {
    condition: given?.condition ?? mean(samples.condition),
    blocks: given?.blocks ?? mean(samples.blocks),
    sample: given?.sample ?? mean(samples.sample),
    decode: given?.decode ?? mean(samples.decode.slice(-1)),
  };
}

/** Plays the clip in the engine at 60 Hz for `seconds` with frozen costs; counts stalls and buffering frames. */
async function simulate(gpu: Gpu, model: AnyModel, o: VideoBenchOptions, settings: KeyframeSettings, costs: Record<StepKind, number>) {
  const engine = createEngine(gpu, { budgetMs: o.budgetMs, timing: false });
  const id = addModel(engine, model);
  const S = (model.config.family === 'var' ? model.config.var : model.config.unified).patchNums.length;
  for (let s = -1; s <= S; s++) for (const kind of Object.keys(costs) as StepKind[]) observeCost(engine.costs, id, kind, s, costs[kind]);
  engine.costs.alpha = 0;
  const eid = addVideo(engine, { model: id, ...settings, frames: o.frames, keyframeEvery: o.keyframeEvery, fps: o.fps, loop: true });
  const ticks = Math.round(o.seconds * 60);
  let buffering = 0;
  let startup = -1;
  let units = 0;
  for (let i = 0; i < ticks; i++) {
    runFrame(engine, (i * 1000) / 60);
    units += engine.stats.units;
    const status = getVideoStatus(engine, eid);
    if (status.state === 'buffering') buffering++;
    else if (startup < 0) startup = i;
    await gpu.device.queue.onSubmittedWorkDone();
  }
  const stalls = getVideoStatus(engine, eid).stalls;
  disposeEngine(engine);
  return { ticks, stalls, stallsPerMinute: stalls / (o.seconds / 60), bufferingTicks: buffering, startupTicks: startup, unitsPerTick: units / ticks };
}

/** The prompt a unified model's clip is benched with. */
const CLIP_PROMPT = 'red and blue checker, medium, scrolling left';

/** Runs the three measures; prints a summary and one JSON line. */
export async function benchVideo(gpu: Gpu, model: AnyModel, name: string, o: VideoBenchOptions): Promise<void> {
  // VAR: class 0 with the reference's sampling; unified: a moving texture with the built-in model's.
  const settings: KeyframeSettings = model.config.family === 'var'
    ? { classLabel: 0, seed: 0, ...SAMPLING_DEFAULTS.var }
    : { classLabel: 0, prompt: CLIP_PROMPT, seed: 0, ...SAMPLING_DEFAULTS.unified };
  const tl: Timeline = { frames: o.frames, keyframeEvery: o.keyframeEvery, loop: false };
  const size = model.imageSize;
  // Warm-up: compiles every pipeline and fills the buffer pool.
  await makeClip(gpu, model, { frames: 2, keyframeEvery: 1, loop: false }, settings, 'slerp');

  const clip = await makeClip(gpu, model, tl, settings, 'slerp');
  const sum = (xs: { dispatches: number; gpuMs?: number }[], key: 'dispatches' | 'gpuMs') => xs.reduce((a, u) => a + (u[key] ?? 0), 0);
  const decodes = clip.units.filter((u) => u.kind === 'decode');
  const timed = clip.units.every((u) => u.gpuMs !== undefined);
  const generation = {
    framesPerSecond: (1000 * o.frames) / clip.wallMs,
    wallMs: clip.wallMs,
    dispatchesPerFrame: sum(clip.units, 'dispatches') / o.frames,
    decodeDispatchShare: sum(decodes, 'dispatches') / sum(clip.units, 'dispatches'),
    decodeGpuShare: timed ? sum(decodes, 'gpuMs') / sum(clip.units, 'gpuMs') : undefined,
    keyframes: clip.units.filter((u) => u.kind === 'condition').length,
  };
  const slerp = consistency(clip.images, o.keyframeEvery, size);
  const lerp = consistency((await makeClip(gpu, model, tl, settings, 'lerp')).images, o.keyframeEvery, size);
  const halfway = await halfwayNorms(gpu, model, settings);
  const costs = await calibrate(gpu, model, settings, o.costs);
  const playback = await simulate(gpu, model, o, settings, costs);

  const f = (x: number | undefined, d = 2) => (x === undefined ? '-' : x.toFixed(d));
  console.log(`nextscale video bench: ${name}, ${size}x${size}, ${o.frames} frames, a keyframe every ${o.keyframeEvery}, ${gpu.isSoftware ? 'software adapter: read the counts, not the times' : 'real GPU'}`);
  console.log(`generation: ${f(generation.framesPerSecond)} frames/s (wall ${f(clip.wallMs, 0)} ms), ${f(generation.dispatchesPerFrame, 1)} dispatches/frame, decode share ${f(generation.decodeDispatchShare)} of dispatches, ${f(generation.decodeGpuShare)} of GPU time`);
  for (const [blend, c] of [['slerp', slerp], ['lerp', lerp]] as const) {
    console.log(`consistency (${blend}): consecutive/keyframe change ${f(c.ratio, 3)} (ideal ~${f(1 / o.keyframeEvery, 3)}), halfway/keyframe detail ${f(c.midDetailRatio, 3)}`);
  }
  console.log(`halfway feature length / keyframes': slerp ${f(halfway.slerp, 3)}, lerp ${f(halfway.lerp, 3)} (keyframes' mean cosine ${f(halfway.cosine, 3)})`);
  console.log(`playback at ${o.budgetMs} ms/frame, 60 Hz, ${o.fps} fps, ${o.seconds} s simulated: ${playback.stalls} stalls (${f(playback.stallsPerMinute, 1)}/min), ${playback.bufferingTicks} of ${playback.ticks} frames buffering, first frame at tick ${playback.startupTicks}`);
  console.log(`frozen unit costs (ms): ${Object.entries(costs).map(([k, v]) => `${k}=${f(v, 3)}`).join(', ')}`);
  console.log(JSON.stringify({ bench: 'video', model: name, realGpu: !gpu.isSoftware, size, ...o, generation, consistency: { slerp, lerp }, halfwayFeatureNorm: halfway, playback, costs }));
}
