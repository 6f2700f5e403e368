import { describe, expect, it } from 'vitest';
import { applyMotion, gradeClip, psnr, summarizeClips } from '../../../world/eval/clip-grade.ts';
import { parseClipCaption, renderFrame } from '../../../world/index.ts';

const SIZE = 64;

/** The world's own clip of a caption: frames 0 .. n-1 at the caption's speeds. */
function worldClip(text: string, n: number, seed = 3): Uint8ClampedArray[] {
  const { spec, motion } = parseClipCaption(text);
  return Array.from({ length: n }, (_, t) => renderFrame(spec, motion, t, SIZE, seed));
}

describe('clip grading against the world\'s true motion', () => {
  it('scores the world\'s own scrolling clip as following its motion exactly, and a frozen one as not moving', () => {
    const text = 'red and blue checker, fine, scrolling up';
    const truth = gradeClip(worldClip(text, 5), SIZE, text, 3);
    expect(truth.motion).toBe('scroll');
    expect(truth.followMse).toBe(0);
    expect(truth.stillMse).toBeGreaterThan(1000);
    expect(truth.change).toBeCloseTo(1, 6);
    expect(truth.colours).toBe(1);

    const frozen = gradeClip(Array(5).fill(worldClip(text, 1)[0]), SIZE, text, 3);
    expect(frozen.stillMse).toBe(0);
    expect(frozen.change).toBe(0);
    expect(frozen.followMse).toBeCloseTo(truth.stillMse, 6);

    const summary = summarizeClips([truth, frozen]);
    expect(summary.clips).toBe(2);
    expect(summary.followPsnr).toBeCloseTo(psnr(truth.stillMse / 2), 6);
    expect(summary.byMotion.scroll.clips).toBe(2);
  });

  it('follows a hue change closely, and gives growth and flow no follow score', () => {
    const text = 'orange and teal checker, coarse, changing hue';
    const drift = gradeClip(worldClip(text, 4), SIZE, text, 3);
    expect(psnr(drift.followMse!)).toBeGreaterThan(psnr(drift.stillMse) + 3);
    const grow = gradeClip(worldClip('white and black dots, medium, growing', 4), SIZE, 'white and black dots, medium, growing', 3);
    expect(grow.followMse).toBeUndefined();
    expect(grow.change).toBeCloseTo(1, 6);
    expect(applyMotion(new Uint8ClampedArray(12), 2, { kind: 'flow', rate: 0.05 })).toBeUndefined();
  });

  it('gives no change ratio against a world clip that stands still, and leaves it out of the summary', () => {
    const still = 'red and blue checker, fine, growing'; // a caption the world no longer samples: its frames stand still
    const frames = worldClip('red and blue checker, fine, scrolling left', 4);
    const unscaled = gradeClip(frames, SIZE, still, 3);
    expect(unscaled.change).toBeUndefined();
    const moving = gradeClip(worldClip('white and black dots, medium, growing', 4), SIZE, 'white and black dots, medium, growing', 3);
    const summary = summarizeClips([unscaled, moving]);
    expect(summary.clips).toBe(2);
    expect(summary.change).toBeCloseTo(moving.change!, 9);
    expect(summary.byMotion.grow.change).toBeCloseTo(moving.change!, 9);
  });

  it('refuses clips it cannot grade, naming what it found', () => {
    const text = 'red and blue stripes, medium, scrolling left';
    expect(() => gradeClip(worldClip(text, 1), SIZE, text)).toThrow(/at least 2 frames, found 1/);
    expect(() => gradeClip([new Uint8ClampedArray(10), new Uint8ClampedArray(10)], SIZE, text)).toThrow(/frame 0 holds 10 bytes, expected 64·64·3 = 12288/);
    expect(() => gradeClip(worldClip(text, 2), SIZE, 'red and blue stripes, medium')).toThrow(/expected a motion/);
  });
});
