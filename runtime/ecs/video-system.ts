/**
 * The video system, run after the generation systems in each frame: for every video it applies
 * changed settings, fills the frame ring ahead of the playhead with what is left of the frame's GPU
 * budget, moves the playhead over the frames that are ready, and shows the frame at the playhead.
 *
 * Units of work are keyframe session steps (priced by the cost model like a generation's) and frame
 * decodes (priced as decodes); the first unit of a frame that has run none is always taken, so a
 * starved budget slows playback down but never stops it. Frames are made in playback order from the
 * playhead on; a frame whose keyframes are not stored waits for them, nearest keyframe first. When the
 * frame at the playhead is not ready, playback waits there, showing the last frame it reached, and the
 * video reports 'buffering' (each such wait is a stall); or, with `showPreviews`, playback goes on and
 * the screen shows a decode of what the frame's keyframes have so far. Nothing waits on the GPU; every
 * texture and map is made once per video, when it is built.
 */
import { query } from 'bitecs';
import type { StepKind } from '../generate/steps.ts';
import type { Recorder } from '../gpu/index.ts';
import { FeaturePath, keyframeSlots } from '../video/feature-path.ts';
import { FrameRing } from '../video/frame-ring.ts';
import type { KeyframeSettings } from '../video/keyframes.ts';
import { advance, checkTimeline, frameAfter, readyAhead, segmentOf, stepsAhead, type Advance, type Timeline } from '../video/timeline.ts';
import { samplingOf, VideoDirty, VideoState } from './components.ts';
import { estimateCost } from './cost-model.ts';
import { trackUnit } from './units.ts';
import { disposePlayback, type VideoPlayback } from './videos.ts';
import type { Engine } from './engine.ts';

/** Floor of a unit's estimated cost, as in the generation schedule. */
const MIN_UNIT_MS = 1e-3;
const MAX_SPEED = 16;
const MAX_RING = 64;

/** Applies settings, fills each video's ring within the budget left, advances and shows its frames. */
export function videoSystem(engine: Engine): void {
  const V = engine.VideoStream;
  for (const eid of query(engine, [V])) {
    if (V.dirty[eid]) apply(engine, eid);
    const playback = engine.videos.get(eid);
    if (V.state[eid] === VideoState.error || !playback) continue;
    try {
      play(engine, eid, playback);
    } catch (e) {
      fail(engine, eid, e);
    }
  }
}

function timelineOf(engine: Engine, eid: number): Timeline {
  const V = engine.VideoStream;
  return { frames: V.frames[eid], keyframeEvery: V.keyframeEvery[eid], loop: V.loop[eid] === 1 };
}

/** Checks the stored settings and applies the changed ones; a refusal becomes the error state. */
function apply(engine: Engine, eid: number): void {
  const V = engine.VideoStream;
  const dirty = V.dirty[eid];
  V.dirty[eid] = 0;
  try {
    const tl = timelineOf(engine, eid);
    checkTimeline(tl);
    const fps = V.fps[eid];
    const speed = V.speed[eid];
    const K = V.ring[eid];
    if (!(fps > 0 && fps <= 240)) throw new Error(`fps must be in (0, 240], found ${fps}`);
    if (!(Math.abs(speed) <= MAX_SPEED)) throw new Error(`speed must be in [-${MAX_SPEED}, ${MAX_SPEED}], found ${speed}`);
    if (!Number.isInteger(K) || K < 2 || K > MAX_RING) throw new Error(`ring must be a whole number in [2, ${MAX_RING}], found ${K}`);
    const model = engine.models.get(V.model[eid]);
    if (!model) throw new Error(`model ${V.model[eid]} is not loaded (loaded model ids: ${[...engine.models.keys()].join(', ') || 'none'})`);
    const settings: KeyframeSettings = { ...samplingOf(V, engine.prompts, eid, model.config.family), nextFrameTopK: V.nextFrameTopK[eid] };
    let playback = engine.videos.get(eid);
    if (playback && (dirty & VideoDirty.rebuild || playback.model !== model)) {
      disposePlayback(engine, eid);
      playback = undefined;
    }
    if (!playback) {
      const source = engine.options.keyframeSource(model, { blocksPerStep: engine.options.blocksPerUnit });
      source.check(settings);
      build(engine, eid, model, source, tl, settings);
    } else {
      playback.source.check(settings);
      if (dirty & VideoDirty.timeline) {
        playback.path.setTimeline(tl);
        playback.ring.clear();
        V.position[eid] = Math.min(V.position[eid], tl.frames - 1);
        V.waiting[eid] = 1;
      }
      playback.path.setSettings(settings);
    }
    engine.errors.delete(eid);
    if (V.state[eid] === VideoState.error) V.state[eid] = VideoState.buffering;
  } catch (e) {
    fail(engine, eid, e);
  }
}

function build(engine: Engine, eid: number, model: object, source: VideoPlayback['source'], tl: Timeline, settings: KeyframeSettings): void {
  const V = engine.VideoStream;
  const K = V.ring[eid];
  const ring = new FrameRing(engine.gpu.device, { frames: K, size: source.imageSize, mipmaps: engine.options.mipmaps, label: `video ${eid}` });
  const path = new FeaturePath(source, { timeline: tl, settings, slots: keyframeSlots(K, tl.keyframeEvery) });
  const playback: VideoPlayback = {
    model,
    source,
    path,
    ring,
    anchor: 0,
    direction: 1,
    distance: (frame) => stepsAhead(path.timeline, playback.anchor, frame, playback.direction),
    ready: (frame) => ring.has(frame) || (ring.displayed === frame && !ring.displayedPreview),
  };
  V.position[eid] = Math.min(V.position[eid], tl.frames - 1);
  V.previewKey[eid] = -1;
  // Waiting for the first frame is no stall of playback.
  V.waiting[eid] = 1;
  engine.videos.set(eid, playback);
  engine.textures.set(eid, ring.display);
  engine.onTexture?.(eid, ring.display, 'created');
}

/**
 * One frame of one video: fill the ring, move the playhead, show its frame. Waiting playback moves
 * after the fill (a frame decoded this frame can be shown at once); with previews the playhead moves
 * first, and a stale preview of its frame is decoded before the fill, so a starved budget still
 * updates the screen as keyframes progress.
 */
function play(engine: Engine, eid: number, pb: VideoPlayback): void {
  const V = engine.VideoStream;
  const tl = pb.path.timeline;
  const K = pb.ring.size;
  const direction: 1 | -1 = V.speed[eid] < 0 ? -1 : 1;
  pb.anchor = Math.floor(V.position[eid]);
  pb.direction = direction;
  pb.path.setWindow(pb.anchor, direction, K);
  const delta = V.playing[eid] ? (V.speed[eid] * V.fps[eid] * engine.time.delta) / 1000 : 0;
  const previews = V.showPreviews[eid] === 1;
  if (previews) {
    move(engine, eid, advance(tl, V.position[eid], delta, pb.ready, false));
    const frame = Math.floor(V.position[eid]);
    if (!pb.ready(frame)) preview(engine, eid, pb, frame);
  }
  fill(engine, eid, pb);
  const from = Math.floor(V.position[eid]);
  if (!previews) move(engine, eid, advance(tl, V.position[eid], delta, pb.ready, true));
  const frame = Math.floor(V.position[eid]);
  const late = !pb.ready(frame);
  if (late && !V.waiting[eid] && V.playing[eid]) V.stalls[eid]++;
  V.waiting[eid] = late ? 1 : 0;
  // Playback that moved on and now waits shows the last frame it passed: when frames are made more
  // slowly than the clip plays, each one reaches the screen instead of being skipped over.
  show(engine, eid, pb, late && frame !== from ? frameAfter(tl, frame, -1, direction) : frame);
  V.buffered[eid] = readyAhead(tl, frame, direction, K, pb.ready);
  V.state[eid] = late && !(previews && V.playing[eid]) ? VideoState.buffering : V.playing[eid] ? VideoState.playing : VideoState.paused;
}

function move(engine: Engine, eid: number, moved: Advance): void {
  engine.VideoStream.position[eid] = moved.position;
  if (moved.ended) engine.VideoStream.playing[eid] = 0;
}

/** Runs units for the window's frames, nearest first, while they fit in what the frame's budget has left. */
function fill(engine: Engine, eid: number, pb: VideoPlayback): void {
  const tl = pb.path.timeline;
  const K = pb.ring.size;
  for (let j = 0; j < K; ) {
    const frame = frameAfter(tl, pb.anchor, j, pb.direction);
    if (frame < 0) break;
    if (pb.ring.has(frame)) {
      j++;
      continue;
    }
    const k = pb.path.keyframeToStep(frame);
    if (k >= 0) {
      const unit = pb.path.nextUnit(k);
      const estimate = cost(engine, eid, unit.kind, unit.scale, pb);
      if (!fits(engine, estimate)) return;
      trackUnit(engine, engine.VideoStream.model[eid], pb.source.scales, pb.path.stepKeyframe(k, engine.options.timing), estimate);
      continue;
    }
    const slot = pb.ring.claim(pb.distance, K);
    const estimate = cost(engine, eid, 'decode', pb.source.scales, pb);
    if (slot < 0 || !fits(engine, estimate)) return;
    const rec = engine.gpu.recorder('video frame', engine.options.timing);
    rec.section(`video frame ${frame}`);
    pb.path.recordFrame(rec, frame);
    pb.ring.write(rec, slot, frame, pb.path.image);
    submitUnit(engine, eid, pb, rec, estimate);
    j++;
  }
}

/** Shows the frame at the playhead once it is in the ring (a texture copy into the display). */
function show(engine: Engine, eid: number, pb: VideoPlayback, frame: number): void {
  const ring = pb.ring;
  if (!ring.has(frame) || (ring.displayed === frame && !ring.displayedPreview)) return;
  const rec = engine.gpu.recorder('video show');
  ring.show(rec, frame);
  rec.submit();
  rec.dispose();
  engine.onTexture?.(eid, ring.display, 'written');
}

/**
 * Decodes a preview of a frame that is not ready from what its keyframes have so far, when they have
 * progressed since the last preview (a finished scale, a stored keyframe) and the budget allows.
 */
function preview(engine: Engine, eid: number, pb: VideoPlayback, frame: number): void {
  const V = engine.VideoStream;
  const { from, to } = segmentOf(pb.path.timeline, frame);
  const progress = pb.source.scales + 2;
  const key = ((from * progress + pb.path.progressOf(from)) * 1e6 + to) * progress + pb.path.progressOf(to);
  if (key === V.previewKey[eid]) return;
  const estimate = cost(engine, eid, 'decode', pb.source.scales, pb);
  if (!fits(engine, estimate)) return;
  const rec = engine.gpu.recorder('video preview', engine.options.timing);
  rec.section(`video preview ${frame}`);
  if (!pb.path.recordPreview(rec, frame)) {
    rec.dispose();
    return;
  }
  pb.ring.showPreview(rec, frame, pb.path.image);
  V.previewKey[eid] = key;
  submitUnit(engine, eid, pb, rec, estimate);
  engine.onTexture?.(eid, pb.ring.display, 'written');
}

function submitUnit(engine: Engine, eid: number, pb: VideoPlayback, rec: Recorder, estimate: number): void {
  const sub = rec.submit();
  rec.dispose();
  const info = { kind: 'decode' as const, scale: pb.source.scales, dispatches: sub.dispatches, weightBytesRead: rec.weightBytesRead, weightBytesStreamed: rec.weightBytesStreamed, gpuDone: sub.done };
  trackUnit(engine, engine.VideoStream.model[eid], pb.source.scales, info, estimate);
}

function cost(engine: Engine, eid: number, kind: StepKind, scale: number, pb: VideoPlayback): number {
  return Math.max(MIN_UNIT_MS, estimateCost(engine.costs, engine.VideoStream.model[eid], kind, Math.min(scale, pb.source.scales)));
}

/** A unit fits when the frame has run none yet, or when it fits in what the budget has left. */
function fits(engine: Engine, estimate: number): boolean {
  return engine.stats.units === 0 || engine.stats.estimatedMs + estimate <= engine.budget.ms;
}

function fail(engine: Engine, eid: number, e: unknown): void {
  const V = engine.VideoStream;
  disposePlayback(engine, eid);
  V.state[eid] = VideoState.error;
  V.waiting[eid] = 0;
  V.buffered[eid] = 0;
  engine.errors.set(eid, e instanceof Error ? e.message : String(e));
}
