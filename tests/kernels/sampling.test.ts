import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES, type KernelStyle } from '../../runtime/gpu/index.ts';
import * as gpuK from '../../runtime/kernels/sampling.ts';
import * as ref from '../../runtime/reference/sampling.ts';
import { expectClose, random, testGpu } from '../helpers.ts';
import { FIXTURE as VAR_TINY } from '../models/fixture.ts';

const FIXTURE = `${VAR_TINY}/expected.safetensors`;

/** The named tensors of a safetensors file (F32 and I32 only): 8-byte header length, JSON header, data. */
function readSafetensors(path: string, names: string[]): Record<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const out: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const name of names) {
    const { dtype, shape, data_offsets: [begin, end] } = header[name];
    const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const n = raw.byteLength / 4;
    if (dtype === 'F32') out[name] = { shape, data: Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true)) };
    else if (dtype === 'I32') out[name] = { shape, data: Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true)) };
    else throw new Error(`${path}: ${name} is ${dtype}, expected F32 or I32`);
  }
  return out;
}

/** Logits on a coarse grid (many ties), scaled by an irrational-ish step so no top-p sum lands on a cut. */
function tiedLogits(n: number, seed: number, levels: number): Float32Array {
  return Float32Array.from(random(n, seed, 0, levels), (v) => Math.floor(v) * 0.7391 - 3);
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * The GPU's draws `got` of logits x [R, V] are the reference's, token for token, except at a near-tie of the
 * Gumbel scores (f32 against float64 noise), where the GPU's choice is allowed.
 */
function expectReferenceDraws(got: ArrayLike<number>, x: Float32Array, V: number, opts: ref.SampleOptions, label: string) {
  const want = ref.sample(x, V, opts);
  const scores = ref.gumbelScores(x, V, opts);
  for (let r = 0; r < want.length; r++) {
    if (got[r] === want[r]) continue;
    const gap = scores[r * V + want[r]] - scores[r * V + got[r]];
    expect(gap, `${label} row ${r}: token ${got[r]}, expected ${want[r]}`).toBeLessThan(1e-4);
  }
}

/** Every setting's GPU filterMask of logits x [R, V] equals the reference's, token for token. */
async function expectMasks(gpu: Awaited<ReturnType<typeof testGpu>>, style: KernelStyle, x: Float32Array, R: number, V: number, settings: ref.FilterOptions[]) {
  const logits = gpu.upload(x, [R, V]);
  const masks = settings.map(() => gpu.tensor([R, V], 'i32'));
  gpu.run('masks', (rec) => settings.forEach((s, i) => gpuK.filterMask(rec, masks[i], logits, s)), style);
  for (let i = 0; i < settings.length; i++) {
    const got = await gpu.read(masks[i]);
    const want = ref.filterMask(x, V, settings[i]);
    const d = firstDiff(got, want);
    expect(d, `V ${V} ${JSON.stringify(settings[i])}: token ${d} is ${got[d]}, expected ${want[d]}`).toBe(-1);
  }
}

describe.each(KERNEL_STYLES)('guidance, filtering and sampling in the %s kernel style against the CPU reference', (style) => {
  it('guidance mixes the conditional and unconditional halves', async () => {
    const gpu = await testGpu();
    const [B, L, V] = [2, 7, 37];
    const logits = random(2 * B * L * V, 1, -5, 5);
    const out = gpu.tensor([B, L, V]);
    gpu.run('guidance', (rec) => gpuK.guidance(rec, out, gpu.upload(logits, [2 * B, L, V]), 0.75), style);
    expectClose('guidance', await gpu.read(out), ref.guidance(logits, 0.75), { atol: 1e-5, rtol: 1e-5 });
  });

  it('filterMask reproduces the fixture masks of VAR reference semantics exactly', async () => {
    const gpu = await testGpu();
    const names = ['mask.logits', 'mask.k5.allowed', 'mask.p90.allowed', 'mask.k8p50.allowed'];
    const fx = readSafetensors(FIXTURE, names);
    const [R, V] = fx['mask.logits'].shape;
    const logits = gpu.upload(fx['mask.logits'].data, [R, V]);
    const cases = [['k5', 5, 0], ['p90', 0, 0.9], ['k8p50', 8, 0.5]] as const;
    const masks = cases.map(() => gpu.tensor([R, V], 'i32'));
    gpu.run('fixture masks', (rec) => cases.forEach(([, topK, topP], i) => gpuK.filterMask(rec, masks[i], logits, { topK, topP })), style);
    for (let i = 0; i < cases.length; i++) {
      const [name, topK, topP] = cases[i];
      const want = fx[`mask.${name}.allowed`].data;
      const got = await gpu.read(masks[i]);
      expect(firstDiff(got, want), `GPU mask ${name}`).toBe(-1);
      expect(firstDiff(ref.filterMask(fx['mask.logits'].data, V, { topK, topP }), want), `reference mask ${name}`).toBe(-1);
    }
  });

  it('filterMask equals the reference on random logits with ties (V = 1, 37, 3000)', async () => {
    const gpu = await testGpu();
    const settings = [
      { topK: 0, topP: 0 },
      { topK: 1, topP: 0 },
      { topK: 5, topP: 0 },
      { topK: 0, topP: 0.7 },
      { topK: 9, topP: 0.8, temperature: 0.6 },
      { topK: 0, topP: 0.35, temperature: 2.5 },
      { topK: 3000, topP: 0.999 },
      { topK: 32, topP: 0.6 },
      { topK: 33, topP: 0.6 },
    ];
    const shapes = [[3, 1], [5, 37], [2, 3000]];
    for (const [R, V] of shapes) {
      await expectMasks(gpu, style, tiedLogits(R * V, V, V === 3000 ? 40 : 6), R, V, settings);
    }
  });

  it('filterMask equals the reference on sorted rows, where every token enters the top-k lists (k = 1..33)', async () => {
    const gpu = await testGpu();
    for (const V of [37, 1000]) {
      // Row 0 ascending, row 1 descending, row 2 ascending in pairs of ties.
      const x = Float32Array.from({ length: 3 * V }, (_, i) => {
        const v = i % V;
        return [v, V - v, Math.floor(v / 2)][Math.floor(i / V)] * 0.0173;
      });
      const settings = [1, 2, 16, 31, 32, 33].flatMap((topK) => [{ topK, topP: 0 }, { topK, topP: 0.75, temperature: 0.02 }]);
      await expectMasks(gpu, style, x, 3, V, settings);
    }
  });

  it('topK = 1 samples the argmax, lowest index among ties', async () => {
    const gpu = await testGpu();
    const [R, V] = [6, 300];
    const x = tiedLogits(R * V, 11, 8);
    x.fill(-Infinity, 5 * V, 6 * V); // a row of -inf still yields token 0
    const ids = gpu.tensor([R], 'i32');
    gpu.run('greedy', (rec) => gpuK.sample(rec, ids, gpu.upload(x, [R, V]), { topK: 1, topP: 0.9, temperature: 0.5, seed: 1, counter: 0 }), style);
    const want = ref.sample(x, V, { topK: 1, topP: 0.9, temperature: 0.5, seed: 1, counter: 0 });
    expect(Array.from(await gpu.read(ids))).toEqual(Array.from(want));
    expect(want[5]).toBe(0);
  });

  it('stochastic sampling picks the reference token (same seed and counter)', async () => {
    const gpu = await testGpu();
    const shapes = [[4, 1], [40, 37], [3, 3000]];
    const settings = [
      { topK: 0, topP: 0, temperature: 1, seed: 5, counter: 0 },
      { topK: 7, topP: 0.9, temperature: 0.8, seed: 0xfeedface, counter: 2 ** 32 - 500 },
      { topK: 0, topP: 0.6, temperature: 1.7, seed: 9, counter: 123456789 },
      { topK: 0, topP: 0, temperature: 1, seed: 2 ** 32 - 2, counter: 77, sequenceRows: 1 },
    ];
    for (const [R, V] of shapes) {
      const x = random(R * V, R + V, -4, 4);
      const logits = gpu.upload(x, [R, V]);
      const ids = settings.map(() => gpu.tensor([R], 'i32'));
      gpu.run('sample', (rec) => settings.forEach((s, i) => gpuK.sample(rec, ids[i], logits, s)), style);
      for (let i = 0; i < settings.length; i++) expectReferenceDraws(await gpu.read(ids[i]), x, V, settings[i], `V ${V} setting ${i}`);
    }
  });

  it('draws the reference token on tied logits, where the k-th key has ties beyond the top k (k = 1..33)', async () => {
    const gpu = await testGpu();
    // 21 rows (a workgroup of 16 rows and part of another in the direct style), 6 levels over 300 tokens: each
    // level holds about 50 tokens, so the k-th key is tied far beyond the k largest, and top-p cuts at a level
    // above it or at it.
    const [R, V] = [21, 300];
    const x = tiedLogits(R * V, 41, 6);
    const settings = [1, 2, 7, 16, 31, 32, 33].flatMap((topK, i) => [
      { topK, topP: 0, temperature: 1, seed: 3 + i, counter: 9 },
      { topK, topP: 0.5, temperature: 0.6, seed: 30 + i, counter: 2 ** 33 },
      { topK, topP: 0.97, temperature: 1.4, seed: 60 + i, counter: 0 },
    ]);
    const logits = gpu.upload(x, [R, V]);
    const ids = settings.map(() => gpu.tensor([R], 'i32'));
    const rec = gpu.recorder('tied', false, style);
    settings.forEach((s, i) => gpuK.sample(rec, ids[i], logits, s));
    rec.submit();
    // topK 33 is above the lists' 32: it takes the workgroup kernel in either style.
    expect(rec.counts.get('sampling_sample_rows')).toBe(style === 'direct' ? 18 : undefined);
    expect(rec.counts.get('sampling_sample')).toBe(style === 'direct' ? 3 : 21);
    for (let i = 0; i < settings.length; i++) expectReferenceDraws(await gpu.read(ids[i]), x, V, settings[i], JSON.stringify(settings[i]));
    // Rows [0, 0, 1] with k = 2: the 1 pushes a 0 out of the list, and that 0 still ties the k-th key. All three
    // tokens are kept (top-p 0.7 too: the 1 holds e / (e + 2) = 0.58 of the mass), and the pushed-out 0 is drawn.
    const rows = 64;
    const small = Float32Array.from({ length: rows * 3 }, (_, i) => (i % 3 === 2 ? 1 : 0));
    const smallLogits = gpu.upload(small, [rows, 3]);
    for (const topP of [0, 0.7]) {
      const opts = { topK: 2, topP, temperature: 1, seed: 8, counter: 0 };
      const got = gpu.tensor([rows], 'i32');
      gpu.run('pushed out', (r) => gpuK.sample(r, got, smallLogits, opts), style);
      const want = ref.sample(small, 3, opts);
      expect(Array.from(want)).toContain(1);
      expect(Array.from(await gpu.read(got)), `topP ${topP}`).toEqual(Array.from(want));
    }
  });

  it('samples a batch of sequences as each one alone with its own seed (seed + q)', async () => {
    const gpu = await testGpu();
    const [Q, J, V] = [3, 13, 37];
    const x = random(Q * J * V, 11, -3, 3);
    const opts = { topK: 9, topP: 0.95, temperature: 1.1, seed: 2 ** 32 - 2, counter: 5 * J * V };
    const batch = gpu.tensor([Q * J], 'i32');
    const alone = Array.from({ length: Q }, () => gpu.tensor([J], 'i32'));
    const logits = gpu.upload(x, [Q * J, V]);
    const parts = alone.map((_, q) => gpu.upload(x.subarray(q * J * V, (q + 1) * J * V), [J, V]));
    gpu.run('batch of sequences', (rec) => {
      gpuK.sample(rec, batch, logits, { ...opts, sequenceRows: J });
      alone.forEach((ids, q) => gpuK.sample(rec, ids, parts[q], { ...opts, seed: (opts.seed + q) >>> 0 }));
    }, style);
    const got = Array.from(await gpu.read(batch));
    const singles = (await Promise.all(alone.map((t) => gpu.read(t)))).flatMap((a) => Array.from(a));
    expect(got).toEqual(singles);
    // The rows of sequence 1 are not those of sequence 0's seed: the seeds differ.
    expect(Array.from(ref.sample(x, V, { ...opts, sequenceRows: J }))).not.toEqual(Array.from(ref.sample(x, V, opts)));
    expect(() => gpuK.sample(gpu.recorder(), batch, logits, { ...opts, sequenceRows: 4 })).toThrow(/sequenceRows must be .*dividing the 39 rows, found 4/);
  });

  it('sample frequencies follow the filtered softmax', async () => {
    const gpu = await testGpu();
    const [R, V] = [1200, 6];
    const row = [1.2, -0.3, 0.5, 2.0, 0.5, -1.0];
    const x = Float32Array.from({ length: R * V }, (_, i) => row[i % V]);
    const settings = [
      { topK: 0, topP: 0, temperature: 1, seed: 77, counter: 0 },
      { topK: 3, topP: 0, temperature: 0.7, seed: 78, counter: 10 ** 12 },
    ];
    const ids = settings.map(() => gpu.tensor([R], 'i32'));
    const logits = gpu.upload(x, [R, V]);
    gpu.run('histogram', (rec) => settings.forEach((s, i) => gpuK.sample(rec, ids[i], logits, s)), style);
    for (let i = 0; i < settings.length; i++) {
      const { topK, temperature } = settings[i];
      const kth = [...row].sort((a, b) => b - a)[Math.max(topK, 1) - 1];
      const w = row.map((v) => (topK === 0 || v >= kth ? Math.exp(v / temperature) : 0));
      const Z = w.reduce((a, b) => a + b, 0);
      const counts = new Array(V).fill(0);
      for (const id of await gpu.read(ids[i])) counts[id]++;
      // 1200 draws: a standard deviation of at most 0.0145 per frequency.
      counts.forEach((c, v) => expect(Math.abs(c / R - w[v] / Z), `setting ${i} token ${v}`).toBeLessThan(0.05));
      if (topK > 0) row.forEach((v, j) => v < kth && expect(counts[j]).toBe(0));
    }
  });

  it('rejects bad shapes, dtypes and settings with what was expected and found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const logits = gpu.tensor([4, 3, 10]);
    const ok = { topK: 0, topP: 0, temperature: 1, seed: 0, counter: 0 };
    expect(() => gpuK.guidance(rec, gpu.tensor([2, 3, 9]), logits, 1)).toThrow(/expected out \[2,3,10\], found \[2,3,9\]/);
    expect(() => gpuK.guidance(rec, gpu.tensor([1, 3, 10]), gpu.tensor([3, 3, 10]), 1)).toThrow(/must be \[2B, L, V\]/);
    expect(() => gpuK.guidance(rec, gpu.tensor([2, 3, 10], 'i32'), logits, 1)).toThrow(/out must be f32, found i32/);
    expect(() => gpuK.filterMask(rec, gpu.tensor([12, 10], 'f32'), logits, ok)).toThrow(/allowed must be i32, found f32/);
    expect(() => gpuK.filterMask(rec, gpu.tensor([12, 9], 'i32'), logits, ok)).toThrow(/\(120 elements\), found \[12,9\] \(108\)/);
    expect(() => gpuK.sample(rec, gpu.tensor([11], 'i32'), logits, ok)).toThrow(/logits must be \[\.\.\., V\] with 11 rows in all, found \[4,3,10\]/);
    expect(() => gpuK.sample(rec, gpu.tensor([12], 'f32'), logits, ok)).toThrow(/ids must be i32, found f32/);
    expect(() => gpuK.sample(rec, gpu.tensor([12], 'i32'), gpu.tensor([12, 10], 'f16'), ok)).toThrow(/logits must be f32, found f16/);
    expect(() => gpuK.sample(rec, gpu.tensor([12], 'i32'), logits, { ...ok, topP: 1.5 })).toThrow(/topP must be in \[0, 1\], found 1.5/);
    expect(() => gpuK.sample(rec, gpu.tensor([12], 'i32'), logits, { ...ok, topK: -2 })).toThrow(/topK must be .*found -2/);
    expect(() => gpuK.sample(rec, gpu.tensor([12], 'i32'), logits, { ...ok, temperature: 0 })).toThrow(/temperature must be > 0.*found 0/);
    expect(() => gpuK.sample(rec, gpu.tensor([12], 'i32'), logits, { ...ok, counter: -1 })).toThrow(/counter must be .*found -1/);
  });
});
