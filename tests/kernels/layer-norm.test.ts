import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES } from '../../runtime/gpu/index.ts';
import * as gpuK from '../../runtime/kernels/layer-norm.ts';
import * as ref from '../../runtime/reference/layer-norm.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

// Rows of C = 3, 37, 300 and 1100 (none a multiple of the 256-wide workgroup; 300 and 1100 loop).
const tol = { atol: 2e-5, rtol: 1e-4 };

describe.each(KERNEL_STYLES)('layer norm in the %s kernel style against the CPU reference', (style) => {
  it('normalises rows with and without affine weight/bias', async () => {
    const gpu = await testGpu();
    const cases = [
      { shape: [1, 3], eps: 1e-5, weight: false, bias: false },
      { shape: [2, 3, 37], eps: 1e-6, weight: true, bias: true },
      { shape: [7, 300], eps: 1e-5, weight: true, bias: false },
      { shape: [5, 300], eps: 0.1, weight: false, bias: true },
      { shape: [2, 1100], eps: 1e-5, weight: true, bias: true },
    ];
    const runs = cases.map((k, i) => {
      const C = k.shape[k.shape.length - 1];
      const n = k.shape.reduce((a, b) => a * b, 1);
      const x = random(n, 10 + i, -2, 3);
      const w = k.weight ? random(C, 20 + i, 0.5, 1.5) : undefined;
      const b = k.bias ? random(C, 30 + i) : undefined;
      const out = gpu.tensor(k.shape);
      const opts = { eps: k.eps, weight: w && gpu.upload(w, [C]), bias: b && gpu.upload(b, [C]) };
      return { k, C, x, w, b, out, tx: gpu.upload(x, k.shape), opts };
    });
    gpu.run('layer norm', (rec) => runs.forEach((r) => gpuK.layerNorm(rec, r.out, r.tx, r.opts)), style);
    for (const r of runs) {
      const want = ref.layerNorm(r.x, r.C, { eps: r.k.eps, weight: r.w, bias: r.b });
      expectClose(`layer_norm [${r.k.shape}] w=${r.k.weight} b=${r.k.bias}`, await gpu.read(r.out), want, tol);
    }
  });

  it('stays accurate on inputs with a large offset (mean 100)', async () => {
    const gpu = await testGpu();
    const shape = [3, 300];
    const x = random(900, 41, 99, 101);
    const out = gpu.tensor(shape);
    gpu.run('offset', (rec) => gpuK.layerNorm(rec, out, gpu.upload(x, shape), { eps: 1e-6 }), style);
    expectClose('layer_norm (mean 100)', await gpu.read(out), ref.layerNorm(x, 300, { eps: 1e-6 }), { atol: 1e-4, rtol: 1e-4 });
  });

  it('fuses AdaLN modulation (block chunks of a [G, 6C] ada, head chunks of [G, 2C])', async () => {
    const gpu = await testGpu();
    const [G, L, C] = [2, 3, 37];
    const x = random(G * L * C, 50, -1, 2);
    const ada6 = random(G * 6 * C, 51);
    const ada2 = random(G * 2 * C, 52);
    const w = random(C, 53, 0.5, 1.5);
    const b = random(C, 54);
    const tx = gpu.upload(x, [G, L, C]);
    const t6 = gpu.upload(ada6, [G, 6 * C]);
    const t2 = gpu.upload(ada2, [G, 2 * C]);
    const outs = [gpu.tensor([G, L, C]), gpu.tensor([G, L, C]), gpu.tensor([G, L, C])];
    gpu.run('adaln', (rec) => {
      gpuK.layerNorm(rec, outs[0], tx, { eps: 1e-6, modulation: { ada: t6, scaleChunk: 1, shiftChunk: 4 } });
      gpuK.layerNorm(rec, outs[1], tx, { eps: 1e-6, modulation: { ada: t2, scaleChunk: 0, shiftChunk: 1 } });
      gpuK.layerNorm(rec, outs[2], tx, { eps: 1e-5, weight: gpu.upload(w, [C]), bias: gpu.upload(b, [C]), modulation: { ada: t6, scaleChunk: 5, shiftChunk: 2 } });
    }, style);
    expectClose('adaln chunks 1/4', await gpu.read(outs[0]), ref.layerNorm(x, C, { eps: 1e-6, modulation: { ada: ada6, G, scaleChunk: 1, shiftChunk: 4 } }), tol);
    expectClose('adaln head chunks 0/1', await gpu.read(outs[1]), ref.layerNorm(x, C, { eps: 1e-6, modulation: { ada: ada2, G, scaleChunk: 0, shiftChunk: 1 } }), tol);
    expectClose('adaln + affine', await gpu.read(outs[2]), ref.layerNorm(x, C, { eps: 1e-5, weight: w, bias: b, modulation: { ada: ada6, G, scaleChunk: 5, shiftChunk: 2 } }), tol);
  });

  it('modulates without the norm', async () => {
    const gpu = await testGpu();
    const [G, L, C] = [3, 5, 37];
    const x = random(G * L * C, 60);
    const ada = random(G * 6 * C, 61);
    const out = gpu.tensor([G, L, C]);
    gpu.run('modulate', (rec) => gpuK.modulate(rec, out, gpu.upload(x, [G, L, C]), { ada: gpu.upload(ada, [G, 6 * C]), scaleChunk: 3, shiftChunk: 0 }), style);
    expectClose('modulate', await gpu.read(out), ref.modulate(x, C, { ada, G, scaleChunk: 3, shiftChunk: 0 }), tol);
  });

  it('rejects bad shapes, dtypes and aliasing naming expected vs found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([2, 3, 37]);
    const out = gpu.tensor([2, 3, 37]);
    const ada = gpu.tensor([2, 6 * 37]);
    expect(() => gpuK.layerNorm(rec, out, x, { eps: 1e-5, weight: gpu.tensor([36]) })).toThrow(/weight must be \[37\], found \[36\]/);
    expect(() => gpuK.layerNorm(rec, out, x, { eps: 1e-5, bias: gpu.tensor([37], 'f16') })).toThrow(/bias must be f32, found f16/);
    expect(() => gpuK.layerNorm(rec, gpu.tensor([2, 3, 36]), x, { eps: 1e-5 })).toThrow(/expected 222 elements.*found 216/);
    expect(() => gpuK.layerNorm(rec, out, gpu.tensor([2, 3, 37], 'f16'), { eps: 1e-5 })).toThrow(/x must be f32, found f16/);
    expect(() => gpuK.layerNorm(rec, x, x, { eps: 1e-5 })).toThrow(/out must be a separate buffer.*x/);
    expect(() => gpuK.layerNorm(rec, out, x, { eps: 1e-5, modulation: { ada: gpu.tensor([3, 6 * 37]), scaleChunk: 0, shiftChunk: 1 } }))
      .toThrow(/ada must be \[G=2, K·C\] with C=37, found \[3, 222\]/);
    expect(() => gpuK.layerNorm(rec, out, x, { eps: 1e-5, modulation: { ada, scaleChunk: 6, shiftChunk: 1 } })).toThrow(/scaleChunk must be an integer in \[0, 6\).*found 6/);
    expect(() => gpuK.layerNorm(rec, out.reshape([6, 37]), x.reshape([6, 37]), { eps: 1e-5, modulation: { ada, scaleChunk: 0, shiftChunk: 1 } }))
      .toThrow(/x must be \[G, L, C\], found \[6, 37\]/);
    expect(() => gpuK.modulate(rec, out, x, { ada: gpu.tensor([2, 100]), scaleChunk: 0, shiftChunk: 1 })).toThrow(/ada must be \[G=2, K·C\]/);
  });
});
