/**
 * The engine's systems, run in this order by `runFrame`:
 *
 *   settings → texture → schedule → step → preview → video
 *
 * settings restarts generations whose settings changed; texture gives each generation its GPUTexture;
 * schedule orders the runnable generations (selected, then visible, then by priority) and fills the
 * frame's GPU budget with their next units, priced by the cost model; step submits the session steps
 * the schedule chose; preview decodes finished scales and writes images into textures; video plays the
 * videos with what is left of the budget (video-system.ts). No system waits on the GPU: work is
 * submitted, and its cost is learned when the GPU reports it done.
 */
import { query } from 'bitecs';
import type { Recorder } from '../gpu/index.ts';
import { createGeneration } from '../generate/generation.ts';
import { recordImageTextures } from '../generate/material.ts';
import type { StepKind } from '../generate/steps.ts';
import { GenerationState, samplingOf, type GenerationComponent } from './components.ts';
import { estimateCost } from './cost-model.ts';
import { stopSession } from './generations.ts';
import { trackUnit } from './units.ts';
import { videoSystem } from './video-system.ts';
import { dropMaterial, type Engine, type MaterialTextures, type System } from './engine.ts';

/** Floor of a unit's estimated cost, so a frame holds finitely many units whatever was measured. */
const MIN_UNIT_MS = 1e-3;

/**
 * Runs one frame: advances the clock and runs the engine's systems in order. Returns at once; the GPU
 * works on what was submitted while the caller renders.
 *
 * @example
 *   runFrame(engine, performance.now());
 *   engine.stats; // { frame: 1, units: 3, dispatches: 57, estimatedMs: 2.9, measuredMs: 0, measuredFrame: 0, cpuMs: 0.4 }
 */
export function runFrame(engine: Engine, nowMs: number): void {
  const started = performance.now();
  const t = engine.time;
  t.delta = t.frame === 0 ? 0 : nowMs - t.now;
  t.now = nowMs;
  t.frame++;
  const stats = engine.stats;
  stats.frame = t.frame;
  stats.units = 0;
  stats.dispatches = 0;
  stats.estimatedMs = 0;
  for (const system of engine.systems) system(engine);
  stats.cpuMs = performance.now() - started;
}

/** Restarts generations whose settings changed; refused settings become the error state with a message. */
export function settingsSystem(engine: Engine): void {
  const G = engine.Generation;
  for (const eid of query(engine, [G])) {
    if (!G.dirty[eid]) continue;
    G.dirty[eid] = 0;
    stopSession(engine, eid);
    try {
      const model = engine.models.get(G.model[eid]);
      if (!model) throw new Error(`model ${G.model[eid]} is not loaded (loaded model ids: ${[...engine.models.keys()].join(', ') || 'none'})`);
      const { classLabel, prompt, ...sampling } = samplingOf(G, engine.prompts, eid, model.config.family);
      const session = createGeneration(model, { classLabel, prompt }, sampling, engine.options.blocksPerUnit);
      engine.sessions.set(eid, session);
      G.scales[eid] = session.scales;
      G.units[eid] = session.totalSteps;
      G.state[eid] = GenerationState.running;
    } catch (e) {
      fail(engine, eid, e);
    }
  }
}

/**
 * Creates each generation's texture once its model is known (again if the model's image size changes),
 * and its material maps while it asks for them.
 */
export function textureSystem(engine: Engine): void {
  const G = engine.Generation;
  for (const eid of query(engine, [G])) {
    const model = engine.models.get(G.model[eid]);
    if (!model) continue;
    const size = model.imageSize;
    const old = engine.textures.get(eid);
    if (!old || old.width !== size || old.height !== size) {
      if (old) {
        engine.onTexture?.(eid, old, 'removed');
        old.destroy();
      }
      const texture = createImageTexture(engine, `generation ${eid}`, size);
      engine.textures.set(eid, texture);
      engine.textureViews.set(eid, texture.createView({ baseMipLevel: 0, mipLevelCount: 1 }));
      G.texture[eid] = engine.nextTextureId++;
      engine.onTexture?.(eid, texture, 'created');
    }
    const maps = engine.materials.get(eid);
    if (maps && (!G.material[eid] || maps.textures.normal.width !== size)) dropMaterial(engine, eid);
    if (G.material[eid] && !engine.materials.has(eid)) {
      const make = (kind: string) => createImageTexture(engine, `generation ${eid} ${kind}`, size);
      const textures: MaterialTextures = { normal: make('normal'), roughness: make('roughness'), ao: make('ao') };
      const level0 = (t: GPUTexture) => t.createView({ baseMipLevel: 0, mipLevelCount: 1 });
      engine.materials.set(eid, { textures, views: { normal: level0(textures.normal), roughness: level0(textures.roughness), ao: level0(textures.ao) } });
      G.imageDirty[eid] = 1;
      engine.onMaterial?.(eid, textures);
    }
  }
}

/** A size x size rgba8unorm texture the preview system writes (with a mip chain when the engine keeps mips). */
function createImageTexture(engine: Engine, label: string, size: number): GPUTexture {
  const mips = engine.options.mipmaps;
  return engine.gpu.device.createTexture({
    label,
    size: [size, size],
    format: 'rgba8unorm',
    mipLevelCount: mips ? Math.floor(Math.log2(size)) + 1 : 1,
    usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC | (mips ? GPUTextureUsage.RENDER_ATTACHMENT : 0),
  });
}

/**
 * Orders the running generations (selected first, then visible, then by priority, then oldest) and
 * plans each one's units for this frame: units are taken in that order while their estimated cost
 * fits the budget; a generation whose next unit does not fit leaves the rest of the budget to the
 * ones after it. The first unit is always taken, so progress never stalls and the budget is overrun
 * by at most one unit.
 */
export function scheduleSystem(engine: Engine): void {
  const G = engine.Generation;
  const order = engine.order;
  order.length = 0;
  for (const eid of query(engine, [G])) {
    G.plannedSteps[eid] = 0;
    G.plannedPreview[eid] = 0;
    if (G.state[eid] === GenerationState.running && engine.sessions.has(eid)) order.push(eid);
  }
  order.sort((a, b) => G.selected[b] - G.selected[a] || G.visible[b] - G.visible[a] || G.priority[b] - G.priority[a] || a - b);
  const budget = engine.budget.ms;
  let spent = 0;
  let taken = 0;
  for (const eid of order) {
    const session = engine.sessions.get(eid)!;
    const previewMs = unitCost(engine, eid, 'decode', session.scales);
    let preview = G.previewPending[eid] === 1 && wantsPreview(G, eid);
    for (let i = session.stepsTaken; ; ) {
      const isPreview = preview && G.plannedPreview[eid] === 0;
      if (!isPreview && i >= session.totalSteps) break;
      const unit = isPreview ? undefined : session.unit(i);
      const ms = unit ? unitCost(engine, eid, unit.kind, unit.scale) : previewMs;
      if (taken > 0 && spent + ms > budget) break;
      spent += ms;
      taken++;
      if (!unit) {
        G.plannedPreview[eid] = 1;
        continue;
      }
      G.plannedSteps[eid]++;
      i++;
      if (unit.kind === 'sample' && unit.scale < session.scales - 1 && wantsPreview(G, eid)) preview = true;
    }
  }
}

/** Submits the planned session steps; a finished scale queues a preview, a finished session its final image. */
export function stepSystem(engine: Engine): void {
  const G = engine.Generation;
  for (const eid of engine.order) {
    const session = engine.sessions.get(eid);
    if (!session || G.plannedSteps[eid] === 0) continue;
    try {
      for (let n = G.plannedSteps[eid]; n > 0 && !session.done; n--) {
        const { kind, scale } = session.unit(session.stepsTaken);
        const estimate = unitCost(engine, eid, kind, scale);
        const info = session.step(engine.options.timing);
        trackUnit(engine, G.model[eid], session.scales, info, estimate);
        G.unit[eid] = session.stepsTaken;
        if (info.kind === 'sample') {
          G.scale[eid] = info.scale + 1;
          if (info.scale < session.scales - 1 && wantsPreview(G, eid)) G.previewPending[eid] = 1;
        }
      }
      if (session.done) {
        G.state[eid] = GenerationState.done;
        G.previewPending[eid] = 0;
        G.imageDirty[eid] = 1;
      }
    } catch (e) {
      fail(engine, eid, e);
    }
  }
}

/**
 * Decodes the planned previews (the features of the scales finished so far) and writes every changed
 * image into its generation's texture (and its material maps into theirs), all writes in one submit;
 * then tells the texture listener.
 */
export function previewSystem(engine: Engine): void {
  const G = engine.Generation;
  for (const eid of engine.order) {
    const session = engine.sessions.get(eid);
    if (!session || !G.plannedPreview[eid] || !G.previewPending[eid] || session.done) continue;
    try {
      const info = session.preview(engine.options.timing);
      trackUnit(engine, G.model[eid], session.scales, info, unitCost(engine, eid, 'decode', session.scales));
      G.previewPending[eid] = 0;
      G.imageDirty[eid] = 1;
    } catch (e) {
      fail(engine, eid, e);
    }
  }
  // Every changed image, including finished ones whose maps were asked for after their last write.
  let rec: Recorder | undefined;
  const writes: number[] = [];
  for (const eid of query(engine, [G])) {
    const session = engine.sessions.get(eid);
    const view = engine.textureViews.get(eid);
    if (!G.imageDirty[eid] || !session || !view) continue;
    try {
      rec ??= engine.gpu.recorder('generation textures');
      recordImageTextures(engine.gpu, rec, session.image, { image: view, maps: engine.materials.get(eid)?.views });
      writes.push(eid);
    } catch (e) {
      fail(engine, eid, e);
    }
  }
  if (!rec) return;
  const sub = rec.submit();
  rec.dispose();
  engine.stats.dispatches += sub.dispatches;
  for (const eid of writes) {
    const texture = engine.textures.get(eid);
    if (!texture || !engine.sessions.has(eid)) continue;
    G.imageDirty[eid] = 0;
    engine.onTexture?.(eid, texture, 'written');
  }
}

/** The default systems, in the order `runFrame` runs them. */
export const SYSTEMS: readonly System[] = [settingsSystem, textureSystem, scheduleSystem, stepSystem, previewSystem, videoSystem];

function unitCost(engine: Engine, eid: number, kind: StepKind, scale: number): number {
  return Math.max(MIN_UNIT_MS, estimateCost(engine.costs, engine.Generation.model[eid], kind, scale));
}

function wantsPreview(G: GenerationComponent, eid: number): boolean {
  return G.visible[eid] === 1 || G.selected[eid] === 1;
}

function fail(engine: Engine, eid: number, e: unknown): void {
  stopSession(engine, eid);
  engine.Generation.state[eid] = GenerationState.error;
  engine.errors.set(eid, e instanceof Error ? e.message : String(e));
}
