/**
 * A clip's timeline, as plain arithmetic (no GPU): which two keyframes a frame blends and where between
 * them, which frames lie ahead of the playhead, and how the playhead moves over frames that are ready
 * and stops at the first one that is not.
 *
 * Positions are in frames (frame i spans [i, i + 1)); a looping clip wraps them into [0, F), a clip that
 * does not loop stops at either end. Keyframe k sits on frame k·N. The frames after the last keyframe
 * of a looping clip blend towards keyframe 0, so the loop closes without a jump; a clip that does not
 * loop blends towards one keyframe past its end.
 */

/** The shape of a clip. */
export interface Timeline {
  /** Frames in the clip (F ≥ 1). */
  frames: number;
  /** A keyframe every N frames (N ≥ 1). */
  keyframeEvery: number;
  /** Wrap at the ends instead of stopping. */
  loop: boolean;
}

/** Where a frame lies between two keyframes. */
export interface Segment {
  /** The keyframe at or before the frame. */
  from: number;
  /** The keyframe after it (0 where a looping clip closes). */
  to: number;
  /** 0 on `from`, towards 1 on `to`. */
  t: number;
}

/** Checks a timeline; the error names the field, its range and the value found. */
export function checkTimeline(tl: Timeline): void {
  if (!Number.isInteger(tl.frames) || tl.frames < 1 || tl.frames > 1_000_000) throw new Error(`frames must be a whole number in [1, 1000000], found ${tl.frames}`);
  if (!Number.isInteger(tl.keyframeEvery) || tl.keyframeEvery < 1 || tl.keyframeEvery > 10_000) {
    throw new Error(`keyframeEvery must be a whole number in [1, 10000], found ${tl.keyframeEvery}`);
  }
}

/**
 * The keyframes frame `frame` blends and its place between them.
 *
 * @example
 *   segmentOf({ frames: 10, keyframeEvery: 4, loop: true }, 5); // { from: 1, to: 2, t: 0.25 }
 *   segmentOf({ frames: 10, keyframeEvery: 4, loop: true }, 9); // { from: 2, to: 0, t: 0.5 }
 */
export function segmentOf(tl: Timeline, frame: number): Segment {
  const N = tl.keyframeEvery;
  const from = Math.floor(frame / N);
  const start = from * N;
  if (tl.loop && start + N >= tl.frames) return { from, to: 0, t: (frame - start) / (tl.frames - start) };
  return { from, to: from + 1, t: (frame - start) / N };
}

/** Wraps (looping) or clamps (not looping) a position into the clip. */
export function wrapPosition(tl: Timeline, position: number): number {
  const F = tl.frames;
  if (tl.loop) return ((position % F) + F) % F;
  return Math.min(Math.max(position, 0), F - 1);
}

/** The frame index `steps` frames from `frame` in `direction`, or -1 past an end of a clip that does not loop. */
export function frameAfter(tl: Timeline, frame: number, steps: number, direction: 1 | -1): number {
  const f = frame + steps * direction;
  if (tl.loop) return ((f % tl.frames) + tl.frames) % tl.frames;
  return f >= 0 && f < tl.frames ? f : -1;
}

/**
 * How many frames ahead of `from` (in `direction`) `frame` lies: 0 for `from` itself, Infinity for a
 * frame behind the playhead of a clip that does not loop.
 */
export function stepsAhead(tl: Timeline, from: number, frame: number, direction: 1 | -1): number {
  const d = (frame - from) * direction;
  if (tl.loop) return ((d % tl.frames) + tl.frames) % tl.frames;
  return d >= 0 ? d : Infinity;
}

/** Where the playhead got to. */
export interface Advance {
  /** New position (frames). Its frame, `floor(position)`, is the one to show. */
  position: number;
  /** Playback stopped at the first frame that was not ready (that frame is `floor(position)`). */
  waiting: boolean;
  /** A clip that does not loop reached its end. */
  ended: boolean;
}

/** Backward, a playhead waiting for frame f rests just inside f, so floor(position) is f either way. */
const INSIDE = 1e-6;

/**
 * Moves the playhead by `delta` frames (negative: backwards) over frames that are ready. With `wait`, it
 * stops at the first frame on the way that is not ready (its position there names that frame);
 * without, it moves the whole way whatever is ready. `ready` is asked about every frame passed,
 * including the current one.
 *
 * @example
 *   const tl = { frames: 8, keyframeEvery: 4, loop: true };
 *   advance(tl, 6.5, 2, (f) => f !== 0, true); // { position: 0, waiting: true, ended: false }
 */
export function advance(tl: Timeline, position: number, delta: number, ready: (frame: number) => boolean, wait: boolean): Advance {
  const F = tl.frames;
  const direction = delta < 0 ? -1 : 1;
  let target = position + delta;
  let ended = false;
  if (!tl.loop && (target >= F || target < 0)) {
    ended = delta !== 0;
    target = target < 0 ? 0 : F - 1;
  }
  if (wait) {
    const first = Math.floor(position);
    const steps = Math.min((Math.floor(target) - first) * direction, F);
    for (let j = 0; j <= steps; j++) {
      const f = frameAfter(tl, first, j, direction);
      if (f >= 0 && !ready(f)) {
        if (j === 0) return { position: wrapPosition(tl, position), waiting: true, ended: false };
        return { position: direction > 0 ? f : f + 1 - INSIDE, waiting: true, ended: false };
      }
    }
  }
  return { position: wrapPosition(tl, target), waiting: false, ended };
}

/** How many frames from `frame` on (in `direction`) are ready without a gap, at most `limit`. */
export function readyAhead(tl: Timeline, frame: number, direction: 1 | -1, limit: number, ready: (frame: number) => boolean): number {
  let n = 0;
  for (; n < Math.min(limit, tl.frames); n++) {
    const f = frameAfter(tl, frame, n, direction);
    if (f < 0 || !ready(f)) break;
  }
  return n;
}
