/**
 * Frame-conditioned clips on the unified-tiny fixture (its weights run as a model trained on clips):
 * through the feature path with a keyframe every frame, each frame continues from the one before and
 * matches the reference's clip frames; one session serves the whole clip, so memory stays flat; a
 * frame whose previous one is not held (a seek) is the still image of the prompt.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, addVideo, createEngine, disposeEngine, getTexture, getVideoStatus, runFrame } from '../../runtime/ecs/index.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { openSafetensors, openSource } from '../../runtime/io/index.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import { UnifiedModel } from '../../runtime/models/unified/model.ts';
import { defaultKeyframeEvery, familyKeyframeSource, FeaturePath, unifiedFrameSource, type KeyframeSettings, type KeyframeSource } from '../../runtime/video/index.ts';
import { expectClose, testGpu } from '../helpers.ts';
import { readTexture } from './synthetic-source.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/unified-tiny', import.meta.url));
const IMAGE_TOL = { atol: 2e-3, rtol: 0 };

let gpu: Gpu;
let plain: UnifiedModel;
let clipModel: UnifiedModel;
let settings: KeyframeSettings;
let expected: Map<string, Float32Array>;

/** Steps `path` until `frame` can be decoded, then decodes it and reads it back. */
async function frameImage(path: FeaturePath, frame: number): Promise<Float32Array> {
  path.setWindow(frame, 1, 1);
  for (let k = path.keyframeToStep(frame); k >= 0; k = path.keyframeToStep(frame)) path.stepKeyframe(k);
  const rec = gpu.recorder('frame');
  path.recordFrame(rec, frame);
  rec.submit();
  rec.dispose();
  return (await gpu.read(path.image)) as Float32Array;
}

describe('frame-conditioned clips on unified-tiny', () => {
  beforeAll(async () => {
    gpu = await testGpu();
    plain = await loadUnifiedFolder(gpu, FIXTURE);
    const weights = await openSafetensors(await openSource(`${FIXTURE}/weights.safetensors`));
    const config = { ...plain.config, unified: { ...plain.config.unified, frameConditioned: true } };
    clipModel = await UnifiedModel.load(gpu, config, plain.tokenizer, { weights, vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: 'weights' });
    const json = JSON.parse(await readFile(`${FIXTURE}/config.json`, 'utf8'));
    settings = { classLabel: 0, prompt: json.generation.prompt, seed: 0, cfg: json.generation.cfg, topK: 1, topP: 0, temperature: 1 };
    const file = await openSafetensors(await openSource(`${FIXTURE}/expected.safetensors`));
    expected = new Map();
    for (const name of ['t2i.image', 'clip.frame1.image', 'clip.frame2.image']) expected.set(name, (await file.read(name)).data as Float32Array);
  });

  afterAll(() => {
    clipModel?.dispose();
    plain?.dispose();
  });

  it('plays every frame from the one before: the reference clip, one session for all of it', async () => {
    expect(defaultKeyframeEvery(clipModel)).toBe(1);
    expect(defaultKeyframeEvery(plain)).toBe(8);
    const source = familyKeyframeSource(clipModel);
    const path = new FeaturePath(source, { timeline: { frames: 4, keyframeEvery: 1, loop: false }, settings, slots: 3 });
    expectClose('frame 0 (text to image)', await frameImage(path, 0), expected.get('t2i.image')!, IMAGE_TOL);
    expectClose('frame 1', await frameImage(path, 1), expected.get('clip.frame1.image')!, IMAGE_TOL);
    const allocated = gpu.pool.stats.allocatedBytes;
    const created = gpu.pool.stats.created;
    expectClose('frame 2', await frameImage(path, 2), expected.get('clip.frame2.image')!, IMAGE_TOL);
    await frameImage(path, 3);
    // The window slides: no new buffer and no growth from frame 2 on.
    expect(gpu.pool.stats.allocatedBytes).toBe(allocated);
    expect(gpu.pool.stats.created).toBe(created);
    path.dispose();
    source.dispose?.();
  });

  it('starts from the prompt alone when the frame before is not held (a seek), and after a new prompt', async () => {
    const source = unifiedFrameSource(clipModel);
    const path = new FeaturePath(source, { timeline: { frames: 8, keyframeEvery: 1, loop: false }, settings, slots: 3 });
    expectClose('frame 5 after a seek', await frameImage(path, 5), expected.get('t2i.image')!, IMAGE_TOL);
    path.setSettings({ ...settings, prompt: 'green dots' });
    const other = await frameImage(path, 6);
    expect(Math.max(...other.map((v, i) => Math.abs(v - expected.get('clip.frame1.image')![i])))).toBeGreaterThan(0.05);
    path.dispose();
    source.dispose?.();
  });

  it('draws the finest scale of a frame that continues another with nextFrameTopK; a first frame ignores it', async () => {
    const sampled: KeyframeSettings = { ...settings, seed: 5, topK: 8, topP: 0.9, temperature: 1.2 };
    const play = async (nextFrameTopK: number) => {
      const source = unifiedFrameSource(clipModel);
      const path = new FeaturePath(source, { timeline: { frames: 2, keyframeEvery: 1, loop: false }, settings: { ...sampled, nextFrameTopK }, slots: 3 });
      const frames = [await frameImage(path, 0), await frameImage(path, 1)];
      path.dispose();
      source.dispose?.();
      return frames;
    };
    const [greedyFinest, asTopK] = [await play(1), await play(sampled.topK)];
    expectClose('frame 0, whatever nextFrameTopK', greedyFinest[0], asTopK[0], { atol: 0, rtol: 0 });
    expect(Math.max(...greedyFinest[1].map((v, i) => Math.abs(v - asTopK[1][i])))).toBeGreaterThan(1e-3);
    const source = unifiedFrameSource(clipModel);
    expect(() => source.check({ ...settings, nextFrameTopK: 1.5 })).toThrow(/next-frame top-k must be a whole number >= 0, found 1.5/);
    source.dispose?.();
  });

  it('is what the engine plays for such a model: frame 1 on screen continues frame 0', async () => {
    const engine = createEngine(gpu, { budgetMs: Infinity });
    const model = addModel(engine, clipModel);
    const eid = addVideo(engine, { model, prompt: settings.prompt, cfg: settings.cfg, topK: 1, topP: 0, frames: 3, keyframeEvery: 1, ring: 3, fps: 10, loop: false });
    const onScreen = async () => {
      const texels = await readTexture(gpu, getTexture(engine, eid)!);
      const plane = 32 * 32;
      return Float32Array.from({ length: 3 * plane }, (_, i) => texels[4 * (i % plane) + Math.floor(i / plane)] / 255);
    };
    let clock = 0;
    const until = async (frame: number) => {
      for (let i = 0; i < 200 && !(getVideoStatus(engine, eid).state === 'playing' && getVideoStatus(engine, eid).frame === frame); i++) {
        runFrame(engine, (clock += 20));
        await gpu.device.queue.onSubmittedWorkDone();
      }
      expect(getVideoStatus(engine, eid)).toMatchObject({ state: 'playing', frame });
    };
    await until(0);
    expectClose('frame 0 on screen', await onScreen(), expected.get('t2i.image')!, { atol: 0.5 / 255 + 2e-3, rtol: 0 });
    await until(1);
    expectClose('frame 1 on screen', await onScreen(), expected.get('clip.frame1.image')!, { atol: 0.5 / 255 + 2e-3, rtol: 0 });
    disposeEngine(engine);
  });

  it('refuses a model not trained on clips and settings without a prompt', () => {
    expect(() => unifiedFrameSource(plain)).toThrow(/not trained on clips \("frame_conditioned" is not set/);
    const source: KeyframeSource = unifiedFrameSource(clipModel);
    expect(() => source.check({ ...settings, prompt: ' ' })).toThrow(/a unified model makes keyframes from a text prompt, found none/);
    expect(() => source.check({ ...settings, topP: 3 })).toThrow(/top-p must be in \[0, 1\], found 3/);
    const long = Array(300).fill('red').join(' ');
    expect(() => source.begin(0, { ...settings, prompt: long })).toThrow(/appendText: the sequence would hold \d+ tokens, more than the model's context_length 256/);
    // The source stays usable after the refusal.
    expect(source.begin(0, settings).done).toBe(false);
    source.dispose?.();
  });
});
