/**
 * Generations as entities: adding one, changing its settings (the settings system restarts it on the
 * next frame), removing it, and reading its progress. These functions only write components and
 * engine-side maps; no GPU work happens outside `runFrame`.
 */
import { entityExists, hasComponent, removeEntity } from 'bitecs';
import { addEntityWith, clearEntity, GenerationState, SAMPLING_DEFAULTS, samplingOf, STATE_NAMES, type GenerationStateName, type SamplingSettings } from './components.ts';
import type { ImageGeneration } from '../generate/generation.ts';
import { dropMaterial, type Engine } from './engine.ts';

/** What a generation makes and how it is scheduled. */
export interface GenerationSettings extends SamplingSettings {
  /** Higher runs first among generations of equal selection and visibility. Default 0. */
  priority?: number;
  /** Shown by a scene: scheduled before hidden generations and previewed at every scale. Default true. */
  visible?: boolean;
  /** Selected by the user: scheduled before everything else. Default false. */
  selected?: boolean;
  /**
   * Also make the material maps (normal, roughness, ambient occlusion) of every image written to its
   * texture (runtime/generate/material.ts); `setMaterialListener` hears of them. Default false.
   */
  material?: boolean;
}

/** The settings whose change restarts a generation (the others only reorder the schedule). */
const RESTARTING = ['model', 'classLabel', 'seed', 'cfg', 'topK', 'topP', 'temperature'] as const;

export interface Progress {
  state: GenerationStateName;
  /** Scales finished, out of `scales` (`scale === scales` when done). */
  scale: number;
  scales: number;
  /** Units of work done, out of `units`. */
  unit: number;
  units: number;
  /** Why the generation is in the error state. */
  error?: string;
}

/**
 * Adds a generation; it starts on the next frame. Returns its entity id (ids of removed generations
 * are reused).
 *
 * @example
 *   const eid = addGeneration(engine, { model, classLabel: 3, seed: 7 });
 *   runFrame(engine, performance.now());
 *   getProgress(engine, eid); // { state: 'running', scale: 0, scales: 10, unit: 1, units: 172 }
 */
export function addGeneration(engine: Engine, settings: GenerationSettings): number {
  const G = engine.Generation;
  const eid = addEntityWith(engine, G, { ...SAMPLING_DEFAULTS, visible: 1, state: GenerationState.idle }, 'addGeneration');
  setGenerationSettings(engine, eid, settings);
  G.dirty[eid] = 1;
  return eid;
}

/**
 * Changes some settings. A change of model, class, prompt, seed or sampling restarts the generation
 * on the next frame (invalid values put it in the error state, with a message from `getProgress`);
 * priority, visibility and selection only change its place in the schedule.
 */
export function setGenerationSettings(engine: Engine, eid: number, settings: Partial<GenerationSettings>): void {
  checkGeneration(engine, eid, 'setGenerationSettings');
  const G = engine.Generation;
  for (const key of RESTARTING) {
    const value = settings[key];
    if (value === undefined) continue;
    const field = G[key];
    const before = field[eid];
    field[eid] = value;
    if (!Object.is(before, field[eid])) G.dirty[eid] = 1;
  }
  if (settings.prompt !== undefined && settings.prompt !== engine.prompts.get(eid)) {
    engine.prompts.set(eid, settings.prompt);
    G.dirty[eid] = 1;
  }
  if (settings.priority !== undefined) G.priority[eid] = settings.priority;
  if (settings.visible !== undefined) G.visible[eid] = settings.visible ? 1 : 0;
  if (settings.selected !== undefined) G.selected[eid] = settings.selected ? 1 : 0;
  if (settings.material !== undefined && G.material[eid] !== (settings.material ? 1 : 0)) {
    G.material[eid] = settings.material ? 1 : 0;
    // Maps asked for after the image was written are made from it on the next frame.
    if (settings.material) G.imageDirty[eid] = 1;
  }
}

/** The settings as stored (after defaults). */
export function getGenerationSettings(engine: Engine, eid: number): Required<Omit<GenerationSettings, 'prompt'>> & { prompt?: string } {
  checkGeneration(engine, eid, 'getGenerationSettings');
  const G = engine.Generation;
  return {
    model: G.model[eid],
    ...samplingOf(G, engine.prompts, eid, engine.models.get(G.model[eid])?.config.family),
    priority: G.priority[eid],
    visible: G.visible[eid] === 1,
    selected: G.selected[eid] === 1,
    material: G.material[eid] === 1,
  };
}

/** Restarts a generation from scratch on the next frame with unchanged settings. */
export function restartGeneration(engine: Engine, eid: number): void {
  checkGeneration(engine, eid, 'restartGeneration');
  engine.Generation.dirty[eid] = 1;
}

/** Removes a generation: disposes its session, destroys its texture (the listener hears 'removed'). */
export function removeGeneration(engine: Engine, eid: number): void {
  checkGeneration(engine, eid, 'removeGeneration');
  stopSession(engine, eid);
  const texture = engine.textures.get(eid);
  if (texture) {
    engine.onTexture?.(eid, texture, 'removed');
    texture.destroy();
  }
  engine.textures.delete(eid);
  engine.textureViews.delete(eid);
  dropMaterial(engine, eid);
  engine.prompts.delete(eid);
  engine.errors.delete(eid);
  clearEntity(engine.Generation, eid);
  removeEntity(engine, eid);
}

/** Where a generation stands. */
export function getProgress(engine: Engine, eid: number): Progress {
  checkGeneration(engine, eid, 'getProgress');
  const G = engine.Generation;
  const p: Progress = { state: STATE_NAMES[G.state[eid]], scale: G.scale[eid], scales: G.scales[eid], unit: G.unit[eid], units: G.units[eid] };
  const error = engine.errors.get(eid);
  if (error !== undefined) p.error = error;
  return p;
}

/** The generation's session (its tokens and image), if it has one. */
export function getSession(engine: Engine, eid: number): ImageGeneration | undefined {
  return engine.sessions.get(eid);
}

/** The generation's texture, once the texture system has created it. */
export function getTexture(engine: Engine, eid: number): GPUTexture | undefined {
  return engine.textures.get(eid);
}

/** Disposes a generation's session and resets its progress (its texture keeps the last image). */
export function stopSession(engine: Engine, eid: number): void {
  const G = engine.Generation;
  engine.sessions.get(eid)?.dispose();
  engine.sessions.delete(eid);
  engine.errors.delete(eid);
  G.scale[eid] = 0;
  G.unit[eid] = 0;
  G.previewPending[eid] = 0;
  G.plannedSteps[eid] = 0;
  G.plannedPreview[eid] = 0;
  G.state[eid] = GenerationState.idle;
}

function checkGeneration(engine: Engine, eid: number, fn: string): void {
  if (!entityExists(engine, eid) || !hasComponent(engine, eid, engine.Generation)) {
    throw new Error(`${fn}: entity ${eid} is not a generation of this engine`);
  }
}
