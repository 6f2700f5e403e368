/**
 * The feature path on the var-tiny fixture model: keyframes are ordinary generations (the features of
 * a VarSession with the keyframe's seed, however the work is split), a new class takes effect from the
 * next keyframe while stored keyframes keep theirs, and misuse is refused clearly. Nothing here
 * decodes (a var-tiny decode takes seconds on SwiftShader): clip.test.ts checks decoded frames.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VarSession } from '../../runtime/generate/var-session.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { loadVarFolder } from '../../runtime/models/var/load.ts';
import type { VarModel } from '../../runtime/models/var/model.ts';
import { FeaturePath } from '../../runtime/video/feature-path.ts';
import { keyframeSeed, type KeyframeSettings } from '../../runtime/video/keyframes.ts';
import { varKeyframeSource } from '../../runtime/video/var-keyframes.ts';
import { expectClose, testGpu } from '../helpers.ts';
import { FIXTURE, readExpected, type Expected } from '../models/fixture.ts';

const SAMPLED: KeyframeSettings = { classLabel: 3, seed: 11, cfg: 2, topK: 8, topP: 0.9, temperature: 1.2 };
/** The fixture's generation settings (greedy, so the seed does not matter). */
const GREEDY: KeyframeSettings = { classLabel: 3, seed: 0, cfg: 1.5, topK: 1, topP: 0, temperature: 1 };

let gpu: Gpu;
let model: VarModel;
let expected: Expected;

/** Steps whatever frame `frame` still needs. */
function generate(path: FeaturePath, frame: number): number {
  let steps = 0;
  for (let k = path.keyframeToStep(frame); k >= 0; k = path.keyframeToStep(frame)) {
    path.stepKeyframe(k);
    steps++;
  }
  return steps;
}

/** Batch entry `b` of an expected [B, ...] tensor. */
function entry(name: string, b: number): Float32Array {
  const { data, shape } = expected.get(name);
  const n = shape.slice(1).reduce((a, x) => a * x, 1);
  return Float32Array.from(data.subarray(b * n, (b + 1) * n));
}

describe('feature path on var-tiny', () => {
  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadVarFolder(gpu, FIXTURE, { encoder: false });
    expected = await readExpected();
  });

  it("stores each keyframe's features: a VarSession's with the keyframe's seed", async () => {
    const path = new FeaturePath(varKeyframeSource(model, { blocksPerStep: 1 }), { timeline: { frames: 4, keyframeEvery: 2, loop: false }, settings: SAMPLED });
    path.setWindow(1, 1, 1);
    // Depth 2, one block per step: condition + 4 scales × (2 blocks + sample), twice.
    expect(generate(path, 1)).toBe(26);
    expect(path.keyframeToStep(1)).toBe(-1);
    for (const k of [0, 1]) {
      const direct = new VarSession(model, { labels: [3], seed: keyframeSeed(11, k), cfg: 2, topK: 8, topP: 0.9, temperature: 1.2 });
      while (direct.scale < direct.scales) direct.step();
      expectClose(`keyframe ${k} f_hat`, await gpu.read(path.keyframeFeatures(k)!), await gpu.read(direct.fHat), { atol: 1e-6, rtol: 1e-6 });
      direct.dispose();
    }
    const [a, b] = [await gpu.read(path.keyframeFeatures(0)!), await gpu.read(path.keyframeFeatures(1)!)];
    expect(a.some((v, i) => Math.abs(v - b[i]) > 1e-3)).toBe(true);
    path.dispose();
  });

  it('takes a new class from the next keyframe on; stored keyframes keep theirs', async () => {
    const path = new FeaturePath(varKeyframeSource(model), { timeline: { frames: 6, keyframeEvery: 2, loop: true }, settings: GREEDY });
    path.setWindow(0, 1, 4);
    generate(path, 0);
    expect(path.generating).toBeUndefined();
    path.setSettings({ ...GREEDY, classLabel: 7 });
    // Frame 1 blends keyframes 0 and 1: only keyframe 1 is generated, with the new class.
    expect(path.keyframeToStep(1)).toBe(1);
    expect(path.progressOf(0)).toBe(5);
    generate(path, 1);
    expectClose('keyframe 0 (class 3)', await gpu.read(path.keyframeFeatures(0)!), entry('gen.scale3.f_hat', 0), { atol: 1e-3 });
    expectClose('keyframe 1 (class 7)', await gpu.read(path.keyframeFeatures(1)!), entry('gen.scale3.f_hat', 1), { atol: 1e-3 });
    // The loop closes on keyframe 0: frame 5 needs keyframes 2 and 0 only.
    path.setWindow(4, 1, 2);
    expect(path.keyframeToStep(5)).toBe(2);
    path.dispose();
  });

  it('refuses frames outside the clip, frames whose keyframes are missing, and bad settings', () => {
    const source = varKeyframeSource(model);
    const path = new FeaturePath(source, { timeline: { frames: 4, keyframeEvery: 2, loop: false }, settings: GREEDY });
    const rec = gpu.recorder();
    expect(() => path.recordFrame(rec, 4)).toThrow(/frame must be a whole number in \[0, 3\], found 4/);
    expect(() => path.recordFrame(rec, 1)).toThrow(/frame 1 needs keyframe 0, which is not stored yet/);
    rec.dispose();
    expect(() => source.check({ ...GREEDY, classLabel: 10 })).toThrow(/class label 10 is out of range: this model has classes 0\.\.9/);
    expect(() => source.check({ ...GREEDY, topP: 2 })).toThrow(/top-p must be in \[0, 1\], found 2/);
    expect(() => new FeaturePath(source, { timeline: { frames: 4, keyframeEvery: 0, loop: false }, settings: GREEDY })).toThrow(/keyframeEvery must be/);
    path.dispose();
  });
});
