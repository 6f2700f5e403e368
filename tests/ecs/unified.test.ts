/**
 * The engine with a unified model (tests/fixtures/unified-tiny: 32 px, depth 2, 4 scales): a
 * generation is text to image from its prompt, gives the codes `textToImage` gives whatever the frame
 * budget, restarts on a new prompt, and turns a missing or too-long prompt into an error state while
 * the other generations keep running. Generations stay hidden (no preview decodes: slow on SwiftShader).
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addGeneration,
  addModel,
  createEngine,
  disposeEngine,
  getProgress,
  getSession,
  runFrame,
  setGenerationSettings,
  type Engine,
  type EngineOptions,
} from '../../runtime/ecs/index.ts';
import { textToImage } from '../../runtime/generate/unified-tasks.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import type { UnifiedModel } from '../../runtime/models/unified/model.ts';
import { testGpu } from '../helpers.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/unified-tiny', import.meta.url));
/** A budget no unit fits: every frame runs exactly one unit. */
const TINY = 1e-6;
const SAMPLING = { seed: 5, cfg: 3, topK: 8, topP: 0.9, temperature: 1 };
const PROMPT = 'red and blue checker, fine';

let gpu: Gpu;
let model: UnifiedModel;

function withModel(options: EngineOptions = {}): { engine: Engine; modelId: number } {
  const engine = createEngine(gpu, options);
  return { engine, modelId: addModel(engine, model) };
}

let clock = 0;

async function frames(engine: Engine, until: () => boolean, max = 200): Promise<number> {
  let n = 0;
  while (!until()) {
    if (++n > max) throw new Error(`no result after ${max} frames`);
    runFrame(engine, (clock += 16));
    await gpu.device.queue.onSubmittedWorkDone();
  }
  return n;
}

async function tokens(engine: Engine, eid: number): Promise<number[][]> {
  return (await getSession(engine, eid)!.readTokens()).map((t) => Array.from(t));
}

async function direct(prompt: string): Promise<number[][]> {
  return (await textToImage(model, prompt, SAMPLING)).tokens.map((t) => Array.from(t));
}

describe('engine on unified-tiny', () => {
  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadUnifiedFolder(gpu, FIXTURE);
  });

  it('generates from the prompt the codes textToImage gives, one unit per frame or all at once', async () => {
    const sliced = withModel({ budgetMs: TINY });
    const whole = withModel({ budgetMs: Infinity, blocksPerUnit: 2 });
    const a = addGeneration(sliced.engine, { model: sliced.modelId, prompt: PROMPT, ...SAMPLING, visible: false });
    const b = addGeneration(whole.engine, { model: whole.modelId, prompt: PROMPT, ...SAMPLING, visible: false });

    runFrame(whole.engine, 0);
    // <text> and prompt passes of one unit each, (blocks, sample) per scale, decode.
    expect(getProgress(whole.engine, b)).toEqual({ state: 'done', scale: 4, scales: 4, unit: 11, units: 11 });

    const perFrame: number[] = [];
    await frames(sliced.engine, () => {
      perFrame.push(sliced.engine.stats.units);
      return getProgress(sliced.engine, a).state === 'done';
    });
    // Two blocks units for each of the two conditioning passes and each scale, a sample per scale, decode.
    expect(getProgress(sliced.engine, a)).toEqual({ state: 'done', scale: 4, scales: 4, unit: 17, units: 17 });
    expect(perFrame.slice(1)).toEqual(new Array(17).fill(1));

    const expected = await direct(PROMPT);
    expect(await tokens(sliced.engine, a)).toEqual(expected);
    expect(await tokens(whole.engine, b)).toEqual(expected);
    disposeEngine(sliced.engine);
    disposeEngine(whole.engine);
  });

  it('restarts on a new prompt; a missing or too-long prompt is an error while the others run', async () => {
    const { engine, modelId } = withModel({ budgetMs: TINY });
    const eid = addGeneration(engine, { model: modelId, prompt: PROMPT, ...SAMPLING, visible: false, selected: true });
    const empty = addGeneration(engine, { model: modelId, ...SAMPLING, visible: false });
    const long = addGeneration(engine, { model: modelId, prompt: 'red '.repeat(400), ...SAMPLING, visible: false });
    await frames(engine, () => getProgress(engine, eid).unit === 5);
    expect(getProgress(engine, empty)).toMatchObject({ state: 'error', error: expect.stringMatching(/prompt: a unified model generates from a text prompt, found none/) });
    expect(getProgress(engine, long)).toMatchObject({ state: 'error', error: expect.stringMatching(/more than the model's context_length 256/) });

    setGenerationSettings(engine, eid, { prompt: 'green and white dots, coarse' });
    await frames(engine, () => getProgress(engine, eid).unit === 1);
    expect(getProgress(engine, eid)).toMatchObject({ state: 'running', scale: 0 });
    await frames(engine, () => getProgress(engine, eid).scale === 4);
    expect(await tokens(engine, eid)).toEqual(await direct('green and white dots, coarse'));

    setGenerationSettings(engine, long, { prompt: 'red checker' });
    await frames(engine, () => getProgress(engine, long).unit === 1);
    expect(getProgress(engine, long)).toMatchObject({ state: 'running' });
    expect(getProgress(engine, long).error).toBeUndefined();
    disposeEngine(engine);
  });
});
