/**
 * The timeline's arithmetic on its own (no GPU): segments between keyframes, a loop that closes on
 * keyframe 0, the window ahead of the playhead, and a playhead that stops at the first frame that is
 * not ready, forwards and backwards.
 */
import { describe, expect, it } from 'vitest';
import { keyframeSeed } from '../../runtime/video/keyframes.ts';
import { advance, checkTimeline, frameAfter, readyAhead, segmentOf, stepsAhead, type Timeline } from '../../runtime/video/timeline.ts';

const LOOP: Timeline = { frames: 10, keyframeEvery: 4, loop: true };
const ONCE: Timeline = { frames: 10, keyframeEvery: 4, loop: false };

describe('segments', () => {
  it('puts keyframe k on frame k·N and blends the frames between', () => {
    expect(segmentOf(LOOP, 0)).toEqual({ from: 0, to: 1, t: 0 });
    expect(segmentOf(LOOP, 5)).toEqual({ from: 1, to: 2, t: 0.25 });
    expect(segmentOf(LOOP, 8)).toEqual({ from: 2, to: 0, t: 0 });
    // The loop closes: the last, shorter segment blends towards keyframe 0.
    expect(segmentOf(LOOP, 9)).toEqual({ from: 2, to: 0, t: 0.5 });
    // Without a loop it blends towards a keyframe past the end.
    expect(segmentOf(ONCE, 9)).toEqual({ from: 2, to: 3, t: 0.25 });
  });

  it('derives keyframe seeds from the video seed, keyframe 0 keeping it', () => {
    expect(keyframeSeed(7, 0)).toBe(7);
    expect(keyframeSeed(7, 1)).toBe(2654435776);
    expect(new Set([0, 1, 2, 3].map((k) => keyframeSeed(5, k))).size).toBe(4);
    expect(keyframeSeed(0xffffffff, 3)).toBeLessThan(2 ** 32);
  });

  it('refuses a clip without frames or keyframes', () => {
    expect(() => checkTimeline({ frames: 0, keyframeEvery: 4, loop: true })).toThrow(/frames must be a whole number in \[1, 1000000\], found 0/);
    expect(() => checkTimeline({ frames: 8, keyframeEvery: 2.5, loop: true })).toThrow(/keyframeEvery must be a whole number .*found 2.5/);
  });
});

describe('window', () => {
  it('wraps when looping and stops at the ends otherwise', () => {
    expect([0, 1, 2, 3].map((j) => frameAfter(LOOP, 8, j, 1))).toEqual([8, 9, 0, 1]);
    expect([0, 1, 2, 3].map((j) => frameAfter(ONCE, 8, j, 1))).toEqual([8, 9, -1, -1]);
    expect([0, 1, 2].map((j) => frameAfter(LOOP, 1, j, -1))).toEqual([1, 0, 9]);
    expect(stepsAhead(LOOP, 8, 1, 1)).toBe(3);
    expect(stepsAhead(ONCE, 8, 1, 1)).toBe(Infinity);
    expect(stepsAhead(LOOP, 1, 9, -1)).toBe(2);
    expect(readyAhead(LOOP, 8, 1, 5, (f) => f !== 1)).toBe(3);
  });
});

describe('advance', () => {
  const all = () => true;

  it('moves by speed, wraps a loop, and ends a clip that does not loop', () => {
    expect(advance(LOOP, 2.5, 1.25, all, true)).toEqual({ position: 3.75, waiting: false, ended: false });
    expect(advance(LOOP, 9.5, 1, all, true)).toEqual({ position: 0.5, waiting: false, ended: false });
    expect(advance(LOOP, 0.25, -0.5, all, true)).toEqual({ position: 9.75, waiting: false, ended: false });
    expect(advance(ONCE, 9.5, 1, all, true)).toEqual({ position: 9, waiting: false, ended: true });
    expect(advance(ONCE, 0.5, -1, all, true)).toEqual({ position: 0, waiting: false, ended: true });
    expect(advance(LOOP, 3.5, 0, all, true)).toEqual({ position: 3.5, waiting: false, ended: false });
  });

  it('stops at the first frame that is not ready, in either direction, and names it', () => {
    const notSix = (f: number) => f !== 6;
    const forward = advance(LOOP, 4.5, 3, notSix, true);
    expect(forward).toEqual({ position: 6, waiting: true, ended: false });
    expect(Math.floor(forward.position)).toBe(6);
    const backward = advance(LOOP, 8.5, -3, notSix, true);
    expect(backward.waiting).toBe(true);
    expect(Math.floor(backward.position)).toBe(6);
    expect(backward.position).toBeGreaterThan(6.99);
    // Across the loop's seam.
    expect(advance(LOOP, 9.5, 1, (f) => f !== 0, true)).toEqual({ position: 0, waiting: true, ended: false });
    // A playhead on a frame that is not ready stays put.
    expect(advance(LOOP, 6, 0.5, notSix, true)).toEqual({ position: 6, waiting: true, ended: false });
    // Without waiting it goes the whole way.
    expect(advance(LOOP, 4.5, 3, notSix, false)).toEqual({ position: 7.5, waiting: false, ended: false });
  });

  it('plays the same frames whatever the frame times', () => {
    const shown = (steps: number[]) => {
      const out: number[] = [];
      let position = 0;
      for (const d of steps) {
        position = advance(LOOP, position, d, all, true).position;
        out.push(Math.floor(position));
      }
      return out;
    };
    // 12 fps at 48 Hz and at 24 Hz, over the same second: both pass every frame and end on frame 2
    // of the next loop (frame steps of binary fractions, so no rounding drifts).
    const fast = shown(new Array(48).fill(0.25));
    const slow = shown(new Array(24).fill(0.5));
    expect(fast.at(-1)).toBe(2);
    expect(slow.at(-1)).toBe(2);
    expect([...new Set(fast)]).toEqual([...new Set(slow)]);
  });
});
