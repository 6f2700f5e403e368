import { describe, expect, it } from 'vitest';
import * as gpuK from '../../runtime/kernels/resize.ts';
import * as ref from '../../runtime/reference/resize.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

const TOL = { atol: 1e-5, rtol: 1e-4 };
const B = 2;
const C = 3;

type Op = 'resizeBicubic' | 'resizeArea';

/** Resamples random [B, C, H, W] data to [B, C, Ho, Wo] on the GPU; returns the input, the result and the reference. */
async function run(op: Op, H: number, W: number, Ho: number, Wo: number, seed: number) {
  const gpu = await testGpu();
  const x = random(B * C * H * W, seed);
  const out = gpu.tensor([B, C, Ho, Wo]);
  gpu.run(op, (rec) => gpuK[op](rec, out, gpu.upload(x, [B, C, H, W])));
  return { x, got: await gpu.read(out), want: ref[op](x, { planes: B * C, H, W, Ho, Wo }) };
}

describe('resize kernels against the CPU reference', () => {
  it('nearest 2x upsampling', async () => {
    const gpu = await testGpu();
    const [H, W] = [5, 7]; // out 10x14: 840 elements, not a multiple of 256
    const x = random(B * C * H * W, 1);
    const out = gpu.tensor([B, C, 2 * H, 2 * W]);
    gpu.run('upsample', (rec) => gpuK.upsampleNearest2x(rec, out, gpu.upload(x, [B, C, H, W])));
    const got = await gpu.read(out);
    expectClose('upsampleNearest2x', got, ref.upsampleNearest2x(x, B * C, H, W), { atol: 0, rtol: 0 });
    expect(got[3 * 2 * W + 5]).toBe(x[1 * W + 2]); // out[0, 0, 3, 5] = x[0, 0, 1, 2]
  });

  it('bicubic 3→7, 7→4, 1→4, and different sizes per axis', async () => {
    for (const [i, [H, W, Ho, Wo]] of [[3, 3, 7, 7], [7, 7, 4, 4], [1, 1, 4, 4], [3, 7, 7, 4], [4, 1, 16, 5]].entries()) {
      const { got, want } = await run('resizeBicubic', H, W, Ho, Wo, 10 + i);
      expectClose(`bicubic ${H}x${W}→${Ho}x${Wo}`, got, want, TOL);
    }
  });

  it('bicubic follows PyTorch: same size is the identity, 1 pixel spreads unchanged', async () => {
    const same = await run('resizeBicubic', 5, 6, 5, 6, 20);
    expectClose('bicubic 5x6→5x6', same.got, same.x, TOL);
    const one = await run('resizeBicubic', 1, 1, 4, 3, 21);
    expectClose('bicubic 1→4x3', one.got, Float32Array.from(one.got, (_, i) => one.x[Math.floor(i / 12)]), TOL);
    expect(ref.cubicWeights(0.25).reduce((a, b) => a + b)).toBeCloseTo(1, 12);
  });

  it('bicubic on the torus (taps wrap around): 2→16, 3→7, 1→4, 4→16x8', async () => {
    const gpu = await testGpu();
    for (const [i, [H, W, Ho, Wo]] of [[2, 2, 16, 16], [3, 3, 7, 7], [1, 1, 4, 4], [4, 4, 16, 8]].entries()) {
      const x = random(B * C * H * W, 50 + i);
      const out = gpu.tensor([B, C, Ho, Wo]);
      gpu.run('bicubic circular', (rec) => gpuK.resizeBicubic(rec, out, gpu.upload(x, [B, C, H, W]), { paddingMode: 'circular' }));
      expectClose(`circular bicubic ${H}x${W}→${Ho}x${Wo}`, await gpu.read(out), ref.resizeBicubic(x, { planes: B * C, H, W, Ho, Wo }, true), TOL);
    }
  });

  it('the circular bicubic reference is the middle tile of the input tiled 3x3 and upsampled with clamped taps', () => {
    const [H, W, r] = [4, 2, 4];
    const x = random(H * W, 60);
    const tiled = Float32Array.from({ length: 9 * H * W }, (_, i) => x[(Math.floor(i / (3 * W)) % H) * W + ((i % (3 * W)) % W)]);
    const big = ref.resizeBicubic(tiled, { planes: 1, H: 3 * H, W: 3 * W, Ho: 3 * H * r, Wo: 3 * W * r });
    const middle = Float32Array.from({ length: H * r * W * r }, (_, i) => big[(H * r + Math.floor(i / (W * r))) * 3 * W * r + W * r + (i % (W * r))]);
    const circular = ref.resizeBicubic(x, { planes: 1, H, W, Ho: H * r, Wo: W * r }, true);
    expectClose('circular reference', circular, middle, { atol: 1e-6, rtol: 1e-6 });
    const clamped = ref.resizeBicubic(x, { planes: 1, H, W, Ho: H * r, Wo: W * r });
    expect(Math.max(...clamped.map((v, i) => Math.abs(v - circular[i])))).toBeGreaterThan(0.01);
  });

  it('area 7→3, 4→2, 5→5, and different sizes per axis', async () => {
    for (const [i, [H, W, Ho, Wo]] of [[7, 7, 3, 3], [4, 4, 2, 2], [5, 5, 5, 5], [16, 9, 1, 4], [5, 3, 2, 6]].entries()) {
      const { got, want } = await run('resizeArea', H, W, Ho, Wo, 30 + i);
      expectClose(`area ${H}x${W}→${Ho}x${Wo}`, got, want, TOL);
    }
  });

  it('area follows adaptive_avg_pool2d: 4→2 averages 2x2 blocks, 7→3 takes overlapping cells 0-2, 2-4, 4-6', async () => {
    const { x, got } = await run('resizeArea', 4, 7, 2, 3, 40);
    const mean = (ys: number[], xs: number[]) => ys.reduce((s, y) => s + xs.reduce((t, xx) => t + x[y * 7 + xx], 0), 0) / (ys.length * xs.length);
    expect(got[0]).toBeCloseTo(mean([0, 1], [0, 1, 2]), 5);
    expect(got[1]).toBeCloseTo(mean([0, 1], [2, 3, 4]), 5);
    expect(got[5]).toBeCloseTo(mean([2, 3], [4, 5, 6]), 5);
  });
});

describe('resize arguments', () => {
  it('rejects mismatched shapes and dtypes, naming expected and found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([2, 3, 4, 5]);
    expect(() => gpuK.upsampleNearest2x(rec, gpu.tensor([2, 3, 8, 9]), x)).toThrow('upsampleNearest2x: out: expected shape [2, 3, 8, 10], found [2, 3, 8, 9]');
    expect(() => gpuK.upsampleNearest2x(rec, gpu.tensor([3, 8, 10]), gpu.tensor([3, 4, 5]))).toThrow('upsampleNearest2x: x must be [B, C, H, W], found [3, 4, 5]');
    expect(() => gpuK.resizeBicubic(rec, gpu.tensor([2, 4, 7, 7]), x)).toThrow('resizeBicubic: out must be [B=2, C=3, Ho ≥ 1, Wo ≥ 1], found [2, 4, 7, 7]');
    expect(() => gpuK.resizeArea(rec, gpu.tensor([2, 3, 49]), x)).toThrow('resizeArea: out must be [B=2, C=3, Ho ≥ 1, Wo ≥ 1], found [2, 3, 49]');
    expect(() => gpuK.resizeArea(rec, gpu.tensor([2, 3, 2, 2]), gpu.tensor([2, 3, 4, 5], 'f16'))).toThrow('resizeArea: x must be f32, found f16');
    expect(() => gpuK.resizeBicubic(rec, gpu.tensor([2, 3, 2, 2], 'i32'), x)).toThrow('resizeBicubic: out must be f32, found i32');
    expect(rec.dispatches).toBe(0);
  });
});
