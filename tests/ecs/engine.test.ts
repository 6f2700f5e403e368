/**
 * The engine on real WebGPU with the var-tiny fixture model: frames run generations within a budget,
 * the split of work never changes the tokens, settings changes restart only their generation,
 * priorities order the work, bad settings become error states, and the cost model learns from what
 * the GPU reports.
 *
 * On SwiftShader a decode (the final image or a preview) costs several times a whole generation's
 * transformer work, so only two tests decode (once each); the others stop before the end or keep their
 * generations hidden (no previews).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addGeneration,
  addModel,
  createEngine,
  disposeEngine,
  estimateCost,
  getProgress,
  getSession,
  getTexture,
  removeGeneration,
  runFrame,
  setBudget,
  setGenerationSettings,
  setMaterialListener,
  setTextureListener,
  type Engine,
  type MaterialTextures,
  type EngineOptions,
  type TextureChange,
} from '../../runtime/ecs/index.ts';
import { disposeMaps, recordMaterialMaps } from '../../runtime/generate/material.ts';
import { VarSession } from '../../runtime/generate/var-session.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { loadVarFolder } from '../../runtime/models/var/load.ts';
import type { VarModel } from '../../runtime/models/var/model.ts';
import { testGpu } from '../helpers.ts';

const FIXTURE = new URL('../fixtures/var-tiny', import.meta.url).pathname;
/** A budget no unit fits: every frame runs exactly one unit. */
const TINY = 1e-6;
const SAMPLING = { classLabel: 3, seed: 11, cfg: 2, topK: 8, topP: 0.9, temperature: 1.2 };

let gpu: Gpu;
let model: VarModel;

/** An engine with the fixture model registered as `modelId`. */
function withModel(options: EngineOptions = {}): { engine: Engine; modelId: number } {
  const engine = createEngine(gpu, options);
  return { engine, modelId: addModel(engine, model) };
}

let clock = 0;

/** One frame, then a pause like a browser's between frames, so GPU completions can arrive. */
async function frame(engine: Engine): Promise<void> {
  runFrame(engine, (clock += 16));
  await gpu.device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 0));
}

/** Runs frames until `until` holds; returns how many ran. */
async function frames(engine: Engine, until: () => boolean, max = 400): Promise<number> {
  let n = 0;
  while (!until()) {
    if (++n > max) throw new Error(`no result after ${max} frames`);
    await frame(engine);
  }
  return n;
}

/** Units each generation has run. */
const units = (engine: Engine, eids: number[]) => eids.map((eid) => getProgress(engine, eid).unit);

async function tokens(session: { readTokens(): Promise<Int32Array[]> } | undefined): Promise<number[][]> {
  return (await session!.readTokens()).map((t) => Array.from(t));
}

/** Tokens of a session run directly, in one go, with the same settings (the decode skipped). */
async function directTokens(s: { classLabel: number; seed: number; cfg: number; topK: number; topP: number; temperature: number }): Promise<number[][]> {
  const session = new VarSession(model, { labels: [s.classLabel], seed: s.seed, cfg: s.cfg, topK: s.topK, topP: s.topP, temperature: s.temperature });
  while (session.scale < session.scales) session.step();
  const t = await tokens(session);
  session.dispose();
  return t;
}

/** The texture's level 0 as bytes (rows of 64 RGBA texels: 256 bytes, no padding needed). */
async function readTexture(texture: GPUTexture): Promise<Uint8Array> {
  const bytes = texture.width * texture.height * 4;
  const buffer = gpu.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = gpu.device.createCommandEncoder();
  encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow: texture.width * 4 }, [texture.width, texture.height]);
  gpu.device.queue.submit([encoder.finish()]);
  await buffer.mapAsync(GPUMapMode.READ);
  const out = new Uint8Array(buffer.getMappedRange().slice(0));
  buffer.destroy();
  return out;
}

describe('engine on var-tiny', () => {
  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadVarFolder(gpu, FIXTURE, { encoder: false });
  });

  it('gives the same tokens with one unit per frame as with an unlimited budget, and never waits', async () => {
    const sliced = withModel({ budgetMs: TINY });
    const whole = withModel({ budgetMs: Infinity });
    const a = addGeneration(sliced.engine, { model: sliced.modelId, ...SAMPLING, visible: false });
    const b = addGeneration(whole.engine, { model: whole.modelId, ...SAMPLING, visible: false });
    const written: number[] = [];
    setTextureListener(whole.engine, (eid, _texture, change) => change === 'written' && written.push(eid));

    expect(runFrame(whole.engine, 0)).toBeUndefined();
    expect(getProgress(whole.engine, b)).toEqual({ state: 'done', scale: 4, scales: 4, unit: 14, units: 14 });
    expect(whole.engine.stats.units).toBe(14);
    expect(written).toEqual([b]);

    // Every sliced frame runs exactly one unit; stop before the decode (the tokens are final by then).
    const perFrame: number[] = [];
    while (getProgress(sliced.engine, a).scale < 4) {
      const result: unknown = runFrame(sliced.engine, (clock += 16));
      expect(result).toBeUndefined();
      perFrame.push(sliced.engine.stats.units);
      expect(perFrame.length).toBeLessThan(100);
    }
    expect(getProgress(sliced.engine, a)).toEqual({ state: 'running', scale: 4, scales: 4, unit: 13, units: 14 });
    expect(perFrame).toEqual(new Array(13).fill(1));
    expect(await tokens(getSession(sliced.engine, a))).toEqual(await tokens(getSession(whole.engine, b)));
    disposeEngine(sliced.engine);
    disposeEngine(whole.engine);
  });

  it('creates a texture once, and writes a preview into it when a scale finishes', async () => {
    const { engine, modelId } = withModel({ budgetMs: TINY, mipmaps: true });
    const events: [number, TextureChange][] = [];
    const seen = new Set<GPUTexture>();
    setTextureListener(engine, (eid, texture, change) => {
      events.push([eid, change]);
      seen.add(texture);
    });
    const eid = addGeneration(engine, { model: modelId, ...SAMPLING });
    // condition, blocks, blocks, sample (scale 0 done), then the preview as the fifth frame's unit.
    for (let i = 0; i < 4; i++) await frame(engine);
    const texture = getTexture(engine, eid)!;
    expect([texture.width, texture.height, texture.format, texture.mipLevelCount]).toEqual([64, 64, 'rgba8unorm', 7]);
    expect(events).toEqual([[eid, 'created']]);
    await frame(engine);
    expect(engine.stats.units).toBe(1);
    expect(events).toEqual([[eid, 'created'], [eid, 'written']]);
    expect([...seen]).toEqual([texture]);
    expect(getProgress(engine, eid)).toMatchObject({ state: 'running', scale: 1, unit: 4 });

    const image = (await gpu.read(getSession(engine, eid)!.image)) as Float32Array;
    const texels = await readTexture(texture);
    const plane = 64 * 64;
    let worst = 0;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(texels[4 * i + c] - image[c * plane + i] * 255));
      expect(texels[4 * i + 3]).toBe(255);
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);

    removeGeneration(engine, eid);
    expect(events.at(-1)).toEqual([eid, 'removed']);
    expect(getTexture(engine, eid)).toBeUndefined();
    expect(() => getProgress(engine, eid)).toThrow(/entity \d+ is not a generation of this engine/);
    disposeEngine(engine);
  });

  it('makes material maps with the image while a generation asks for them, in the same submission', async () => {
    const { engine, modelId } = withModel({ budgetMs: Infinity });
    const maps: (MaterialTextures | undefined)[] = [];
    const written: number[] = [];
    setMaterialListener(engine, (_eid, m) => maps.push(m));
    setTextureListener(engine, (eid, _texture, change) => change === 'written' && written.push(eid));
    const eid = addGeneration(engine, { model: modelId, ...SAMPLING, material: true });
    runFrame(engine, (clock += 16));
    expect(getProgress(engine, eid).state).toBe('done');
    expect(maps.length).toBe(1);
    const textures = maps[0]!;
    expect([textures.normal.width, textures.roughness.height, textures.ao.format]).toEqual([64, 64, 'rgba8unorm']);

    // What the texture holds is the session's image's maps, quantised to bytes.
    const expectMapsOf = async (textures: MaterialTextures) => {
      let want: ReturnType<typeof recordMaterialMaps> | undefined;
      gpu.run('maps', (rec) => { want = recordMaterialMaps(gpu, rec, getSession(engine, eid)!.image); });
      const plane = 64 * 64;
      for (const kind of ['normal', 'roughness', 'ao'] as const) {
        const values = (await gpu.read(want![kind])) as Float32Array;
        const texels = await readTexture(textures[kind]);
        let worst = 0;
        for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(texels[4 * i + c] - Math.min(Math.max(values[c * plane + i], 0), 1) * 255));
        expect(worst, kind).toBeLessThanOrEqual(0.5 + 1e-3);
        expect(Math.max(...values) - Math.min(...values), `${kind} varies`).toBeGreaterThan(0.02);
      }
      disposeMaps(want!);
    };
    await expectMapsOf(textures);
    expect(written).toEqual([eid]);

    // No longer asked for: dropped. Asked again after the image is final: made from it on the next frame.
    setGenerationSettings(engine, eid, { material: false });
    runFrame(engine, (clock += 16));
    expect(maps).toEqual([textures, undefined]);
    expect(engine.materials.size).toBe(0);
    setGenerationSettings(engine, eid, { material: true });
    runFrame(engine, (clock += 16));
    expect(maps.length).toBe(3);
    expect(written).toEqual([eid, eid]);
    expect(getProgress(engine, eid).state).toBe('done');
    await expectMapsOf(maps[2]!);
    removeGeneration(engine, eid);
    expect(maps.at(-1)).toBeUndefined();
    expect(engine.materials.size).toBe(0);
    disposeEngine(engine);
  });

  it('runs generations by priority and restarts only the one whose settings changed', async () => {
    const { engine, modelId } = withModel({ budgetMs: TINY });
    const first = addGeneration(engine, { model: modelId, ...SAMPLING, selected: true });
    const second = addGeneration(engine, { model: modelId, ...SAMPLING, seed: 12 });
    const hidden = addGeneration(engine, { model: modelId, ...SAMPLING, seed: 13, visible: false, priority: 9 });
    const all = [first, second, hidden];

    // One unit per frame: the selected generation first, then visible ones, then by priority.
    for (let i = 0; i < 3; i++) await frame(engine);
    expect(units(engine, all)).toEqual([3, 0, 0]);
    const firstSession = getSession(engine, first);
    setGenerationSettings(engine, first, { selected: false, visible: false });
    for (let i = 0; i < 3; i++) await frame(engine);
    expect(units(engine, all)).toEqual([3, 3, 0]);
    const secondSession = getSession(engine, second);
    setGenerationSettings(engine, second, { visible: false, seed: 12 });
    for (let i = 0; i < 2; i++) await frame(engine);
    expect(units(engine, all)).toEqual([3, 3, 2]);
    expect(getSession(engine, first)).toBe(firstSession);
    expect(getSession(engine, second)).toBe(secondSession);

    // A new seed restarts its generation alone; the others keep their sessions and progress.
    setGenerationSettings(engine, first, { seed: 99 });
    await frame(engine);
    expect(getSession(engine, first)).not.toBe(firstSession);
    expect(getProgress(engine, first)).toMatchObject({ state: 'running', unit: 0 });
    expect(units(engine, all)).toEqual([0, 3, 3]);
    expect(getSession(engine, second)).toBe(secondSession);

    setGenerationSettings(engine, first, { priority: 10 });
    await frames(engine, () => getProgress(engine, first).scale === 4);
    expect(units(engine, all)).toEqual([13, 3, 3]);
    expect(await tokens(getSession(engine, first))).toEqual(await directTokens({ ...SAMPLING, seed: 99 }));
    disposeEngine(engine);
  });

  it('puts invalid settings in an error state with a message while the others keep running', async () => {
    const { engine, modelId } = withModel({ budgetMs: 0.5 });
    const good = addGeneration(engine, { model: modelId, ...SAMPLING, visible: false });
    const badClass = addGeneration(engine, { model: modelId, ...SAMPLING, classLabel: 10 });
    const badTopP = addGeneration(engine, { model: modelId, ...SAMPLING, topP: 1.5 });
    const badSeed = addGeneration(engine, { model: modelId, ...SAMPLING, seed: -1 });
    const noModel = addGeneration(engine, { model: 42, ...SAMPLING });
    for (let i = 0; i < 3; i++) await frame(engine);
    expect(getProgress(engine, good)).toMatchObject({ state: 'running', unit: 3 });
    expect(getProgress(engine, badClass)).toMatchObject({ state: 'error', error: expect.stringMatching(/class label 10 is out of range.*0\.\.9/) });
    expect(getProgress(engine, badTopP).error).toMatch(/top-p must be in \[0, 1\], found 1\.5/);
    expect(getProgress(engine, badSeed).error).toMatch(/seed must be .*found -1/);
    expect(getProgress(engine, noModel).error).toMatch(/model 42 is not loaded \(loaded model ids: 1\)/);
    expect(getTexture(engine, badClass)).toBeDefined();
    expect(getTexture(engine, noModel)).toBeUndefined();

    setGenerationSettings(engine, badClass, { classLabel: 9, selected: true });
    await frame(engine);
    expect(getProgress(engine, badClass)).toMatchObject({ state: 'running', unit: 1 });
    expect(getProgress(engine, badClass).error).toBeUndefined();
    expect(() => setGenerationSettings(engine, 999, { seed: 1 })).toThrow(/entity 999 is not a generation/);
    disposeEngine(engine);
  });

  it('learns unit costs from what the GPU reports, without awaiting inside a frame', async () => {
    const { engine, modelId } = withModel({ budgetMs: 2 });
    const eid = addGeneration(engine, { model: modelId, ...SAMPLING, visible: false });
    const n = await frames(engine, () => getProgress(engine, eid).unit >= 6);
    expect(n).toBeGreaterThan(1);
    expect(engine.costs.samples).toBe(getProgress(engine, eid).unit);
    const blocks = estimateCost(engine.costs, modelId, 'blocks', 0);
    expect(blocks).toBeGreaterThan(0);
    expect(Number.isFinite(blocks)).toBe(true);
    expect(engine.stats.measuredFrame).toBe(engine.stats.frame);
    expect(engine.stats.measuredMs).toBeGreaterThan(0);
    expect(engine.stats.estimatedMs).toBeGreaterThan(0);

    // A budget set live to three of the next units' estimates runs three of them, within the budget.
    const s = getProgress(engine, eid).scale;
    const biggest = Math.max(...(['blocks', 'sample'] as const).flatMap((k) => [s, s + 1].map((scale) => estimateCost(engine.costs, modelId, k, scale))));
    setBudget(engine, 3 * biggest);
    await frame(engine);
    expect(engine.stats.units).toBeGreaterThanOrEqual(3);
    expect(engine.stats.estimatedMs).toBeLessThanOrEqual(3 * biggest);
    disposeEngine(engine);
  });
});
