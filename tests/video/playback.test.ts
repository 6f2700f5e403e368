/**
 * Video playback in the engine on real WebGPU, with a synthetic keyframe source (seeded features,
 * decoding is a clamp) so that frames are cheap and their expected texels can be computed on the CPU:
 * the same frames whatever the frame times and budget, buffering when the budget is starved and
 * playing again once frames arrive, every frame on screen when they come more slowly than the clip,
 * seeks that regenerate identical frames, loops, speeds, a new class from the next keyframe on,
 * previews, and refused settings.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  addVideo,
  createEngine,
  disposeEngine,
  getTexture,
  getVideoPlayback,
  getVideoStatus,
  pauseVideo,
  playVideo,
  removeVideo,
  runFrame,
  seekVideo,
  setBudget,
  setTextureListener,
  setVideoSettings,
  type Engine,
  type TextureChange,
  type VideoSettings,
} from '../../runtime/ecs/index.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import type { VarModel } from '../../runtime/models/var/model.ts';
import { featureSlerp } from '../../runtime/reference/feature-slerp.ts';
import { segmentOf, type Timeline } from '../../runtime/video/timeline.ts';
import { testGpu } from '../helpers.ts';
import { readTexture, SIZE, syntheticFeatures, SyntheticSource, textureBytes } from './synthetic-source.ts';

/** A budget no unit fits: every frame runs exactly one unit. */
const TINY = 1e-6;

let gpu: Gpu;

interface Setup {
  engine: Engine;
  source: SyntheticSource;
  eid: number;
  events: TextureChange[];
}

/** An engine playing one synthetic video. */
function setup(settings: Partial<VideoSettings>, budgetMs = Infinity): Setup {
  const source = new SyntheticSource(gpu);
  const engine = createEngine(gpu, { budgetMs, keyframeSource: () => source });
  const model = addModel(engine, { gpu, config: { family: 'var' } } as unknown as VarModel);
  const events: TextureChange[] = [];
  setTextureListener(engine, (_eid, _texture, change) => events.push(change));
  const eid = addVideo(engine, { model, classLabel: 2, seed: 5, fps: 10, ...settings });
  return { engine, source, eid, events };
}

let clock = 0;

/** One frame `dtMs` after the last, then a pause so GPU completions can arrive. */
async function frame(engine: Engine, dtMs = 100): Promise<void> {
  runFrame(engine, (clock += dtMs));
  await gpu.device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 0));
}

/** The texels frame `f` must have, computed on the CPU from the keyframes' features. */
function expectedFrame(tl: Timeline, f: number, s = { seed: 5, classLabel: 2 }, label?: (k: number) => number): Uint8Array {
  const { from, to, t } = segmentOf(tl, f);
  const a = syntheticFeatures(from, { ...s, classLabel: label?.(from) ?? s.classLabel });
  if (t === 0) return textureBytes(a);
  const b = syntheticFeatures(to, { ...s, classLabel: label?.(to) ?? s.classLabel });
  return textureBytes(featureSlerp(a, b, 3, SIZE * SIZE, t));
}

/** Largest difference between two byte arrays (slerp's coarse trig on SwiftShader can move a texel by one). */
function maxDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

async function display(s: Setup): Promise<Uint8Array> {
  return readTexture(gpu, getTexture(s.engine, s.eid)!);
}

describe('video playback in the engine', () => {
  beforeAll(async () => {
    gpu = await testGpu();
  });

  it('makes the same frames whatever the frame times and the budget', async () => {
    const tl: Timeline = { frames: 6, keyframeEvery: 3, loop: true };
    const whole = setup({ ...tl, ring: 4, playing: false });
    const sliced = setup({ ...tl, ring: 4 }, TINY);
    await frame(whole.engine);
    const ring = getVideoPlayback(whole.engine, whole.eid)!.ring;
    expect(Array.from(ring.frames).sort()).toEqual([0, 1, 2, 3]);
    const made = new Map<number, Uint8Array>();
    for (let f = 0; f < 4; f++) {
      made.set(f, await readTexture(gpu, ring.texture(ring.slotOf(f))));
      expect(maxDiff(made.get(f)!, expectedFrame(tl, f)), `frame ${f}`).toBeLessThanOrEqual(1);
    }
    // One unit per frame, at uneven frame times: every frame shown is the very same frame.
    const times = [5, 40, 16, 100, 16, 7, 250, 16, 33, 16];
    let checked = 0;
    for (let i = 0; i < 60 && checked < 6; i++) {
      await frame(sliced.engine, times[i % times.length]);
      expect(sliced.engine.stats.units).toBe(1);
      const status = getVideoStatus(sliced.engine, sliced.eid);
      if (status.state !== 'playing' || !made.has(status.frame)) continue;
      expect(await display(sliced)).toEqual(made.get(status.frame));
      checked++;
    }
    expect(checked).toBe(6);
    expect(sliced.events.filter((e) => e === 'created')).toHaveLength(1);
    disposeEngine(whole.engine);
    disposeEngine(sliced.engine);
  });

  it('waits in the buffering state when the budget is starved, and plays again when frames arrive', async () => {
    const s = setup({ frames: 12, keyframeEvery: 4, ring: 4, fps: 60 }, TINY);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const before = getVideoPlayback(s.engine, s.eid)?.ring.displayed;
      await frame(s.engine, 16);
      const status = getVideoStatus(s.engine, s.eid);
      seen.add(status.state);
      if (status.state === 'buffering' && i > 10) {
        // Waiting: the screen keeps the last finished frame, never a half-made one.
        const ring = getVideoPlayback(s.engine, s.eid)!.ring;
        expect(ring.displayed).not.toBe(status.frame);
        expect(ring.displayed).toBe(before);
        expect(status.preview).toBe(false);
      }
    }
    expect([...seen].sort()).toEqual(['buffering', 'playing']);
    const stalls = getVideoStatus(s.engine, s.eid).stalls;
    expect(stalls).toBeGreaterThan(1);

    setBudget(s.engine, Infinity);
    for (let i = 0; i < 10; i++) {
      await frame(s.engine, 16);
      const status = getVideoStatus(s.engine, s.eid);
      expect(status.state).toBe('playing');
      expect(status.buffered).toBeGreaterThanOrEqual(2);
    }
    expect(getVideoStatus(s.engine, s.eid).stalls).toBe(stalls);
    disposeEngine(s.engine);
  });

  it('shows each frame it reaches when frames are made more slowly than the clip plays', async () => {
    // A second a frame at 10 fps: the playhead would pass ten frames a frame, but frames come one at a time.
    const tl: Timeline = { frames: 12, keyframeEvery: 4, loop: true };
    const s = setup({ ...tl, ring: 4, fps: 10 }, TINY);
    const shown: number[] = [];
    for (let i = 0; i < 80 && shown.at(-1) !== 5; i++) {
      await frame(s.engine, 1000);
      const status = getVideoStatus(s.engine, s.eid);
      if (status.shown === shown.at(-1) || status.shown < 0) continue;
      shown.push(status.shown);
      // Waiting at the next frame, with the one just made on screen.
      expect(status).toMatchObject({ state: 'buffering', frame: status.shown + 1, preview: false });
      expect(maxDiff(await display(s), expectedFrame(tl, status.shown)), `frame ${status.shown}`).toBeLessThanOrEqual(1);
    }
    expect(shown).toEqual([0, 1, 2, 3, 4, 5]);
    disposeEngine(s.engine);
  });

  it('regenerates identical frames after a seek past the ring', async () => {
    const s = setup({ frames: 40, keyframeEvery: 4, ring: 4, playing: false });
    seekVideo(s.engine, s.eid, 13);
    await frame(s.engine);
    expect(getVideoStatus(s.engine, s.eid)).toMatchObject({ state: 'paused', frame: 13, buffered: 4 });
    const first = await display(s);
    expect(maxDiff(first, expectedFrame({ frames: 40, keyframeEvery: 4, loop: true }, 13))).toBeLessThanOrEqual(1);
    seekVideo(s.engine, s.eid, 30);
    await frame(s.engine);
    const ring = getVideoPlayback(s.engine, s.eid)!.ring;
    expect(ring.has(13)).toBe(false);
    expect(getVideoStatus(s.engine, s.eid).frame).toBe(30);
    seekVideo(s.engine, s.eid, 13);
    await frame(s.engine);
    expect(await display(s)).toEqual(first);
    expect(s.source.begun.filter((b) => b.k === 3)).toHaveLength(2);
    expect(() => seekVideo(s.engine, s.eid, 40)).toThrow(/seekVideo: frame must be a whole number in \[0, 39\], found 40/);
    disposeEngine(s.engine);
  });

  it('loops, plays at any speed either way, and stops at the end of a clip that does not loop', async () => {
    const s = setup({ frames: 6, keyframeEvery: 3, ring: 6 });
    const frames = async (n: number, dt = 100) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        await frame(s.engine, dt);
        out.push(getVideoStatus(s.engine, s.eid).frame);
      }
      return out;
    };
    expect(await frames(9)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2]);
    setVideoSettings(s.engine, s.eid, { speed: 0.5 });
    expect(await frames(4)).toEqual([2, 3, 3, 4]);
    setVideoSettings(s.engine, s.eid, { speed: -2 });
    expect(await frames(3)).toEqual([2, 0, 4]);
    // Looping off drops the frames made (the end blends differently) and plays on to the last frame.
    setVideoSettings(s.engine, s.eid, { speed: 1, loop: false });
    expect(await frames(2)).toEqual([5, 5]);
    expect(getVideoStatus(s.engine, s.eid).state).toBe('paused');
    // Play at the end starts over (one frame time in: frame 1).
    playVideo(s.engine, s.eid);
    expect(await frames(2)).toEqual([1, 2]);
    pauseVideo(s.engine, s.eid);
    expect(await frames(2)).toEqual([2, 2]);
    expect(getVideoStatus(s.engine, s.eid).state).toBe('paused');
    disposeEngine(s.engine);
  });

  it('takes a new class and next-frame top-k from the next keyframe on, while the frames made keep playing', async () => {
    const tl: Timeline = { frames: 24, keyframeEvery: 4, loop: true };
    const s = setup({ ...tl, ring: 4, playing: false });
    await frame(s.engine);
    expect(s.source.begun).toEqual([{ k: 0, classLabel: 2, seed: 5 }, { k: 1, classLabel: 2, seed: 5 }]);
    setVideoSettings(s.engine, s.eid, { classLabel: 6, nextFrameTopK: 3 });
    seekVideo(s.engine, s.eid, 1);
    await frame(s.engine);
    expect(maxDiff(await display(s), expectedFrame(tl, 1))).toBeLessThanOrEqual(1);
    playVideo(s.engine, s.eid);
    while (getVideoStatus(s.engine, s.eid).frame < 5) await frame(s.engine);
    expect(s.source.begun.map((b) => `${b.k}:${b.classLabel}`)).toEqual(['0:2', '1:2', '2:6']);
    // The next-frame top-k is a keyframe setting too: the default (greedy) before, 3 after.
    expect(s.source.nextFrameTopKs).toEqual([1, 1, 3]);
    // Frame 5 blends keyframe 1 (class 2) into keyframe 2 (class 6).
    expect(maxDiff(await display(s), expectedFrame(tl, 5, undefined, (k) => (k < 2 ? 2 : 6)))).toBeLessThanOrEqual(1);
    disposeEngine(s.engine);
  });

  it('with previews, keeps playing and shows what a late frame has so far', async () => {
    // 12.5 fps at 20 ms frames: four units per video frame, but the first frames need keyframes first.
    const s = setup({ frames: 12, keyframeEvery: 4, ring: 4, fps: 12.5, showPreviews: true }, TINY);
    const seen: { frame: number; preview: boolean }[] = [];
    for (let i = 0; i < 30; i++) {
      await frame(s.engine, 20);
      const status = getVideoStatus(s.engine, s.eid);
      expect(status.state).toBe('playing');
      seen.push({ frame: status.frame, preview: status.preview });
    }
    // The playhead never waited (a quarter frame per frame), the screen showed previews of the first
    // keyframe as it progressed, then finished frames once generation was ahead.
    expect(seen.map((x) => x.frame)).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(i / 4)));
    expect(seen.slice(0, 5).some((x) => x.preview)).toBe(true);
    expect(seen.slice(-5).every((x) => !x.preview)).toBe(true);
    expect(s.source.decodes).toBeGreaterThan(getVideoPlayback(s.engine, s.eid)!.ring.size);
    disposeEngine(s.engine);
  });

  it('refuses bad settings with a message and recovers when they are fixed', async () => {
    const s = setup({ frames: 8, keyframeEvery: 4, ring: 2, classLabel: 12 });
    await frame(s.engine);
    expect(getVideoStatus(s.engine, s.eid)).toMatchObject({ state: 'error', error: 'class label 12 is out of range: this model has classes 0..9' });
    setVideoSettings(s.engine, s.eid, { classLabel: 3 });
    await frame(s.engine);
    expect(getVideoStatus(s.engine, s.eid).state).toBe('playing');
    expect(getVideoStatus(s.engine, s.eid).error).toBeUndefined();
    for (const [bad, message] of [
      [{ keyframeEvery: 0 }, /keyframeEvery must be a whole number in \[1, 10000\], found 0/],
      [{ speed: 40 }, /speed must be in \[-16, 16\], found 40/],
      [{ ring: 1 }, /ring must be a whole number in \[2, 64\], found 1/],
      [{ model: 42 }, /model 42 is not loaded \(loaded model ids: 1\)/],
    ] as const) {
      setVideoSettings(s.engine, s.eid, bad);
      await frame(s.engine);
      expect(getVideoStatus(s.engine, s.eid).error).toMatch(message);
      setVideoSettings(s.engine, s.eid, { keyframeEvery: 4, speed: 1, ring: 2, model: 1 });
      await frame(s.engine);
      expect(getVideoStatus(s.engine, s.eid).state).not.toBe('error');
    }
    removeVideo(s.engine, s.eid);
    expect(s.events.at(-1)).toBe('removed');
    expect(() => getVideoStatus(s.engine, s.eid)).toThrow(/entity \d+ is not a video of this engine/);
    disposeEngine(s.engine);
  });
});
