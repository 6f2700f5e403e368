/**
 * A video of the var-tiny fixture model played by the engine on real WebGPU: keyframe steps and frame
 * decodes are units in the frame budget (one per frame here), playback buffers until the first frame
 * exists, shows it, then stalls waiting for the next keyframe; the first frame on screen is the still
 * image the reference computed. Only one frame is decoded (a decode takes seconds here);
 * tests/video/playback.test.ts covers the playback rules with a cheap synthetic model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addModel,
  addVideo,
  createEngine,
  disposeEngine,
  estimateCost,
  getTexture,
  getVideoPlayback,
  getVideoStatus,
  runFrame,
  setTextureListener,
  type TextureChange,
} from '../../runtime/ecs/index.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { loadVarFolder } from '../../runtime/models/var/load.ts';
import type { VarModel } from '../../runtime/models/var/model.ts';
import { testGpu } from '../helpers.ts';
import { FIXTURE, readExpected } from '../models/fixture.ts';
import { readTexture } from '../video/synthetic-source.ts';

let gpu: Gpu;
let model: VarModel;

describe('engine video on var-tiny', () => {
  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadVarFolder(gpu, FIXTURE, { encoder: false });
  });

  it('fills the ring one unit per frame, buffers, plays the still image, then stalls', async () => {
    const engine = createEngine(gpu, { budgetMs: 1e-6, mipmaps: true });
    const modelId = addModel(engine, model);
    const events: TextureChange[] = [];
    setTextureListener(engine, (_eid, _texture, change) => events.push(change));
    // The fixture's greedy settings: keyframe 0 is the reference's image of class 3.
    const eid = addVideo(engine, { model: modelId, classLabel: 3, cfg: 1.5, topK: 1, topP: 0, frames: 4, keyframeEvery: 2, ring: 2, fps: 10 });
    const image = (await readExpected()).get('gen.image').data;
    const states: string[] = [];
    const dispatches: number[] = [];
    let clock = 0;
    const done = () => getVideoStatus(engine, eid).stalls === 1;
    while (!done() && states.length < 60) {
      const written = events.length;
      runFrame(engine, (clock += 40));
      expect(engine.stats.units).toBe(1);
      dispatches.push(engine.stats.dispatches);
      states.push(getVideoStatus(engine, eid).state);
      if (written === 1 && events.length === 2) {
        // The first picture on screen: the reference's still image (texels round(v · 255), to a step).
        const texels = await readTexture(gpu, getTexture(engine, eid)!);
        const plane = 64 * 64;
        let worst = 0;
        for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(texels[4 * i + c] - image[c * plane + i] * 255));
        expect(worst).toBeLessThanOrEqual(0.5 + 2e-3 * 255);
      }
      await gpu.device.queue.onSubmittedWorkDone();
      await new Promise((r) => setTimeout(r, 0));
    }
    // Keyframe 0 (condition, 4 scales × (2 blocks + sample)) then frame 0's decode; the playhead moves
    // on (0.4 frames a frame) and waits at frame 1, which needs keyframe 1: a stall.
    expect(states).toEqual([...new Array(13).fill('buffering'), 'playing', 'playing', 'buffering']);
    expect(getVideoStatus(engine, eid)).toMatchObject({ state: 'buffering', frame: 1, stalls: 1, frames: 4, buffered: 0 });
    expect(getVideoPlayback(engine, eid)!.ring.displayed).toBe(0);
    expect(events).toEqual(['created', 'written']);
    // A decode unit is far more dispatches than a transformer step, and its cost is being learned.
    expect(dispatches[13]).toBeGreaterThan(10 * Math.max(...dispatches.slice(0, 13)));
    expect(estimateCost(engine.costs, modelId, 'decode', 4)).not.toBe(engine.costs.priorMs);
    const display = getTexture(engine, eid)!;
    expect([display.width, display.format, display.mipLevelCount]).toEqual([64, 'rgba8unorm', 7]);
    disposeEngine(engine);
    expect(events.at(-1)).toBe('removed');
  });
});
