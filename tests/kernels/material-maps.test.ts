import { describe, expect, it } from 'vitest';
import type { Gpu, Tensor } from '../../runtime/gpu/index.ts';
import { MATERIAL_DEFAULTS, parseMapKinds, recordMaterialMaps, disposeMaps, type MaterialMaps } from '../../runtime/generate/material.ts';
import * as gpuK from '../../runtime/kernels/material-maps.ts';
import * as ref from '../../runtime/reference/material-maps.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

const TOL = { atol: 2e-5, rtol: 1e-4 };
// 2 images of 13 x 21: 546 pixels each, 1,092 in all, not a multiple of the 256-wide workgroup.
const [B, H, W] = [2, 13, 21];

async function read(gpu: Gpu, t: Tensor): Promise<Float32Array> {
  return (await gpu.read(t)) as Float32Array;
}

/** The maps of image [n, 3, h, w] on the GPU, read back. */
async function gpuMaps(gpu: Gpu, image: Float32Array, n: number, h: number, w: number): Promise<Record<keyof MaterialMaps, Float32Array>> {
  let maps: MaterialMaps | undefined;
  gpu.run('material', (rec) => { maps = recordMaterialMaps(gpu, rec, gpu.upload(image, [n, 3, h, w])); });
  const out = { height: await read(gpu, maps!.height), normal: await read(gpu, maps!.normal), roughness: await read(gpu, maps!.roughness), ao: await read(gpu, maps!.ao) };
  disposeMaps(maps!);
  return out;
}

/** x [planes, h, w] rolled by (dy, dx) on the torus. */
function roll(x: Float32Array, planes: number, h: number, w: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) out[(p * h + ((y + dy) % h)) * w + ((xx + dx) % w)] = x[(p * h + y) * w + xx];
  return out;
}

/** [3, h, w] of two colours on a random mask, with noise of ±0.05. */
function twoColours(a: number[], b: number[], h: number, w: number, seed: number): Float32Array {
  const mask = random(h * w, seed, 0, 1);
  const noise = random(3 * h * w, seed + 100, -0.05, 0.05);
  return Float32Array.from({ length: 3 * h * w }, (_, i) => (mask[i % (h * w)] < 0.5 ? a : b)[Math.floor(i / (h * w))] + noise[i]);
}

describe('material-map kernels against the CPU reference', () => {
  it('the colour axis: two colours give the line between them, a grey image the luma direction', async () => {
    const gpu = await testGpu();
    // Red and blue of about one luma, noisy; a flat grey; yellow on dark green. 273 pixels each: the
    // workgroup's strided loop wraps once.
    const red = [0.8, 0.12, 0.1];
    const blue = [0.1, 0.25, 0.95];
    const images = [twoColours(red, blue, H, W, 7), new Float32Array(3 * H * W).fill(0.4), twoColours([0.95, 0.9, 0.1], [0.05, 0.3, 0.05], H, W, 8)];
    const image = Float32Array.from(images.flatMap((im) => [...im]));
    const axis = gpu.tensor([3, 4]);
    gpu.run('axis', (rec) => gpuK.colourAxis(rec, axis, gpu.upload(image, [3, 3, H, W])));
    const got = await read(gpu, axis);
    expectClose('colour axis', got, ref.colourAxis(image, 3, H, W), { atol: 1e-4 });
    const diff = red.map((v, c) => v - blue[c]);
    const cos = Math.abs(diff.reduce((a, d, c) => a + d * got[c], 0)) / Math.hypot(...diff);
    expect(cos).toBeGreaterThan(0.99);
    const luma = [0.2126, 0.7152, 0.0722];
    expectClose('grey image: the luma direction', got.subarray(4, 7), luma.map((l) => l / Math.hypot(...luma)), { atol: 1e-6 });
    expect(got[8] * 0.2126 + got[9] * 0.7152 + got[10] * 0.0722).toBeGreaterThan(0); // brighter is positive
  });

  it('project writes Y and Y² along the axis of each image', async () => {
    const gpu = await testGpu();
    const image = random(B * 3 * H * W, 1, 0, 1);
    const axis = random(B * 4, 9);
    const lum = gpu.tensor([B, 2, H, W]);
    gpu.run('project', (rec) => gpuK.projectColours(rec, lum, gpu.upload(image, [B, 3, H, W]), gpu.upload(axis, [B, 4])));
    expectClose('project', await read(gpu, lum), ref.projectColours(image, axis, B, H, W), TOL);
  });

  it('the blur wraps around along either axis, with radii cut to one turn of the torus', async () => {
    const gpu = await testGpu();
    const x = random(3 * H * W, 2);
    for (const [axis, sigma] of [['x', 1.5], ['y', 2.5], ['x', 20], ['y', 0.5]] as const) {
      const out = gpu.tensor([3, H, W]);
      gpu.run('blur', (rec) => gpuK.blurCircular(rec, out, gpu.upload(x, [3, H, W]), axis, sigma));
      const radius = gpuK.blurRadius(sigma, axis === 'x' ? W : H);
      expectClose(`blur ${axis} σ ${sigma}`, await read(gpu, out), ref.blurCircular(x, 3, H, W, axis, sigma, radius), TOL);
    }
    expect(gpuK.blurRadius(20, W)).toBe(W - 1);
    expect(gpuK.blurRadius(1.5, W)).toBe(5);
  });

  it('height, normal, roughness and ao maps', async () => {
    const gpu = await testGpu();
    const local = random(B * 2 * H * W, 3, 0, 1);
    const other = random(B * 2 * H * W, 4, 0, 1);
    const up = (d: Float32Array, shape: number[]) => gpu.upload(d, shape);
    const map = () => gpu.tensor([B, 3, H, W]);
    const [height, normal, rough, ao] = [map(), map(), map(), map()];
    gpu.run('maps', (rec) => {
      gpuK.heightMap(rec, height, up(local, [B, 2, H, W]), up(other, [B, 2, H, W]), 1.7);
      gpuK.roughnessMap(rec, rough, up(local, [B, 2, H, W]), 0.3, 1.2);
      gpuK.aoMap(rec, ao, up(local, [B, 2, H, W]), up(other, [B, 2, H, W]), 2.5);
    });
    const h = await read(gpu, height);
    gpu.run('normal', (rec) => gpuK.normalMap(rec, normal, up(h, [B, 3, H, W]), 3));
    expectClose('height', h, ref.heightMap(local, other, B, H, W, 1.7), TOL);
    expectClose('roughness', await read(gpu, rough), ref.roughnessMap(local, B, H, W, 0.3, 1.2), TOL);
    expectClose('ao', await read(gpu, ao), ref.aoMap(local, other, B, H, W, 2.5), TOL);
    expectClose('normal', await read(gpu, normal), ref.normalMap(h, B, H, W, 3), TOL);
  });

  it('the whole chain matches the reference chain', async () => {
    const gpu = await testGpu();
    const [h, w] = [19, 23];
    const image = Float32Array.from([...twoColours([0.9, 0.2, 0.2], [0.2, 0.3, 0.8], h, w, 5), ...twoColours([0.5, 0.5, 0.5], [0.1, 0.1, 0.1], h, w, 6)]);
    const got = await gpuMaps(gpu, image, B, h, w);
    const want = ref.materialMaps(image, B, h, w, MATERIAL_DEFAULTS);
    for (const k of ['height', 'normal', 'roughness', 'ao'] as const) expectClose(`chain ${k}`, got[k], want[k], TOL);
  });

  it('every map tiles: the maps of a rolled albedo are the rolled maps', async () => {
    const gpu = await testGpu();
    const s = 24;
    const image = twoColours([0.9, 0.7, 0.2], [0.3, 0.1, 0.6], s, s, 6);
    const maps = await gpuMaps(gpu, image, 1, s, s);
    const rolled = await gpuMaps(gpu, roll(image, 3, s, s, 7, 17), 1, s, s);
    for (const k of ['height', 'normal', 'roughness', 'ao'] as const) {
      expect(Math.max(...maps[k]) - Math.min(...maps[k]), `${k} varies`).toBeGreaterThan(0.05);
      expectClose(`rolled ${k}`, rolled[k], roll(maps[k], 3, s, s, 7, 17), { atol: 1e-5, rtol: 0 });
    }
  });

  it('reads shape from colour: a flat albedo is flat, a dark groove is low, occluded and tilts the normals toward it', async () => {
    const gpu = await testGpu();
    const s = 32;
    const flat = await gpuMaps(gpu, new Float32Array(3 * s * s).fill(0.6), 1, s, s);
    expectClose('flat height', flat.height, new Float32Array(3 * s * s).fill(0.5), { atol: 1e-5 });
    expectClose('flat normal', flat.normal, [...new Float32Array(2 * s * s).fill(0.5), ...new Float32Array(s * s).fill(1)], { atol: 1e-5 });
    expectClose('flat roughness', flat.roughness, new Float32Array(3 * s * s).fill(MATERIAL_DEFAULTS.roughnessBase), { atol: 1e-3 });
    expectClose('flat ao', flat.ao, new Float32Array(3 * s * s).fill(1), { atol: 1e-5 });

    const groove = new Float32Array(3 * s * s).fill(0.8); // a dark vertical line at x = 16, 2 px wide
    for (let c = 0; c < 3; c++) for (let y = 0; y < s; y++) for (const x of [16, 17]) groove[(c * s + y) * s + x] = 0.1;
    const g = await gpuMaps(gpu, groove, 1, s, s);
    const at = (m: Float32Array, c: number, x: number) => m[(c * s + 5) * s + x];
    expect(at(g.height, 0, 16)).toBeLessThan(at(g.height, 0, 4) - 0.2);
    expect(at(g.ao, 0, 16)).toBeLessThan(0.9);
    expect(at(g.ao, 0, 4)).toBeCloseTo(1, 3);
    expect(at(g.roughness, 0, 15)).toBeGreaterThan(at(g.roughness, 0, 4) + 0.1);
    // Left of the groove the surface falls toward +x, so the normal leans to +x; right of it, to -x.
    expect(at(g.normal, 0, 15)).toBeGreaterThan(0.6);
    expect(at(g.normal, 0, 18)).toBeLessThan(0.4);
    expect(Math.abs(at(g.normal, 1, 15) - 0.5)).toBeLessThan(1e-5); // no slope along y
  });

  it('checks shapes and settings, and parses --maps lists', async () => {
    const gpu = await testGpu();
    const image = gpu.tensor([1, 4, 8, 8]);
    expect(() => gpu.run('bad', (rec) => recordMaterialMaps(gpu, rec, image))).toThrow(/materialMaps: image must be \[B, 3, H ≥ 1, W ≥ 1\] f32, found \[1, 4, 8, 8\]/);
    const x = gpu.tensor([1, 3, 8, 8]);
    expect(() => gpu.run('bad', (rec) => recordMaterialMaps(gpu, rec, x, { ...MATERIAL_DEFAULTS, normalStrength: NaN }))).toThrow(/normalStrength must be a finite number/);
    expect(() => gpu.run('bad', (rec) => gpuK.blurCircular(rec, gpu.tensor([1, 8, 8]), gpu.tensor([1, 8, 8]), 'x', 0))).toThrow(/sigma must be a positive/);
    expect(parseMapKinds('albedo, normal,ao')).toEqual(['albedo', 'normal', 'ao']);
    expect(() => parseMapKinds('albedo,metal')).toThrow(/unknown map 'metal'/);
    expect(() => parseMapKinds('ao,ao')).toThrow(/named twice/);
    expect(() => parseMapKinds('')).toThrow(/comma-separated list/);
  });
});
