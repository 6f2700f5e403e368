import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES } from '../../runtime/gpu/index.ts';
import * as gpuK from '../../runtime/kernels/softmax.ts';
import * as ref from '../../runtime/reference/softmax.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

// Rows of N = 1, 3, 37, 300 and 100003 (none a multiple of the 256-wide workgroup; the long ones loop).
const tol = { atol: 1e-7, rtol: 1e-4 };

describe.each(KERNEL_STYLES)('softmax in the %s kernel style against the CPU reference', (style) => {
  it('normalises rows of any length, with and without a scale', async () => {
    const gpu = await testGpu();
    const cases = [
      { shape: [4, 1], scale: 1 },
      { shape: [1, 3], scale: 1 },
      { shape: [2, 3, 37], scale: 0.125 },
      { shape: [7, 300], scale: 1 },
      { shape: [5, 300], scale: -2 },
    ];
    const runs = cases.map((k, i) => {
      const n = k.shape.reduce((a, b) => a * b, 1);
      const x = random(n, 10 + i, -8, 8);
      return { k, x, out: gpu.tensor(k.shape), tx: gpu.upload(x, k.shape) };
    });
    gpu.run('softmax', (rec) => runs.forEach((r) => gpuK.softmax(rec, r.out, r.tx, { scale: r.k.scale })), style);
    for (const r of runs) {
      const N = r.k.shape[r.k.shape.length - 1];
      expectClose(`softmax [${r.k.shape}] scale=${r.k.scale}`, await gpu.read(r.out), ref.softmax(r.x, N, { scale: r.k.scale }), tol);
    }
  });

  it('handles a 100k-long row and large logits (offset 100, spread 60) without overflow', async () => {
    const gpu = await testGpu();
    const N = 100003;
    const long = random(2 * N, 20, -10, 10);
    const large = random(3 * 37, 21, 70, 130);
    const out1 = gpu.tensor([2, N]);
    const out2 = gpu.tensor([3, 37]);
    gpu.run('softmax', (rec) => {
      gpuK.softmax(rec, out1, gpu.upload(long, [2, N]));
      gpuK.softmax(rec, out2, gpu.upload(large, [3, 37]));
    }, style);
    const got = await gpu.read(out1);
    expectClose('softmax (N = 100003)', got, ref.softmax(long, N), { atol: 1e-9, rtol: 1e-4 });
    expect(Array.from(got.subarray(0, N)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expectClose('softmax (logits ~100)', await gpu.read(out2), ref.softmax(large, 37), tol);
  });

  it('rejects bad shapes, dtypes and aliasing naming expected vs found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([3, 37]);
    expect(() => gpuK.softmax(rec, gpu.tensor([3, 36]), x)).toThrow(/expected 111 elements.*found 108/);
    expect(() => gpuK.softmax(rec, gpu.tensor([3, 37]), gpu.tensor([3, 37], 'f16'))).toThrow(/x must be f32, found f16/);
    expect(() => gpuK.softmax(rec, gpu.tensor([3, 37], 'u32'), x)).toThrow(/out must be f32, found u32/);
    expect(() => gpuK.softmax(rec, x, x)).toThrow(/out must be a separate buffer.*x/);
  });
});
