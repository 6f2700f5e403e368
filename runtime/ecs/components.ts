/**
 * The engine's components, bitECS style: one object per component, one typed array per field, indexed
 * by entity id. Each engine makes its own (entity ids restart at 1 in every engine), sized for the
 * engine's maximum entity count. Strings and GPU objects (prompts, sessions, errors, textures) live in
 * maps on the engine, keyed by entity.
 *
 * User settings are kept as float64 exactly as given, so that a bad value (a negative top-k, a
 * fractional seed) reaches validation and becomes an error state instead of wrapping silently.
 */
import { addComponent, addEntity, removeEntity } from 'bitecs';
import { SAMPLING_DEFAULTS as FAMILY_SAMPLING, type ModelFamily } from '../generate/sampling.ts';
import type { KeyframeSettings } from '../video/keyframes.ts';
import type { Engine } from './engine.ts';

/** Lifecycle of a generation, stored in `Generation.state`. */
export const GenerationState = {
  /** Added, not started yet (starts on the next frame). */
  idle: 0,
  /** Has a session with work left. */
  running: 1,
  /** Finished: the final image is in its texture. */
  done: 2,
  /** Its settings were refused; the message is in `engine.errors`. */
  error: 3,
} as const;

export type GenerationStateName = keyof typeof GenerationState;

/** Names of the states by their stored value. */
export const STATE_NAMES: readonly GenerationStateName[] = ['idle', 'running', 'done', 'error'];

/** One image being generated: its settings, its progress, its place in the schedule. */
export interface GenerationComponent {
  /** Model id from `addModel` (0: none). */
  model: Float64Array;
  seed: Float64Array;
  classLabel: Float64Array;
  cfg: Float64Array;
  topK: Float64Array;
  topP: Float64Array;
  temperature: Float64Array;
  /** Higher runs first among generations of equal selection and visibility. */
  priority: Float64Array;
  /** 1 when a scene shows it: visible generations come before hidden ones and get previews. */
  visible: Uint8Array;
  /** 1 when the user has it selected: selected generations come first. */
  selected: Uint8Array;
  /** Scales finished (0..scales) out of `scales`. */
  scale: Uint32Array;
  scales: Uint32Array;
  /** Units of work done out of `units` (steps of the session; previews not counted). */
  unit: Uint32Array;
  units: Uint32Array;
  /** A `GenerationState` value. */
  state: Uint8Array;
  /** 1 when settings changed: the settings system restarts the generation. */
  dirty: Uint8Array;
  /** 1 when a scale finished and its preview has not been decoded yet. */
  previewPending: Uint8Array;
  /** This frame's plan: session steps to run, and whether a preview fits. */
  plannedSteps: Uint32Array;
  plannedPreview: Uint8Array;
  /** Id of the generation's current texture (0: none yet); a new id each time one is created. */
  texture: Uint32Array;
  /** 1 when the session's image changed and the texture has not been written yet. */
  imageDirty: Uint8Array;
  /** 1 when the generation also makes material maps (normal, roughness, ao) of its image. */
  material: Uint8Array;
}

/** Playback state of a video, stored in `VideoStream.state`. */
export const VideoState = {
  /** The frame at the playhead is not ready: playback waits for it. */
  buffering: 0,
  playing: 1,
  paused: 2,
  /** Its settings were refused (or its model is gone); the message is in `engine.errors`. */
  error: 3,
} as const;

export type VideoStateName = keyof typeof VideoState;

/** Names of the video states by their stored value. */
export const VIDEO_STATE_NAMES: readonly VideoStateName[] = ['buffering', 'playing', 'paused', 'error'];

/** Bits of `VideoStream.dirty`: what the video system must apply before the next frame. */
export const VideoDirty = {
  /** Model or ring size: new keyframe source, feature path and textures. */
  rebuild: 1,
  /** Clip length, keyframe spacing or looping: stored keyframes and frames are dropped. */
  timeline: 2,
  /** Class, prompt, seed or sampling: used from the next keyframe that starts. */
  keyframes: 4,
  /** Speed, frame rate or previews: checked, nothing dropped. */
  playback: 8,
} as const;

/** A video being played: its settings, its playhead, and how far generation is ahead of it. */
export interface VideoStreamComponent extends SamplingFields {
  /** Model id from `addModel` (0: none). */
  model: Float64Array;
  /** Frames in the clip. */
  frames: Float64Array;
  /** A keyframe every this many frames. */
  keyframeEvery: Float64Array;
  /** Frames per second of the clip at speed 1. */
  fps: Float64Array;
  /** Playback rate (1: real time, 0.5: half, negative: backwards). */
  speed: Float64Array;
  /** Frames the ring holds ahead of the playhead. */
  ring: Float64Array;
  /** Top-k of the finest scale of a frame that continues the frame before (models trained on clips). */
  nextFrameTopK: Float64Array;
  loop: Uint8Array;
  playing: Uint8Array;
  /** 1: show a preview of a frame that is not ready instead of waiting for it. */
  showPreviews: Uint8Array;
  /** Playhead in frames (frame i spans [i, i + 1)). */
  position: Float64Array;
  /** A `VideoState` value. */
  state: Uint8Array;
  /** 1 while the frame at the playhead is not ready. */
  waiting: Uint8Array;
  /** Times playback reached a frame that was not ready. */
  stalls: Uint32Array;
  /** Frames ready from the playhead on without a gap. */
  buffered: Uint32Array;
  /** `VideoDirty` bits. */
  dirty: Uint8Array;
  /** What the preview in the display was made from (a new one is decoded when this changes). */
  previewKey: Float64Array;
}

/** A Generation component for entity ids 0..maxEntities. */
export function createGenerationComponent(maxEntities: number): GenerationComponent {
  const n = maxEntities + 1;
  return {
    model: new Float64Array(n),
    seed: new Float64Array(n),
    classLabel: new Float64Array(n),
    cfg: new Float64Array(n),
    topK: new Float64Array(n),
    topP: new Float64Array(n),
    temperature: new Float64Array(n),
    priority: new Float64Array(n),
    visible: new Uint8Array(n),
    selected: new Uint8Array(n),
    scale: new Uint32Array(n),
    scales: new Uint32Array(n),
    unit: new Uint32Array(n),
    units: new Uint32Array(n),
    state: new Uint8Array(n),
    dirty: new Uint8Array(n),
    previewPending: new Uint8Array(n),
    plannedSteps: new Uint32Array(n),
    plannedPreview: new Uint8Array(n),
    texture: new Uint32Array(n),
    imageDirty: new Uint8Array(n),
    material: new Uint8Array(n),
  };
}

/** A VideoStream component for entity ids 0..maxEntities. */
export function createVideoStreamComponent(maxEntities: number): VideoStreamComponent {
  const n = maxEntities + 1;
  const f64 = () => new Float64Array(n);
  const u8 = () => new Uint8Array(n);
  return {
    model: f64(),
    classLabel: f64(),
    seed: f64(),
    cfg: f64(),
    topK: f64(),
    topP: f64(),
    temperature: f64(),
    frames: f64(),
    keyframeEvery: f64(),
    fps: f64(),
    speed: f64(),
    ring: f64(),
    nextFrameTopK: f64(),
    loop: u8(),
    playing: u8(),
    showPreviews: u8(),
    position: f64(),
    state: u8(),
    waiting: u8(),
    stalls: new Uint32Array(n),
    buffered: new Uint32Array(n),
    dirty: u8(),
    previewKey: f64(),
  };
}

/** The conditioning and sampling fields a Generation and a VideoStream both store. */
export interface SamplingFields {
  classLabel: Float64Array;
  seed: Float64Array;
  cfg: Float64Array;
  topK: Float64Array;
  topP: Float64Array;
  temperature: Float64Array;
}

/** What an entity is conditioned on and how it samples, as stored (the prompt lives in the engine's map). */
export type StoredSampling = KeyframeSettings;

/**
 * Reads one entity's conditioning and sampling settings; a sampling field left unset (stored as NaN) takes
 * `family`'s default (`SAMPLING_DEFAULTS` of runtime/generate/sampling.ts), or stays NaN without one.
 */
export function samplingOf(c: SamplingFields, prompts: ReadonlyMap<number, string>, eid: number, family?: ModelFamily): StoredSampling {
  const d = family ? FAMILY_SAMPLING[family] : undefined;
  const or = (v: number, dflt: number | undefined) => (Number.isNaN(v) && dflt !== undefined ? dflt : v);
  return {
    classLabel: c.classLabel[eid], prompt: prompts.get(eid), seed: c.seed[eid],
    cfg: or(c.cfg[eid], d?.cfg), topK: or(c.topK[eid], d?.topK), topP: or(c.topP[eid], d?.topP), temperature: or(c.temperature[eid], d?.temperature),
  };
}

/** What a generation, or a video's keyframes, are conditioned on and how they sample. */
export interface SamplingSettings {
  /** Model id from `addModel`. */
  model: number;
  /** Class label (class-conditional models such as VAR; unified models ignore it). Default 0. */
  classLabel?: number;
  /** Text prompt (required by prompt-conditioned families; stored, not used by VAR). */
  prompt?: string;
  /** Default 0. */
  seed?: number;
  /** Classifier-free guidance. Default: the model family's (runtime/generate/sampling.ts). */
  cfg?: number;
  /** Default: the model family's. */
  topK?: number;
  /** Default: the model family's. */
  topP?: number;
  /** Default 1. */
  temperature?: number;
}

/** The stored sampling values of a new entity: NaN leaves a field to the model family's default. */
export const SAMPLING_DEFAULTS = { classLabel: 0, seed: 0, cfg: NaN, topK: NaN, topP: NaN, temperature: NaN } as const;

/**
 * Adds an entity holding `component` with `initial` stored and every other field zero (ids are
 * recycled, so a new entity must not inherit old values). Past the engine's `maxEntities` it throws,
 * naming `caller`.
 */
export function addEntityWith<C extends object>(engine: Engine, component: C, initial: Partial<Record<keyof C, number>>, caller: string): number {
  const eid = addEntity(engine);
  if (eid > engine.options.maxEntities) {
    removeEntity(engine, eid);
    throw new Error(`${caller}: the engine holds at most ${engine.options.maxEntities} entities (createEngine's maxEntities)`);
  }
  clearEntity(component, eid);
  addComponent(engine, eid, component);
  for (const [key, value] of Object.entries(initial) as [keyof C, number][]) (component[key] as Float64Array)[eid] = value;
  return eid;
}

/** Zeroes every field of one entity. */
export function clearEntity(component: object, eid: number): void {
  for (const field of Object.values(component) as Float64Array[]) field[eid] = 0;
}
