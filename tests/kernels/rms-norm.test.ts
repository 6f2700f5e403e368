import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES } from '../../runtime/gpu/index.ts';
import * as gpuK from '../../runtime/kernels/rms-norm.ts';
import * as ref from '../../runtime/reference/rms-norm.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

// Rows of C = 3, 37, 300 and 1100 (none a multiple of the 256-wide workgroup, 3 and 37 none of the direct style's 4; 300 and 1100 loop).
// In the direct style C % 4 == 0 takes rms_norm_rows, one invocation a row: 300 and 1100, and 131 rows of 20 (two
// workgroups of 64 rows and a part of a third).
const tol = { atol: 1e-5, rtol: 1e-4 };

describe.each(KERNEL_STYLES)('rms norm in the %s kernel style against the CPU reference', (style) => {
  it('normalises rows with and without a weight', async () => {
    const gpu = await testGpu();
    const cases = [
      { shape: [1, 3], eps: 1e-6, weight: true },
      { shape: [2, 3, 37], eps: 1e-5, weight: false },
      { shape: [7, 300], eps: 1e-6, weight: true },
      { shape: [4, 300], eps: 0.5, weight: false },
      { shape: [2, 1100], eps: 1e-6, weight: true },
      { shape: [131, 20], eps: 1e-6, weight: true },
    ];
    const runs = cases.map((k, i) => {
      const C = k.shape[k.shape.length - 1];
      const n = k.shape.reduce((a, b) => a * b, 1);
      const x = random(n, 10 + i, -3, 2);
      const w = k.weight ? random(C, 20 + i, -1.5, 1.5) : undefined;
      return { k, C, x, w, out: gpu.tensor(k.shape), tx: gpu.upload(x, k.shape), tw: w && gpu.upload(w, [C]) };
    });
    const rec = gpu.recorder('rms norm', false, style);
    runs.forEach((r) => gpuK.rmsNorm(rec, r.out, r.tx, { eps: r.k.eps, weight: r.tw }));
    rec.submit();
    expect(rec.counts.get('rms_norm')).toBe(style === 'direct' ? 2 : 6);
    expect(rec.counts.get('rms_norm_rows')).toBe(style === 'direct' ? 4 : undefined);
    for (const r of runs) {
      expectClose(`rms_norm [${r.k.shape}] w=${r.k.weight}`, await gpu.read(r.out), ref.rmsNorm(r.x, r.C, { eps: r.k.eps, weight: r.w }), tol);
    }
  });

  it('stays accurate on large inputs (mean 100) and on a per-head norm', async () => {
    const gpu = await testGpu();
    const x = random(3 * 300, 30, 99, 101);
    const heads = random(5 * 3 * 37, 31);
    const w = random(37, 32, 0.5, 1.5);
    const out1 = gpu.tensor([3, 300]);
    const out2 = gpu.tensor([5, 3, 37]);
    gpu.run('rms', (rec) => {
      gpuK.rmsNorm(rec, out1, gpu.upload(x, [3, 300]), { eps: 1e-6 });
      gpuK.rmsNorm(rec, out2, gpu.upload(heads, [5, 3, 37]), { eps: 1e-6, weight: gpu.upload(w, [37]) });
    }, style);
    expectClose('rms_norm (mean 100)', await gpu.read(out1), ref.rmsNorm(x, 300, { eps: 1e-6 }), tol);
    expectClose('rms_norm (per head)', await gpu.read(out2), ref.rmsNorm(heads, 37, { eps: 1e-6, weight: w }), tol);
  });

  it('rejects bad shapes, dtypes and aliasing naming expected vs found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([4, 37]);
    const out = gpu.tensor([4, 37]);
    expect(() => gpuK.rmsNorm(rec, out, x, { eps: 1e-6, weight: gpu.tensor([4]) })).toThrow(/weight must be \[37\], found \[4\]/);
    expect(() => gpuK.rmsNorm(rec, out, x, { eps: 1e-6, weight: gpu.tensor([37], 'f16') })).toThrow(/weight must be f32, found f16/);
    expect(() => gpuK.rmsNorm(rec, gpu.tensor([4, 36]), x, { eps: 1e-6 })).toThrow(/expected 148 elements.*found 144/);
    expect(() => gpuK.rmsNorm(rec, out, gpu.tensor([4, 37], 'i32'), { eps: 1e-6 })).toThrow(/x must be f32, found i32/);
    expect(() => gpuK.rmsNorm(rec, x, x, { eps: 1e-6 })).toThrow(/out must be a separate buffer.*x/);
  });
});
