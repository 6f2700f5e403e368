/**
 * Decoding on the torus: with circular padding the VQVAE decoder commutes with rolls (f_hat rolled by
 * k cells decodes to the image rolled by k patches), and the built-in model's textures, whose
 * quantizer upsamples on the torus too, tile without a seam where VAR's zero padding leaves one. Zero
 * padding breaks the roll, which shows the test can fail.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_MODEL } from '../../runtime/cli/builtin.ts';
import { seamRatio } from '../../world/eval/seam.ts';
import { disposeMaps, recordMaterialMaps, type MaterialMaps } from '../../runtime/generate/material.ts';
import { textToImage, UNIFIED_SAMPLING, variations } from '../../runtime/generate/unified-tasks.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import type { PaddingMode } from '../../runtime/kernels/conv2d.ts';
import type { UnifiedModel } from '../../runtime/models/unified/model.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import { decode } from '../../runtime/models/vqvae/vqvae.ts';
import { random, testGpu } from '../helpers.ts';

/** x [C, n, n] (planes) rolled by (dy, dx) along its last two axes, as torch.roll. */
function roll(x: Float32Array, C: number, n: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < n; y++)
      for (let i = 0; i < n; i++) out[(c * n + ((y + dy) % n)) * n + ((i + dx) % n)] = x[(c * n + y) * n + i];
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('the built-in model decoded on the torus', () => {
  let gpu: Gpu;
  let model: UnifiedModel;

  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadUnifiedFolder(gpu, BUILTIN_MODEL);
  }, 120_000);

  async function decodeWith(mode: PaddingMode, fHat: Float32Array): Promise<Float32Array> {
    const { zChannels, vPatchNums } = model.config.vae;
    const P = vPatchNums[vPatchNums.length - 1];
    const size = model.imageSize;
    const f = gpu.upload(fHat, [1, zChannels, P, P]);
    const image = gpu.tensor([1, 3, size, size]);
    const before = model.config.vae.padding;
    try {
      model.config.vae.padding = mode;
      gpu.run('decode', (rec) => decode(rec, gpu, model.decoder, f, image));
      return (await gpu.read(image)) as Float32Array;
    } finally {
      model.config.vae.padding = before;
      f.dispose();
      image.dispose();
    }
  }

  it('is the config\'s padding: the built-in decoder was trained on the torus', () => {
    expect(model.config.vae.padding).toBe('circular');
    expect(model.decoder.vae).toBe(model.config.vae); // the decoder reads the padding the quantizer reads
  });

  it('commutes with rolls: f_hat rolled by k cells decodes to the image rolled by k patches (not so with zero padding)', async () => {
    const { zChannels, vPatchNums } = model.config.vae;
    const P = vPatchNums[vPatchNums.length - 1];
    const patch = model.imageSize / P;
    const fHat = random(zChannels * P * P, 5);
    for (const [dy, dx] of [[3, 5], [P - 1, 1]]) {
      const rolled = roll(fHat, zChannels, P, dy, dx);
      const image = await decodeWith('circular', fHat);
      const fromRolled = await decodeWith('circular', rolled);
      const diff = maxDiff(fromRolled, roll(image, 3, model.imageSize, dy * patch, dx * patch));
      expect(diff, `circular, roll (${dy}, ${dx})`).toBeLessThan(1e-4);
    }
    const zeros = maxDiff(await decodeWith('zeros', roll(fHat, zChannels, P, 3, 5)), roll(await decodeWith('zeros', fHat), 3, model.imageSize, 3 * patch, 5 * patch));
    expect(zeros, 'zero padding breaks the roll').toBeGreaterThan(0.05);
  }, 120_000);

  it('generates textures that tile with far less of a seam on the torus than with VAR\'s zero padding', async () => {
    const prompts = ['red and blue checker, fine', 'blue and yellow stripes, coarse', 'green and white dots, medium', 'orange and purple waves, medium'];
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ratios = { zeros: [] as number[], circular: [] as number[] };
    const before = model.config.vae.padding;
    try {
      for (const mode of ['zeros', 'circular'] as const) {
        model.config.vae.padding = mode;
        for (const [i, prompt] of prompts.entries()) {
          const out = await textToImage(model, prompt, { ...UNIFIED_SAMPLING, seed: i });
          ratios[mode].push(seamRatio(out.image, model.imageSize));
        }
      }
    } finally {
      model.config.vae.padding = before;
    }
    const line = (mode: PaddingMode) => `${ratios[mode].map((r) => r.toFixed(2)).join(', ')} (mean ${mean(ratios[mode]).toFixed(2)})`;
    console.log(`seam ratio of ${prompts.length} generated textures, the same prompts and seeds: zeros ${line('zeros')}; circular ${line('circular')}`);
    // Four textures say how the two paddings compare; the absolute bound is the 100-texture test's below (the
    // world's textures sit at phase 0, so a coarse stripe's border on the wrap edge makes single ratios vary).
    expect(mean(ratios.circular)).toBeLessThan(0.6 * mean(ratios.zeros));
  }, 300_000);

  it('tiles 100 generated textures: the wrap edge steps within 10% of the inside at the same phase', async () => {
    // 4 prompts x 25 variations, one batch each; the inside's steps at the wrap edge's phase are the
    // patch borders (every imageSize / P pixels), where a decoder's steps are largest.
    const prompts = ['red and blue checker, fine', 'gray and brown bricks, medium', 'green and white dots, coarse', 'orange and purple waves, fine'];
    const { vPatchNums } = model.config.vae;
    const patch = model.imageSize / vPatchNums[vPatchNums.length - 1];
    const size = model.imageSize;
    const atPhase: number[] = [];
    const overall: number[] = [];
    const normals: number[] = [];
    for (const [i, prompt] of prompts.entries()) {
      const textures = await variations(model, prompt, 25, { ...UNIFIED_SAMPLING, seed: 100 * i });
      for (const out of textures) {
        atPhase.push(seamRatio(out.image, size, patch));
        overall.push(seamRatio(out.image, size));
      }
      // Their normal maps, made on the torus from the albedo, tile by the same measure.
      const albedo = gpu.upload(Float32Array.from(textures.flatMap((t) => Array.from(t.image))), [textures.length, 3, size, size]);
      let maps: MaterialMaps | undefined;
      gpu.run('normal maps', (rec) => void (maps = recordMaterialMaps(gpu, rec, albedo)));
      const normal = (await gpu.read(maps!.normal)) as Float32Array;
      for (let b = 0; b < textures.length; b++) normals.push(seamRatio(normal.subarray(b * 3 * size * size, (b + 1) * 3 * size * size), size, patch));
      disposeMaps(maps!);
      albedo.dispose();
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sorted = [...atPhase].sort((a, b) => a - b);
    console.log(`seam ratio of ${atPhase.length} generated textures, tiled: ${mean(atPhase).toFixed(3)} against the inside at the wrap edge's phase (median ${sorted[atPhase.length >> 1].toFixed(3)}, 90th percentile ${sorted[Math.floor(0.9 * atPhase.length)].toFixed(3)}), ${mean(overall).toFixed(3)} against every inside step`);
    console.log(`their normal maps: ${mean(normals).toFixed(3)} against the inside at the same phase`);
    expect(atPhase).toHaveLength(100);
    expect(mean(atPhase)).toBeLessThanOrEqual(1.1);
    expect(mean(normals)).toBeLessThanOrEqual(1.1);
  }, 1_800_000);
});

describe('the seam ratio', () => {
  it('reads about 1 for a texture that wraps smoothly, and far more for one cut at the edge', () => {
    const n = 32;
    const planes = (f: (y: number, x: number) => number) => Float32Array.from({ length: 3 * n * n }, (_, i) => f(Math.floor(i / n) % n, i % n));
    const tiling = planes((y, x) => Math.sin((2 * Math.PI * x) / n) + Math.cos((4 * Math.PI * y) / n));
    const ramp = planes((y, x) => (x + y) / n);
    expect(seamRatio(tiling, n)).toBeGreaterThan(0.8);
    expect(seamRatio(tiling, n)).toBeLessThan(1.2);
    expect(seamRatio(ramp, n)).toBeGreaterThan(20);
  });

  it('compares the wrap edge with the inside at its own phase when given the patch size', () => {
    // Flat 4 x 4 patches of random grey on a torus: every step is at a patch border, the wrap edge too.
    const n = 128;
    const cells = random((n / 4) ** 2, 77, 0, 1);
    const patches = Float32Array.from({ length: 3 * n * n }, (_, i) => cells[Math.floor((Math.floor(i / n) % n) / 4) * (n / 4) + Math.floor((i % n) / 4)]);
    expect(seamRatio(patches, n)).toBeGreaterThan(3); // against all columns, most of which do not step
    expect(seamRatio(patches, n, 4)).toBeGreaterThan(0.8);
    expect(seamRatio(patches, n, 4)).toBeLessThan(1.25);
    expect(() => seamRatio(patches, n, 5)).toThrow(/period must be a whole number dividing the size 128/);
  });
});
