/**
 * Videos as entities: adding one, changing its settings, playing, pausing and seeking it, and reading
 * where it stands. Like generations, these functions only write components and engine-side maps; the
 * video system applies them on the next frame (a refused setting puts the video in the error state,
 * with a message in its status).
 *
 * A video's class, prompt, seed and sampling take effect from the next keyframe that starts: the
 * frames already made keep playing, so a new class never stalls playback. Clip length, keyframe
 * spacing and looping change the timeline, so the frames made so far are dropped.
 */
import { entityExists, hasComponent, removeEntity } from 'bitecs';
import type { FeaturePath } from '../video/feature-path.ts';
import type { FrameRing } from '../video/frame-ring.ts';
import { NEXT_FRAME_TOP_K, type KeyframeSource } from '../video/keyframes.ts';
import { addEntityWith, clearEntity, SAMPLING_DEFAULTS, samplingOf, VIDEO_STATE_NAMES, VideoDirty, VideoState, type SamplingSettings, type VideoStateName } from './components.ts';
import type { Engine } from './engine.ts';

/** What a video shows and how it plays (keyframe k samples with `keyframeSeed(seed, k)`). */
export interface VideoSettings extends SamplingSettings {
  /** Frames in the clip. Default 48. */
  frames?: number;
  /** A keyframe every this many frames. Default 8. */
  keyframeEvery?: number;
  /** Frames per second at speed 1. Default 12. */
  fps?: number;
  /** Playback rate (0.5: half speed, 2: double, negative: backwards), in [-16, 16]. Default 1. */
  speed?: number;
  /** Wrap from the last frame to the first (and the last keyframe blends into the first). Default true. */
  loop?: boolean;
  /** Frames held on the GPU ahead of the playhead, in [2, 64]. Default 8. */
  ring?: number;
  /**
   * Top-k of the finest scale of a frame that continues the frame before, for a model trained on clips
   * (others ignore it); the coarser scales sample with `topK`. Default 1: the fine detail follows the
   * frame before (runtime/video/unified-frames.ts).
   */
  nextFrameTopK?: number;
  /** Show a preview of a frame that is not ready (playback goes on) instead of waiting. Default false. */
  showPreviews?: boolean;
  /** Start playing on the first frame. Default true. */
  playing?: boolean;
}

/** Where a video stands. */
export interface VideoStatus {
  state: VideoStateName;
  /** The frame at the playhead (on screen unless `state` is 'buffering'). */
  frame: number;
  /** The frame on screen (a finished frame, or a preview when `preview`), -1 before the first. */
  shown: number;
  /** Frames ready from the playhead on, in the play direction, without a gap (at most the ring's size). */
  buffered: number;
  /** Times playback reached a frame that was not ready (and waited, or showed a preview). */
  stalls: number;
  /** Frames in the clip. */
  frames: number;
  /** The picture on screen is a preview (of this frame or one before it in its segment), not a finished frame. */
  preview: boolean;
  /** Why the video is in the error state. */
  error?: string;
}

/** A video's GPU side, kept in `engine.videos`: its keyframe source, feature path and frame ring. */
export interface VideoPlayback {
  /** The model object the source was made from (a new object rebuilds). */
  readonly model: object;
  readonly source: KeyframeSource;
  readonly path: FeaturePath;
  readonly ring: FrameRing;
  /** The first frame of this frame's window and the play direction (for `distance`). */
  anchor: number;
  direction: 1 | -1;
  /** Steps from the anchor to a frame in the play direction (Infinity: behind, clip not looping). */
  readonly distance: (frame: number) => number;
  /** Whether a frame can be shown now (in the ring, or the finished frame already on screen). */
  readonly ready: (frame: number) => boolean;
}

/** Stored values of the settings a video starts with when not given. */
const DEFAULTS = { ...SAMPLING_DEFAULTS, frames: 48, keyframeEvery: 8, fps: 12, speed: 1, ring: 8, nextFrameTopK: NEXT_FRAME_TOP_K, loop: 1, playing: 1 };

/** The numeric settings and what a change of each one makes the video system do. */
const FIELDS = {
  model: VideoDirty.rebuild,
  ring: VideoDirty.rebuild,
  frames: VideoDirty.timeline,
  keyframeEvery: VideoDirty.timeline,
  classLabel: VideoDirty.keyframes,
  seed: VideoDirty.keyframes,
  cfg: VideoDirty.keyframes,
  topK: VideoDirty.keyframes,
  topP: VideoDirty.keyframes,
  temperature: VideoDirty.keyframes,
  nextFrameTopK: VideoDirty.keyframes,
  fps: VideoDirty.playback,
  speed: VideoDirty.playback,
} as const;

/**
 * Adds a video; it starts on the next frame. Returns its entity id.
 *
 * @example
 *   const eid = addVideo(engine, { model, classLabel: 3, seed: 7, frames: 48, keyframeEvery: 8 });
 *   runFrame(engine, performance.now());
 *   getVideoStatus(engine, eid); // { state: 'buffering', frame: 0, shown: -1, buffered: 0, stalls: 0, frames: 48, preview: false }
 */
export function addVideo(engine: Engine, settings: VideoSettings): number {
  const V = engine.VideoStream;
  const eid = addEntityWith(engine, V, { ...DEFAULTS, state: VideoState.buffering }, 'addVideo');
  setVideoSettings(engine, eid, settings);
  V.dirty[eid] = VideoDirty.rebuild;
  return eid;
}

/**
 * Changes some settings (see the file header for when each takes effect). Invalid values put the video
 * in the error state on the next frame, with a message in `getVideoStatus`.
 */
export function setVideoSettings(engine: Engine, eid: number, settings: Partial<VideoSettings>): void {
  checkVideo(engine, eid, 'setVideoSettings');
  const V = engine.VideoStream;
  for (const [key, bit] of Object.entries(FIELDS) as [keyof typeof FIELDS, number][]) {
    const value = settings[key];
    if (value === undefined) continue;
    const before = V[key][eid];
    V[key][eid] = value;
    if (!Object.is(before, V[key][eid])) V.dirty[eid] |= bit;
  }
  if (settings.prompt !== undefined && settings.prompt !== engine.prompts.get(eid)) {
    engine.prompts.set(eid, settings.prompt);
    V.dirty[eid] |= VideoDirty.keyframes;
  }
  if (settings.loop !== undefined && (settings.loop ? 1 : 0) !== V.loop[eid]) {
    V.loop[eid] = settings.loop ? 1 : 0;
    V.dirty[eid] |= VideoDirty.timeline;
  }
  if (settings.showPreviews !== undefined) {
    V.showPreviews[eid] = settings.showPreviews ? 1 : 0;
    V.previewKey[eid] = -1;
  }
  if (settings.playing !== undefined) (settings.playing ? playVideo : pauseVideo)(engine, eid);
}

/** The settings as stored (after defaults). */
export function getVideoSettings(engine: Engine, eid: number): Required<Omit<VideoSettings, 'prompt'>> & { prompt?: string } {
  checkVideo(engine, eid, 'getVideoSettings');
  const V = engine.VideoStream;
  return {
    model: V.model[eid],
    ...samplingOf(V, engine.prompts, eid, engine.models.get(V.model[eid])?.config.family),
    frames: V.frames[eid],
    keyframeEvery: V.keyframeEvery[eid],
    fps: V.fps[eid],
    speed: V.speed[eid],
    loop: V.loop[eid] === 1,
    ring: V.ring[eid],
    nextFrameTopK: V.nextFrameTopK[eid],
    showPreviews: V.showPreviews[eid] === 1,
    playing: V.playing[eid] === 1,
  };
}

/** Plays from the playhead; a clip that does not loop and stands at its end plays again from its start. */
export function playVideo(engine: Engine, eid: number): void {
  checkVideo(engine, eid, 'playVideo');
  const V = engine.VideoStream;
  const F = V.frames[eid];
  if (!V.loop[eid] && Number.isInteger(F) && F >= 1) {
    const at = Math.floor(V.position[eid]);
    if (V.speed[eid] >= 0 && at >= F - 1) V.position[eid] = 0;
    else if (V.speed[eid] < 0 && at <= 0) V.position[eid] = F - 1;
  }
  V.playing[eid] = 1;
}

/** Stops the playhead where it is (generation keeps filling the ring ahead of it). */
export function pauseVideo(engine: Engine, eid: number): void {
  checkVideo(engine, eid, 'pauseVideo');
  engine.VideoStream.playing[eid] = 0;
}

/**
 * Moves the playhead to the start of `frame`. A frame outside the ring is generated again (the same
 * frame as before while the settings are unchanged: the path is deterministic per seed).
 */
export function seekVideo(engine: Engine, eid: number, frame: number): void {
  checkVideo(engine, eid, 'seekVideo');
  const V = engine.VideoStream;
  const F = V.frames[eid];
  if (!Number.isInteger(frame) || frame < 0 || frame >= F) throw new Error(`seekVideo: frame must be a whole number in [0, ${F - 1}], found ${frame}`);
  V.position[eid] = frame;
  // A seek to a frame that is not ready waits for it, but is no stall of playback.
  V.waiting[eid] = 1;
}

/** Where the video stands. */
export function getVideoStatus(engine: Engine, eid: number): VideoStatus {
  checkVideo(engine, eid, 'getVideoStatus');
  const V = engine.VideoStream;
  const ring = engine.videos.get(eid)?.ring;
  const frame = Math.floor(V.position[eid]);
  const status: VideoStatus = {
    state: VIDEO_STATE_NAMES[V.state[eid]],
    frame,
    shown: ring?.displayed ?? -1,
    buffered: V.buffered[eid],
    stalls: V.stalls[eid],
    frames: V.frames[eid],
    preview: ring?.displayedPreview ?? false,
  };
  const error = engine.errors.get(eid);
  if (error !== undefined) status.error = error;
  return status;
}

/** The video's GPU side (its feature path and frame ring), once the video system has built it. */
export function getVideoPlayback(engine: Engine, eid: number): VideoPlayback | undefined {
  return engine.videos.get(eid);
}

/** Removes a video: ends its keyframe session, frees its frames, destroys its display (the listener hears 'removed'). */
export function removeVideo(engine: Engine, eid: number): void {
  checkVideo(engine, eid, 'removeVideo');
  disposePlayback(engine, eid);
  engine.prompts.delete(eid);
  engine.errors.delete(eid);
  clearEntity(engine.VideoStream, eid);
  removeEntity(engine, eid);
}

/** Frees a video's GPU side (the listener hears its display 'removed'). */
export function disposePlayback(engine: Engine, eid: number): void {
  const playback = engine.videos.get(eid);
  if (!playback) return;
  engine.videos.delete(eid);
  engine.textures.delete(eid);
  engine.onTexture?.(eid, playback.ring.display, 'removed');
  playback.path.dispose();
  playback.source.dispose?.();
  playback.ring.destroy();
}

function checkVideo(engine: Engine, eid: number, fn: string): void {
  if (!entityExists(engine, eid) || !hasComponent(engine, eid, engine.VideoStream)) {
    throw new Error(`${fn}: entity ${eid} is not a video of this engine`);
  }
}
