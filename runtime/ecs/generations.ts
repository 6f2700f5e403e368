/**
 * Generations as entities: adding one, changing its settings (the settings system restarts it on the
 * next frame), removing it, and reading its progress. These functions only write components and
 * world-side maps; no GPU work happens outside `runFrame`.
 */
import { entityExists, hasComponent, removeEntity } from 'bitecs';
import { addEntityWith, clearEntity, GenerationState, SAMPLING_DEFAULTS, samplingOf, STATE_NAMES, type GenerationStateName, type SamplingSettings } from './components.ts';
import type { ImageGeneration } from '../generate/generation.ts';
import { dropMaterial, type Engine } from './world.ts';

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
 *   const eid = addGeneration(world, { model, classLabel: 3, seed: 7 });
 *   runFrame(world, performance.now());
 *   getProgress(world, eid); // { state: 'running', scale: 0, scales: 10, unit: 1, units: 172 }
 */
export function addGeneration(world: Engine, settings: GenerationSettings): number {
  const G = world.Generation;
  const eid = addEntityWith(world, G, { ...SAMPLING_DEFAULTS, visible: 1, state: GenerationState.idle }, 'addGeneration');
  setGenerationSettings(world, eid, settings);
  G.dirty[eid] = 1;
  return eid;
}

/**
 * Changes some settings. A change of model, class, prompt, seed or sampling restarts the generation
 * on the next frame (invalid values put it in the error state, with a message from `getProgress`);
 * priority, visibility and selection only change its place in the schedule.
 */
export function setGenerationSettings(world: Engine, eid: number, settings: Partial<GenerationSettings>): void {
  checkGeneration(world, eid, 'setGenerationSettings');
  const G = world.Generation;
  for (const key of RESTARTING) {
    const value = settings[key];
    if (value === undefined) continue;
    const field = G[key];
    const before = field[eid];
    field[eid] = value;
    if (!Object.is(before, field[eid])) G.dirty[eid] = 1;
  }
  if (settings.prompt !== undefined && settings.prompt !== world.prompts.get(eid)) {
    world.prompts.set(eid, settings.prompt);
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
export function getGenerationSettings(world: Engine, eid: number): Required<Omit<GenerationSettings, 'prompt'>> & { prompt?: string } {
  checkGeneration(world, eid, 'getGenerationSettings');
  const G = world.Generation;
  return {
    model: G.model[eid],
    ...samplingOf(G, world.prompts, eid, world.models.get(G.model[eid])?.config.family),
    priority: G.priority[eid],
    visible: G.visible[eid] === 1,
    selected: G.selected[eid] === 1,
    material: G.material[eid] === 1,
  };
}

/** Restarts a generation from scratch on the next frame with unchanged settings. */
export function restartGeneration(world: Engine, eid: number): void {
  checkGeneration(world, eid, 'restartGeneration');
  world.Generation.dirty[eid] = 1;
}

/** Removes a generation: disposes its session, destroys its texture (the listener hears 'removed'). */
export function removeGeneration(world: Engine, eid: number): void {
  checkGeneration(world, eid, 'removeGeneration');
  stopSession(world, eid);
  const texture = world.textures.get(eid);
  if (texture) {
    world.onTexture?.(eid, texture, 'removed');
    texture.destroy();
  }
  world.textures.delete(eid);
  world.textureViews.delete(eid);
  dropMaterial(world, eid);
  world.prompts.delete(eid);
  world.errors.delete(eid);
  clearEntity(world.Generation, eid);
  removeEntity(world, eid);
}

/** Where a generation stands. */
export function getProgress(world: Engine, eid: number): Progress {
  checkGeneration(world, eid, 'getProgress');
  const G = world.Generation;
  const p: Progress = { state: STATE_NAMES[G.state[eid]], scale: G.scale[eid], scales: G.scales[eid], unit: G.unit[eid], units: G.units[eid] };
  const error = world.errors.get(eid);
  if (error !== undefined) p.error = error;
  return p;
}

/** The generation's session (its tokens and image), if it has one. */
export function getSession(world: Engine, eid: number): ImageGeneration | undefined {
  return world.sessions.get(eid);
}

/** The generation's texture, once the texture system has created it. */
export function getTexture(world: Engine, eid: number): GPUTexture | undefined {
  return world.textures.get(eid);
}

/** Disposes a generation's session and resets its progress (its texture keeps the last image). */
export function stopSession(world: Engine, eid: number): void {
  const G = world.Generation;
  world.sessions.get(eid)?.dispose();
  world.sessions.delete(eid);
  world.errors.delete(eid);
  G.scale[eid] = 0;
  G.unit[eid] = 0;
  G.previewPending[eid] = 0;
  G.plannedSteps[eid] = 0;
  G.plannedPreview[eid] = 0;
  G.state[eid] = GenerationState.idle;
}

function checkGeneration(world: Engine, eid: number, fn: string): void {
  if (!entityExists(world, eid) || !hasComponent(world, eid, world.Generation)) {
    throw new Error(`${fn}: entity ${eid} is not a generation of this world`);
  }
}
