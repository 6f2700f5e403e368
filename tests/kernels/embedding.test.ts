import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES, roundToHalf } from '../../runtime/gpu/index.ts';
import { embedding, nearestCode } from '../../runtime/kernels/embedding.ts';
import * as ref from '../../runtime/reference/embedding.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

/** Ids in [0, V) with a few out of range (-3, V, 1000) to exercise the clamp. */
function someIds(count: number, V: number, seed: number): Int32Array {
  const ids = Int32Array.from(random(count, seed, 0, V), Math.floor);
  ids[0] = -3;
  ids[count - 1] = V;
  ids[count >> 1] = 1000;
  return ids;
}

describe('embedding against the CPU reference', () => {
  it("layout 'rows': [2, 3] ids into [V=11, C=13], f32 and f16 tables", async () => {
    const gpu = await testGpu();
    const [V, C] = [11, 13];
    const table = random(V * C, 1);
    const ids = someIds(6, V, 2);
    const tIds = gpu.upload(ids, [2, 3], 'i32');
    const [o32, o16] = [gpu.tensor([2, 3, C]), gpu.tensor([6, C])];
    gpu.run('embedding rows', (rec) => {
      embedding(rec, o32, gpu.upload(table, [V, C]), tIds);
      embedding(rec, o16, gpu.upload(table, [V, C], 'f16'), tIds, { layout: 'rows' });
    });
    expectClose('embedding rows f32', await gpu.read(o32), ref.embeddingRows(table, ids, V, C), { atol: 0, rtol: 0 });
    expectClose('embedding rows f16', await gpu.read(o16), ref.embeddingRows(roundToHalf(table), ids, V, C), { atol: 0, rtol: 0 });
  });

  it("layout 'nchw': ids [B=2, N=25] into out [2, C=7, 5, 5] (the quantizer's map), f32 and f16", async () => {
    const gpu = await testGpu();
    const [V, C, B, N] = [37, 7, 2, 25];
    const table = random(V * C, 3);
    const ids = someIds(B * N, V, 4);
    const tIds = gpu.upload(ids, [B, N], 'i32');
    const [o32, o16] = [gpu.tensor([B, C, 5, 5]), gpu.tensor([B, C, N])];
    gpu.run('embedding nchw', (rec) => {
      embedding(rec, o32, gpu.upload(table, [V, C]), tIds, { layout: 'nchw' });
      embedding(rec, o16, gpu.upload(table, [V, C], 'f16'), tIds, { layout: 'nchw' });
    });
    expectClose('embedding nchw f32', await gpu.read(o32), ref.embeddingNchw(table, ids, V, C, B, N), { atol: 0, rtol: 0 });
    expectClose('embedding nchw f16', await gpu.read(o16), ref.embeddingNchw(roundToHalf(table), ids, V, C, B, N), { atol: 0, rtol: 0 });
  });
});

describe.each(KERNEL_STYLES)('nearestCode in the %s kernel style against the CPU reference', (style) => {
  /** Nearest codes of random x [B, C, N] in a random codebook [V, C], from the GPU and the reference. */
  async function check(B: number, C: number, N: number, V: number, seed: number) {
    const gpu = await testGpu();
    const codebook = random(V * C, seed);
    const x = random(B * C * N, seed + 1);
    const out = gpu.tensor([B, N], 'i32');
    gpu.run('nearest code', (rec) => nearestCode(rec, out, gpu.upload(x, [B, C, N]), gpu.upload(codebook, [V, C])), style);
    return { got: Array.from(await gpu.read(out)), want: Array.from(ref.nearestCode(x, codebook, B, C, N, V)) };
  }

  it('V=37, C=5, B=2, N=9', async () => {
    const { got, want } = await check(2, 5, 9, 37, 10);
    expect(got).toEqual(want);
  });

  it('V=300 (more codes than threads), C=3, B=1, N=70', async () => {
    const { got, want } = await check(1, 3, 70, 300, 20);
    expect(got).toEqual(want);
  });

  it('ties go to the lowest index, as torch.argmin', async () => {
    const gpu = await testGpu();
    const [V, C] = [37, 5];
    const codebook = random(V * C, 30);
    for (const v of [3, 17, 36]) codebook.copyWithin(v * C, 5 * C, 6 * C); // rows 3, 5, 17, 36 equal
    codebook.copyWithin(0, 20 * C, 21 * C); // rows 0 and 20 equal
    // Position 0 sits exactly on row 5 (= 3, 17, 36); position 1 on row 20 (= 0); position 2 on row 36.
    const x = new Float32Array(C * 3);
    for (let c = 0; c < C; c++) [x[c * 3], x[c * 3 + 1], x[c * 3 + 2]] = [codebook[5 * C + c], codebook[20 * C + c], codebook[36 * C + c]];
    const out = gpu.tensor([1, 3], 'i32');
    gpu.run('nearest code ties', (rec) => nearestCode(rec, out, gpu.upload(x, [1, C, 3]), gpu.upload(codebook, [V, C])), style);
    expect(Array.from(await gpu.read(out))).toEqual([3, 0, 3]);
    expect(Array.from(ref.nearestCode(x, codebook, 1, C, 3, V))).toEqual([3, 0, 3]);
  });
});

describe('embedding arguments', () => {
  it('rejects mismatched shapes and dtypes, naming expected and found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const table = gpu.tensor([11, 13]);
    const ids = gpu.tensor([2, 3], 'i32');
    expect(() => embedding(rec, gpu.tensor([6, 12]), table, ids)).toThrow('embedding: out must be [..., C=13] with R·C = 6·13 elements, found [6, 12]');
    expect(() => embedding(rec, gpu.tensor([5, 13]), table, ids)).toThrow(/R·C = 6·13 elements, found \[5, 13\]/);
    expect(() => embedding(rec, gpu.tensor([6, 13]), table, gpu.tensor([2, 3]))).toThrow('embedding: ids must be i32, found f32');
    expect(() => embedding(rec, gpu.tensor([6, 13]), gpu.tensor([143]), ids)).toThrow('embedding: table must be [V, C], found [143]');
    expect(() => embedding(rec, gpu.tensor([2, 3, 13]), table, ids, { layout: 'nchw' })).toThrow('embedding: out must be [B=2, C=13, ...] with B·C·N = 78 elements, found [2, 3, 13]');
    expect(() => embedding(rec, gpu.tensor([6, 13]), table, gpu.tensor([6], 'i32'), { layout: 'nchw' })).toThrow('embedding: ids must be [B, N], found [6]');
    const codebook = gpu.tensor([37, 5]);
    expect(() => nearestCode(rec, gpu.tensor([2, 9], 'i32'), gpu.tensor([2, 4, 9]), codebook)).toThrow('nearestCode: x must be [B, C=5, N] or [B, C=5, H, W], found [2, 4, 9]');
    expect(() => nearestCode(rec, gpu.tensor([2, 8], 'i32'), gpu.tensor([2, 5, 9]), codebook)).toThrow('nearestCode: outIds: expected shape [2, 9], found [2, 8]');
    expect(() => nearestCode(rec, gpu.tensor([2, 9]), gpu.tensor([2, 5, 9]), codebook)).toThrow('nearestCode: outIds must be i32, found f32');
    expect(() => nearestCode(rec, gpu.tensor([1, 1], 'i32'), gpu.tensor([1, 1025, 1]), gpu.tensor([2, 1025]))).toThrow('nearestCode: at most 1024 channels, found codebook [2, 1025]');
    expect(rec.dispatches).toBe(0);
  });
});
