/**
 * The engine: a bitECS world whose context carries the GPU, the frame clock, the frame budget,
 * the components, and the engine-side maps for what typed arrays cannot hold (models, sessions, videos'
 * GPU side, prompts, error messages, textures). Systems read and write only this object.
 */
import { createWorld, deleteWorld, query, type World } from 'bitecs';
import type { Gpu } from '../gpu/index.ts';
import type { AnyModel } from '../models/load.ts';
import { UnifiedModel } from '../models/unified/model.ts';
import type { KeyframeSource } from '../video/keyframes.ts';
import { familyKeyframeSource } from '../video/sources.ts';
import type { VarKeyframeOptions } from '../video/var-keyframes.ts';
import { createGenerationComponent, createVideoStreamComponent, VideoDirty, type GenerationComponent, type VideoStreamComponent } from './components.ts';
import { createCostModel, forgetModelCosts, type CostModel } from './cost-model.ts';
import type { ImageGeneration } from '../generate/generation.ts';
import { SYSTEMS } from './systems.ts';
import { disposePlayback, type VideoPlayback } from './videos.ts';

export interface EngineOptions {
  /** Most entities the engine holds (sizes the component arrays). Default 1024. */
  maxEntities?: number;
  /** GPU milliseconds of generation work per frame. Default 8. */
  budgetMs?: number;
  /** Transformer blocks per unit of work: the grain of the schedule. Default 1. */
  blocksPerUnit?: number;
  /** Measure units with timestamp queries where the adapter has them. Default true. */
  timing?: boolean;
  /** Cost assumed for a unit kind never measured on a model, in ms. Default 1. */
  priorUnitMs?: number;
  /**
   * Give textures a full mip chain (and RENDER_ATTACHMENT usage) so scenes can regenerate the mips
   * after each write; the generator writes level 0. Default false.
   */
  mipmaps?: boolean;
  /** The systems run each frame, in order. Default `SYSTEMS`. */
  systems?: readonly System[];
  /**
   * Makes a video's keyframe source for a model (how a model family plugs into video playback).
   * Default: the model family's (`familyKeyframeSource`: VAR's, a unified model's, or frame by frame
   * for a unified model trained on clips).
   */
  keyframeSource?: (model: AnyModel, options: VarKeyframeOptions) => KeyframeSource;
}

/** Engine options as resolved (the systems live on the engine). */
export type ResolvedEngineOptions = Readonly<Required<Omit<EngineOptions, 'systems'>>>;

/** Why a texture listener is called. */
export type TextureChange = 'created' | 'written' | 'removed';

/**
 * Called when a generation's texture is created (bind it), written (a new preview or the final image:
 * regenerate mipmaps), or removed (unbind it; it is destroyed right after the call).
 */
export type TextureListener = (eid: number, texture: GPUTexture, change: TextureChange) => void;

/** A generation's material maps (rgba8unorm, linear data, sizes and mips as its texture's), written with it. */
export interface MaterialTextures {
  normal: GPUTexture;
  roughness: GPUTexture;
  ao: GPUTexture;
}

/**
 * Called when a generation's material maps are created (bind them) or removed (`undefined`: unbind; they
 * are destroyed right after the call). They are written in the same submission as the texture, so the
 * texture listener's 'written' covers them.
 */
export type MaterialListener = (eid: number, maps: MaterialTextures | undefined) => void;

export interface FrameStats {
  /** The frame these numbers are about (1 after the first `runFrame`). */
  frame: number;
  /** Units of work submitted this frame (session steps and previews). */
  units: number;
  dispatches: number;
  /** What the cost model expected this frame's units to take, in GPU ms. */
  estimatedMs: number;
  /** Measured GPU ms of the last frame whose units have all completed (`measuredFrame`). */
  measuredMs: number;
  /** That frame's number (0 while none has completed). */
  measuredFrame: number;
  /** CPU ms `runFrame` took this frame: every system, the recording of GPU work and its submission. */
  cpuMs: number;
}

/** A system: reads and writes the engine, never waits. */
export type System = (engine: Engine) => void;

export interface EngineContext {
  readonly gpu: Gpu;
  /** The frame clock, set by `runFrame`. */
  readonly time: { now: number; delta: number; frame: number };
  /** GPU milliseconds of generation work per frame (`Infinity`: no limit), set live with `setBudget`. */
  readonly budget: { ms: number };
  readonly Generation: GenerationComponent;
  readonly VideoStream: VideoStreamComponent;
  readonly options: ResolvedEngineOptions;
  /** Loaded models by id. */
  readonly models: Map<number, AnyModel>;
  readonly sessions: Map<number, ImageGeneration>;
  /** Videos' GPU side (keyframe source, feature path, frame ring), by entity, once built. */
  readonly videos: Map<number, VideoPlayback>;
  /** Text prompts by entity (what unified models generate from; VAR uses the class label). */
  readonly prompts: Map<number, string>;
  /** Why a generation or a video is in the error state, by entity. */
  readonly errors: Map<number, string>;
  /** Generations' textures and videos' displays, by entity. */
  readonly textures: Map<number, GPUTexture>;
  /** Level-0 views of the textures, written by the preview system. */
  readonly textureViews: Map<number, GPUTextureView>;
  /** Material maps of the generations that ask for them, with their level-0 views. */
  readonly materials: Map<number, { textures: MaterialTextures; views: Record<keyof MaterialTextures, GPUTextureView> }>;
  readonly costs: CostModel;
  readonly stats: FrameStats;
  /** Units in flight per frame: how many have not completed yet and the ms of those that have. */
  readonly inFlight: Map<number, { units: number; ms: number }>;
  /** When the last unit in flight completed (wall clock, for adapters without timestamps). */
  gpuIdleAt: number;
  /** The systems `runFrame` runs, in order. */
  systems: System[];
  /** This frame's runnable generations in schedule order (scratch, rebuilt every frame). */
  readonly order: number[];
  onTexture?: TextureListener;
  onMaterial?: MaterialListener;
  nextModelId: number;
  nextTextureId: number;
}

export type Engine = World<EngineContext>;

/**
 * An engine on this GPU, running its systems in order each frame.
 *
 * @example
 *   const engine = createEngine(gpu, { budgetMs: 4 });
 *   const model = addModel(engine, await loadVarFolder(gpu, url));
 *   const eid = addGeneration(engine, { model, classLabel: 207, seed: 7 });
 *   requestAnimationFrame(function frame(t) { runFrame(engine, t); requestAnimationFrame(frame); });
 */
export function createEngine(gpu: Gpu, options: EngineOptions = {}): Engine {
  const opts: ResolvedEngineOptions = {
    maxEntities: options.maxEntities ?? 1024,
    budgetMs: options.budgetMs ?? 8,
    blocksPerUnit: options.blocksPerUnit ?? 1,
    timing: options.timing ?? true,
    priorUnitMs: options.priorUnitMs ?? 1,
    mipmaps: options.mipmaps ?? false,
    keyframeSource: options.keyframeSource ?? familyKeyframeSource,
  };
  if (!Number.isInteger(opts.maxEntities) || opts.maxEntities < 1) throw new Error(`maxEntities must be a whole number >= 1, found ${opts.maxEntities}`);
  if (!Number.isInteger(opts.blocksPerUnit) || opts.blocksPerUnit < 1) throw new Error(`blocksPerUnit must be a whole number >= 1, found ${opts.blocksPerUnit}`);
  checkBudget(opts.budgetMs);
  const context: EngineContext = {
    gpu,
    time: { now: 0, delta: 0, frame: 0 },
    budget: { ms: opts.budgetMs },
    Generation: createGenerationComponent(opts.maxEntities),
    VideoStream: createVideoStreamComponent(opts.maxEntities),
    options: opts,
    models: new Map(),
    sessions: new Map(),
    videos: new Map(),
    prompts: new Map(),
    errors: new Map(),
    textures: new Map(),
    textureViews: new Map(),
    materials: new Map(),
    costs: createCostModel(opts.priorUnitMs),
    stats: { frame: 0, units: 0, dispatches: 0, estimatedMs: 0, measuredMs: 0, measuredFrame: 0, cpuMs: 0 },
    inFlight: new Map(),
    gpuIdleAt: 0,
    systems: [...(options.systems ?? SYSTEMS)],
    order: [],
    nextModelId: 1,
    nextTextureId: 1,
  };
  return createWorld(context);
}

/** Disposes every session and video and destroys every texture (the models stay: their owner disposes them). */
export function disposeEngine(engine: Engine): void {
  for (const eid of [...engine.videos.keys()]) disposePlayback(engine, eid);
  for (const session of engine.sessions.values()) session.dispose();
  for (const [eid, texture] of engine.textures) {
    engine.onTexture?.(eid, texture, 'removed');
    texture.destroy();
  }
  for (const eid of [...engine.materials.keys()]) dropMaterial(engine, eid);
  engine.sessions.clear();
  engine.textures.clear();
  engine.textureViews.clear();
  deleteWorld(engine);
}

/** Sets the frame budget in GPU milliseconds (`Infinity`: everything runnable in one frame). Takes effect next frame. */
export function setBudget(engine: Engine, ms: number): void {
  checkBudget(ms);
  engine.budget.ms = ms;
}

/** Sets (or clears) the listener told about texture creation, writes and removal. */
export function setTextureListener(engine: Engine, listener: TextureListener | undefined): void {
  engine.onTexture = listener;
}

/** Sets (or clears) the listener told about material maps being created and removed. */
export function setMaterialListener(engine: Engine, listener: MaterialListener | undefined): void {
  engine.onMaterial = listener;
}

/** Removes a generation's material maps, if any: the listener hears `undefined`, then they are destroyed. */
export function dropMaterial(engine: Engine, eid: number): void {
  const maps = engine.materials.get(eid);
  if (!maps) return;
  engine.onMaterial?.(eid, undefined);
  for (const t of Object.values(maps.textures)) t.destroy();
  engine.materials.delete(eid);
}

/** Registers a loaded model of either family; returns its id for `GenerationSettings.model`. The caller keeps ownership. */
export function addModel(engine: Engine, model: AnyModel): number {
  if (model.gpu !== engine.gpu) throw new Error('addModel: the model was loaded on another GPU context than the engine');
  const id = engine.nextModelId++;
  engine.models.set(id, model);
  return id;
}

/**
 * Unregisters a model: generations and videos using it restart next frame, into the error state
 * unless re-pointed.
 */
export function removeModel(engine: Engine, id: number): void {
  if (!engine.models.delete(id)) return;
  forgetModelCosts(engine.costs, id);
  const G = engine.Generation;
  for (const eid of query(engine, [G])) if (G.model[eid] === id) G.dirty[eid] = 1;
  const V = engine.VideoStream;
  for (const eid of query(engine, [V])) if (V.model[eid] === id) V.dirty[eid] |= VideoDirty.rebuild;
}

/** This frame's numbers (units, dispatches, estimated GPU ms) and the last completed frame's measured GPU ms. */
export function getFrameStats(engine: Engine): Readonly<FrameStats> {
  return engine.stats;
}

/** The keyframe source of the model's family. */

function checkBudget(ms: number): void {
  if (!(ms >= 0)) throw new Error(`budget must be a number of milliseconds >= 0 (or Infinity), found ${ms}`);
}
