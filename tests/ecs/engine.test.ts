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

/** A world with the fixture model registered as `modelId`. */
function engine(options: EngineOptions = {}): { world: Engine; modelId: number } {
  const world = createEngine(gpu, options);
  return { world, modelId: addModel(world, model) };
}

let clock = 0;

/** One frame, then a pause like a browser's between frames, so GPU completions can arrive. */
async function frame(world: Engine): Promise<void> {
  runFrame(world, (clock += 16));
  await gpu.device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 0));
}

/** Runs frames until `until` holds; returns how many ran. */
async function frames(world: Engine, until: () => boolean, max = 400): Promise<number> {
  let n = 0;
  while (!until()) {
    if (++n > max) throw new Error(`no result after ${max} frames`);
    await frame(world);
  }
  return n;
}

/** Units each generation has run. */
const units = (world: Engine, eids: number[]) => eids.map((eid) => getProgress(world, eid).unit);

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
    const sliced = engine({ budgetMs: TINY });
    const whole = engine({ budgetMs: Infinity });
    const a = addGeneration(sliced.world, { model: sliced.modelId, ...SAMPLING, visible: false });
    const b = addGeneration(whole.world, { model: whole.modelId, ...SAMPLING, visible: false });
    const written: number[] = [];
    setTextureListener(whole.world, (eid, _texture, change) => change === 'written' && written.push(eid));

    expect(runFrame(whole.world, 0)).toBeUndefined();
    expect(getProgress(whole.world, b)).toEqual({ state: 'done', scale: 4, scales: 4, unit: 14, units: 14 });
    expect(whole.world.stats.units).toBe(14);
    expect(written).toEqual([b]);

    // Every sliced frame runs exactly one unit; stop before the decode (the tokens are final by then).
    const perFrame: number[] = [];
    while (getProgress(sliced.world, a).scale < 4) {
      const result: unknown = runFrame(sliced.world, (clock += 16));
      expect(result).toBeUndefined();
      perFrame.push(sliced.world.stats.units);
      expect(perFrame.length).toBeLessThan(100);
    }
    expect(getProgress(sliced.world, a)).toEqual({ state: 'running', scale: 4, scales: 4, unit: 13, units: 14 });
    expect(perFrame).toEqual(new Array(13).fill(1));
    expect(await tokens(getSession(sliced.world, a))).toEqual(await tokens(getSession(whole.world, b)));
    disposeEngine(sliced.world);
    disposeEngine(whole.world);
  });

  it('creates a texture once, and writes a preview into it when a scale finishes', async () => {
    const { world, modelId } = engine({ budgetMs: TINY, mipmaps: true });
    const events: [number, TextureChange][] = [];
    const seen = new Set<GPUTexture>();
    setTextureListener(world, (eid, texture, change) => {
      events.push([eid, change]);
      seen.add(texture);
    });
    const eid = addGeneration(world, { model: modelId, ...SAMPLING });
    // condition, blocks, blocks, sample (scale 0 done), then the preview as the fifth frame's unit.
    for (let i = 0; i < 4; i++) await frame(world);
    const texture = getTexture(world, eid)!;
    expect([texture.width, texture.height, texture.format, texture.mipLevelCount]).toEqual([64, 64, 'rgba8unorm', 7]);
    expect(events).toEqual([[eid, 'created']]);
    await frame(world);
    expect(world.stats.units).toBe(1);
    expect(events).toEqual([[eid, 'created'], [eid, 'written']]);
    expect([...seen]).toEqual([texture]);
    expect(getProgress(world, eid)).toMatchObject({ state: 'running', scale: 1, unit: 4 });

    const image = (await gpu.read(getSession(world, eid)!.image)) as Float32Array;
    const texels = await readTexture(texture);
    const plane = 64 * 64;
    let worst = 0;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(texels[4 * i + c] - image[c * plane + i] * 255));
      expect(texels[4 * i + 3]).toBe(255);
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);

    removeGeneration(world, eid);
    expect(events.at(-1)).toEqual([eid, 'removed']);
    expect(getTexture(world, eid)).toBeUndefined();
    expect(() => getProgress(world, eid)).toThrow(/entity \d+ is not a generation of this world/);
    disposeEngine(world);
  });

  it('makes material maps with the image while a generation asks for them, in the same submission', async () => {
    const { world, modelId } = engine({ budgetMs: Infinity });
    const maps: (MaterialTextures | undefined)[] = [];
    const written: number[] = [];
    setMaterialListener(world, (_eid, m) => maps.push(m));
    setTextureListener(world, (eid, _texture, change) => change === 'written' && written.push(eid));
    const eid = addGeneration(world, { model: modelId, ...SAMPLING, material: true });
    runFrame(world, (clock += 16));
    expect(getProgress(world, eid).state).toBe('done');
    expect(maps.length).toBe(1);
    const textures = maps[0]!;
    expect([textures.normal.width, textures.roughness.height, textures.ao.format]).toEqual([64, 64, 'rgba8unorm']);

    // What the texture holds is the session's image's maps, quantised to bytes.
    const expectMapsOf = async (textures: MaterialTextures) => {
      let want: ReturnType<typeof recordMaterialMaps> | undefined;
      gpu.run('maps', (rec) => { want = recordMaterialMaps(gpu, rec, getSession(world, eid)!.image); });
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
    setGenerationSettings(world, eid, { material: false });
    runFrame(world, (clock += 16));
    expect(maps).toEqual([textures, undefined]);
    expect(world.materials.size).toBe(0);
    setGenerationSettings(world, eid, { material: true });
    runFrame(world, (clock += 16));
    expect(maps.length).toBe(3);
    expect(written).toEqual([eid, eid]);
    expect(getProgress(world, eid).state).toBe('done');
    await expectMapsOf(maps[2]!);
    removeGeneration(world, eid);
    expect(maps.at(-1)).toBeUndefined();
    expect(world.materials.size).toBe(0);
    disposeEngine(world);
  });

  it('runs generations by priority and restarts only the one whose settings changed', async () => {
    const { world, modelId } = engine({ budgetMs: TINY });
    const first = addGeneration(world, { model: modelId, ...SAMPLING, selected: true });
    const second = addGeneration(world, { model: modelId, ...SAMPLING, seed: 12 });
    const hidden = addGeneration(world, { model: modelId, ...SAMPLING, seed: 13, visible: false, priority: 9 });
    const all = [first, second, hidden];

    // One unit per frame: the selected generation first, then visible ones, then by priority.
    for (let i = 0; i < 3; i++) await frame(world);
    expect(units(world, all)).toEqual([3, 0, 0]);
    const firstSession = getSession(world, first);
    setGenerationSettings(world, first, { selected: false, visible: false });
    for (let i = 0; i < 3; i++) await frame(world);
    expect(units(world, all)).toEqual([3, 3, 0]);
    const secondSession = getSession(world, second);
    setGenerationSettings(world, second, { visible: false, seed: 12 });
    for (let i = 0; i < 2; i++) await frame(world);
    expect(units(world, all)).toEqual([3, 3, 2]);
    expect(getSession(world, first)).toBe(firstSession);
    expect(getSession(world, second)).toBe(secondSession);

    // A new seed restarts its generation alone; the others keep their sessions and progress.
    setGenerationSettings(world, first, { seed: 99 });
    await frame(world);
    expect(getSession(world, first)).not.toBe(firstSession);
    expect(getProgress(world, first)).toMatchObject({ state: 'running', unit: 0 });
    expect(units(world, all)).toEqual([0, 3, 3]);
    expect(getSession(world, second)).toBe(secondSession);

    setGenerationSettings(world, first, { priority: 10 });
    await frames(world, () => getProgress(world, first).scale === 4);
    expect(units(world, all)).toEqual([13, 3, 3]);
    expect(await tokens(getSession(world, first))).toEqual(await directTokens({ ...SAMPLING, seed: 99 }));
    disposeEngine(world);
  });

  it('puts invalid settings in an error state with a message while the others keep running', async () => {
    const { world, modelId } = engine({ budgetMs: 0.5 });
    const good = addGeneration(world, { model: modelId, ...SAMPLING, visible: false });
    const badClass = addGeneration(world, { model: modelId, ...SAMPLING, classLabel: 10 });
    const badTopP = addGeneration(world, { model: modelId, ...SAMPLING, topP: 1.5 });
    const badSeed = addGeneration(world, { model: modelId, ...SAMPLING, seed: -1 });
    const noModel = addGeneration(world, { model: 42, ...SAMPLING });
    for (let i = 0; i < 3; i++) await frame(world);
    expect(getProgress(world, good)).toMatchObject({ state: 'running', unit: 3 });
    expect(getProgress(world, badClass)).toMatchObject({ state: 'error', error: expect.stringMatching(/class label 10 is out of range.*0\.\.9/) });
    expect(getProgress(world, badTopP).error).toMatch(/top-p must be in \[0, 1\], found 1\.5/);
    expect(getProgress(world, badSeed).error).toMatch(/seed must be .*found -1/);
    expect(getProgress(world, noModel).error).toMatch(/model 42 is not loaded \(loaded model ids: 1\)/);
    expect(getTexture(world, badClass)).toBeDefined();
    expect(getTexture(world, noModel)).toBeUndefined();

    setGenerationSettings(world, badClass, { classLabel: 9, selected: true });
    await frame(world);
    expect(getProgress(world, badClass)).toMatchObject({ state: 'running', unit: 1 });
    expect(getProgress(world, badClass).error).toBeUndefined();
    expect(() => setGenerationSettings(world, 999, { seed: 1 })).toThrow(/entity 999 is not a generation/);
    disposeEngine(world);
  });

  it('learns unit costs from what the GPU reports, without awaiting inside a frame', async () => {
    const { world, modelId } = engine({ budgetMs: 2 });
    const eid = addGeneration(world, { model: modelId, ...SAMPLING, visible: false });
    const n = await frames(world, () => getProgress(world, eid).unit >= 6);
    expect(n).toBeGreaterThan(1);
    expect(world.costs.samples).toBe(getProgress(world, eid).unit);
    const blocks = estimateCost(world.costs, modelId, 'blocks', 0);
    expect(blocks).toBeGreaterThan(0);
    expect(Number.isFinite(blocks)).toBe(true);
    expect(world.stats.measuredFrame).toBe(world.stats.frame);
    expect(world.stats.measuredMs).toBeGreaterThan(0);
    expect(world.stats.estimatedMs).toBeGreaterThan(0);

    // A budget set live to three of the next units' estimates runs three of them, within the budget.
    const s = getProgress(world, eid).scale;
    const biggest = Math.max(...(['blocks', 'sample'] as const).flatMap((k) => [s, s + 1].map((scale) => estimateCost(world.costs, modelId, k, scale))));
    setBudget(world, 3 * biggest);
    await frame(world);
    expect(world.stats.units).toBeGreaterThanOrEqual(3);
    expect(world.stats.estimatedMs).toBeLessThanOrEqual(3 * biggest);
    disposeEngine(world);
  });
});
