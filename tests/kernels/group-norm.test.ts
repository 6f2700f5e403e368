import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES } from '../../runtime/gpu/index.ts';
import * as gpuK from '../../runtime/kernels/group-norm.ts';
import * as ref from '../../runtime/reference/group-norm.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

// H·W = 5x7: groups of Cg·35 = 70, 105 and 560 elements, none a multiple of the 256-wide workgroup.
const tol = { atol: 2e-5, rtol: 1e-4 };

describe.each(KERNEL_STYLES)('group norm in the %s kernel style against the CPU reference', (style) => {
  it('normalises NCHW groups with and without affine, with and without SiLU', async () => {
    const gpu = await testGpu();
    const cases = [
      { shape: [2, 12, 5, 7], groups: 4, eps: 1e-6, affine: true, silu: false },
      { shape: [2, 12, 5, 7], groups: 4, eps: 1e-5, affine: false, silu: true },
      { shape: [2, 64, 5, 7], groups: 32, eps: 1e-6, affine: true, silu: true },
      { shape: [2, 64, 5, 7], groups: 4, eps: 0.1, affine: false, silu: false },
      { shape: [2, 64, 35], groups: 4, eps: 1e-6, affine: true, silu: true },
      // H·W % 4 == 0 takes group_norm_vec4: groups of fewer vec4s than invocations, and of many.
      { shape: [2, 8, 2, 2], groups: 4, eps: 1e-6, affine: true, silu: true },
      { shape: [2, 12, 4, 6], groups: 3, eps: 1e-5, affine: false, silu: false },
      { shape: [1, 64, 16, 12], groups: 32, eps: 1e-6, affine: true, silu: true },
    ];
    const runs = cases.map((k, i) => {
      const C = k.shape[1];
      const n = k.shape.reduce((a, b) => a * b, 1);
      const x = random(n, 10 + i, -2, 3);
      const w = k.affine ? random(C, 20 + i, 0.5, 1.5) : undefined;
      const b = k.affine ? random(C, 30 + i) : undefined;
      const opts = { groups: k.groups, eps: k.eps, silu: k.silu, weight: w && gpu.upload(w, [C]), bias: b && gpu.upload(b, [C]) };
      return { k, C, x, w, b, out: gpu.tensor(k.shape), tx: gpu.upload(x, k.shape), opts };
    });
    const rec = gpu.recorder('group norm', false, style);
    runs.forEach((r) => gpuK.groupNorm(rec, r.out, r.tx, r.opts));
    rec.submit();
    expect(rec.counts.get('group_norm')).toBe(5);
    expect(rec.counts.get('group_norm_vec4')).toBe(3);
    for (const r of runs) {
      const want = ref.groupNorm(r.x, r.k.shape[0], r.C, { groups: r.k.groups, eps: r.k.eps, weight: r.w, bias: r.b, silu: r.k.silu });
      expectClose(`group_norm [${r.k.shape}] groups=${r.k.groups} affine=${r.k.affine} silu=${r.k.silu}`, await gpu.read(r.out), want, tol);
    }
  });

  it.each([[5, 7], [4, 8]])('stays accurate on inputs with a large offset (mean 100), weight or bias alone: %ix%i', async (H, W) => {
    const gpu = await testGpu();
    const shape = [2, 12, H, W];
    const x = random(2 * 12 * H * W, 40, 99, 101);
    const w = random(12, 41, 0.5, 1.5);
    const b = random(12, 42);
    const out1 = gpu.tensor(shape);
    const out2 = gpu.tensor(shape);
    const tx = gpu.upload(x, shape);
    gpu.run('offset', (rec) => {
      gpuK.groupNorm(rec, out1, tx, { groups: 4, eps: 1e-6, weight: gpu.upload(w, [12]) });
      gpuK.groupNorm(rec, out2, tx, { groups: 3, eps: 1e-6, bias: gpu.upload(b, [12]), silu: true });
    }, style);
    expectClose('group_norm (mean 100, weight)', await gpu.read(out1), ref.groupNorm(x, 2, 12, { groups: 4, eps: 1e-6, weight: w }), { atol: 1e-4, rtol: 1e-4 });
    expectClose('group_norm (mean 100, bias, silu)', await gpu.read(out2), ref.groupNorm(x, 2, 12, { groups: 3, eps: 1e-6, bias: b, silu: true }), { atol: 1e-4, rtol: 1e-4 });
  });

  it('rejects bad shapes, dtypes and aliasing naming expected vs found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([2, 12, 5, 7]);
    const out = gpu.tensor([2, 12, 5, 7]);
    expect(() => gpuK.groupNorm(rec, out, x, { groups: 5, eps: 1e-6 })).toThrow(/C must be divisible by groups, found C=12 with groups=5/);
    expect(() => gpuK.groupNorm(rec, out, x, { groups: 0, eps: 1e-6 })).toThrow(/found C=12 with groups=0/);
    expect(() => gpuK.groupNorm(rec, out, x, { groups: 4, eps: 1e-6, weight: gpu.tensor([4]) })).toThrow(/weight must be \[12\], found \[4\]/);
    expect(() => gpuK.groupNorm(rec, out, x, { groups: 4, eps: 1e-6, bias: gpu.tensor([12], 'f16') })).toThrow(/bias must be f32, found f16/);
    expect(() => gpuK.groupNorm(rec, gpu.tensor([2, 12, 5, 6]), x, { groups: 4, eps: 1e-6 })).toThrow(/expected 840 elements.*found 720/);
    expect(() => gpuK.groupNorm(rec, gpu.tensor([12]), gpu.tensor([12]), { groups: 4, eps: 1e-6 })).toThrow(/x must be \[B, C, H, W\] or \[B, C, N\], found \[12\]/);
    expect(() => gpuK.groupNorm(rec, x, x, { groups: 4, eps: 1e-6 })).toThrow(/out must be a separate buffer.*x/);
  });
});
