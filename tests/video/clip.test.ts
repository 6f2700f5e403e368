/**
 * Clip export on the var-tiny fixture model: numbered PNGs whose keyframe frames are the still images
 * the reference computed (the interpolation's ends are the keyframes' decodes), with an in-between
 * frame between them, and clear errors for what cannot make a clip.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClip } from '../../runtime/cli/clip.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { loadVarFolder } from '../../runtime/models/var/load.ts';
import type { VarModel } from '../../runtime/models/var/model.ts';
import { testGpu } from '../helpers.ts';
import { FIXTURE, readExpected, type Expected } from '../models/fixture.ts';

/** The fixture's generation: classes 3 and 7, greedy. */
const GREEDY = { cfg: 1.5, topK: 1, topP: 0 };
const SIZE = 64;

let gpu: Gpu;
let model: VarModel;
let expected: Expected;
const dir = mkdtempSync(join(tmpdir(), 'nextscale-clip-'));

/** A PNG's RGB values, as numbers in [0, 255]. */
function rgb(file: string): number[] {
  const png = decode(readFileSync(file));
  expect([png.width, png.height, png.channels]).toEqual([SIZE, SIZE, 4]);
  return Array.from(png.data).filter((_, i) => i % 4 !== 3);
}

/** The fixture's image `b` as the RGB bytes a PNG of it holds. */
function reference(b: number): number[] {
  const image = expected.get('gen.image').data;
  const plane = SIZE * SIZE;
  const out: number[] = [];
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out.push(Math.round(image[(b * 3 + c) * plane + i] * 255));
  return out;
}

function meanAbsDiff(a: number[], b: number[]): number {
  return a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
}

function maxAbsDiff(a: number[], b: number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('writeClip on var-tiny', () => {
  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadVarFolder(gpu, FIXTURE, { encoder: false });
    expected = await readExpected();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes numbered frames whose keyframes are the still images', async () => {
    const out = join(dir, 'clip');
    const seen: number[] = [];
    const result = await writeClip(gpu, model, { labels: [3, 7], frames: 3, keyframeEvery: 2, seed: 0, ...GREEDY, out, onFrame: (f) => seen.push(f) });
    expect(readdirSync(out).sort()).toEqual(['frame_0000.png', 'frame_0001.png', 'frame_0002.png']);
    expect(result).toEqual({ files: ['frame_0000.png', 'frame_0001.png', 'frame_0002.png'].map((f) => join(out, f)), keyframes: 2 });
    expect(seen).toEqual([0, 1, 2]);
    const [first, middle, last] = result.files.map(rgb);
    // Keyframe frames decode the keyframes' own features: the reference's images, to a rounding step.
    expect(maxAbsDiff(first, reference(0))).toBeLessThanOrEqual(1);
    expect(maxAbsDiff(last, reference(1))).toBeLessThanOrEqual(1);
    // The frame between them is nearer to each end than the ends are to each other.
    const span = meanAbsDiff(first, last);
    expect(span).toBeGreaterThan(5);
    expect(meanAbsDiff(middle, first)).toBeLessThan(span);
    expect(meanAbsDiff(middle, last)).toBeLessThan(span);
  });

  it('refuses what cannot make a clip, naming what was expected', async () => {
    const out = join(dir, 'bad');
    await expect(writeClip(gpu, model, { frames: 2, keyframeEvery: 2, out })).rejects.toThrow(/expected class labels or a prompt, found neither/);
    await expect(writeClip(gpu, model, { labels: [3, 10], frames: 2, keyframeEvery: 2, out })).rejects.toThrow(/class label 10 is out of range: this model has classes 0\.\.9/);
    await expect(writeClip(gpu, model, { labels: [3], frames: 0, keyframeEvery: 2, out })).rejects.toThrow(/frames must be a whole number in \[1, 1000000\], found 0/);
  });
});
