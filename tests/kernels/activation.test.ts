import { describe, expect, it } from 'vitest';
import * as gpuK from '../../runtime/kernels/activation.ts';
import * as ref from '../../runtime/reference/activation.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

// 3·7·13 = 273 elements: not a multiple of the 256-wide workgroup.
const shape = [3, 7, 13];
const n = 3 * 7 * 13;

describe('activation kernels against the CPU reference', () => {
  it('gelu_tanh, silu, swiglu, clamp_affine', async () => {
    const gpu = await testGpu();
    const a = random(n, 1, -6, 6);
    const b = random(n, 2);
    const ta = gpu.upload(a, shape);
    const tb = gpu.upload(b, shape);
    const outs = [gpu.tensor(shape), gpu.tensor(shape), gpu.tensor(shape), gpu.tensor(shape)];
    gpu.run('activations', (rec) => {
      gpuK.geluTanh(rec, outs[0], ta);
      gpuK.silu(rec, outs[1], ta);
      gpuK.swiglu(rec, outs[2], ta, tb);
      gpuK.clampAffine(rec, outs[3], ta, { lo: -1, hi: 1, scale: 0.5, shift: 0.5 });
    });
    expectClose('gelu_tanh', await gpu.read(outs[0]), ref.geluTanh(a));
    expectClose('silu', await gpu.read(outs[1]), ref.silu(a));
    expectClose('swiglu', await gpu.read(outs[2]), ref.swiglu(a, b));
    expectClose('clamp_affine', await gpu.read(outs[3]), ref.clampAffine(a, { lo: -1, hi: 1, scale: 0.5, shift: 0.5 }));
  });

  it('residual add, scaled and gated', async () => {
    const gpu = await testGpu();
    const x = random(n, 3);
    const y = random(n, 4);
    const gate = random(3 * 3 * 13, 5);
    const t1 = gpu.upload(x, shape);
    const t2 = gpu.upload(x, shape);
    const ty = gpu.upload(y, shape);
    const tg = gpu.upload(gate, [3, 3 * 13]);
    gpu.run('residual', (rec) => {
      gpuK.addScaled(rec, t1, ty, 0.5);
      gpuK.addGated(rec, t2, ty, tg, { chunk: 2, scale: 2 });
    });
    expectClose('add_scaled', await gpu.read(t1), ref.addScaled(x, y, 0.5));
    expectClose('add_gated', await gpu.read(t2), ref.addGated(x, y, gate, 3, 13, { chunk: 2, scale: 2 }));
  });

  it('folds a large dispatch into 2D and still covers every element', async () => {
    const gpu = await testGpu();
    const big = 256 * 65535 + 77;
    const a = random(big, 9, -3, 3);
    const out = gpu.tensor([big]);
    gpu.run('big', (rec) => gpuK.silu(rec, out, gpu.upload(a, [big])));
    const got = await gpu.read(out);
    expect(got[big - 1]).toBeCloseTo(a[big - 1] / (1 + Math.exp(-a[big - 1])), 5);
    expectClose('silu (2D grid)', got, ref.silu(a));
  });

  it('rejects mismatched sizes with both shapes named', async () => {
    const gpu = await testGpu();
    expect(() => gpuK.silu(gpu.recorder(), gpu.tensor([4]), gpu.tensor([5]))).toThrow(/expected 4 elements.*found 5/);
  });
});
