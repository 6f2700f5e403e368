import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { appendKV, attention, blockCausalLimits, KVCache, type AttentionMask } from '../../runtime/kernels/attention.ts';
import * as ref from '../../runtime/reference/attention.ts';
import { expectClose, KERNEL_VARIANTS, random, testGpu, type KernelVariant } from '../helpers.ts';

// f32 throughout; seen here: max abs error 3.5e-6 (scores up to ±100 under the clamped scaleMul).
const TOL = { atol: 1e-5, rtol: 1e-4 };

interface Setup {
  B: number;
  H: number;
  Hkv: number;
  hd: number;
  scale: number;
  scaleMul?: number[];
  /** positions [T · axes]: `axes` (1 or 3, default 1) per token. */
  rope?: { positions: number[]; theta: number; axes?: number };
  /** [B, T] over the sequence's T tokens: 0 hides key j from batch row b. */
  keyMask?: number[];
}

const rowOf = (s: Setup) => (s.H + 2 * s.Hkv) * s.hd;

/** Rows [from, from + n) of every batch entry of x [B, T, C]. */
function rows(x: Float32Array, B: number, T: number, C: number, from: number, n: number): Float32Array {
  const out = new Float32Array(B * n * C);
  for (let b = 0; b < B; b++) out.set(x.subarray((b * T + from) * C, (b * T + from + n) * C), b * n * C);
  return out;
}

/** The setup's rope over tokens [from, from + n) as the kernels take it: positions [n] or [n, 3]. */
function ropeOf(gpu: Gpu, s: Setup, from: number, n: number) {
  if (!s.rope) return undefined;
  const axes = s.rope.axes ?? 1;
  const positions = s.rope.positions.slice(from * axes, (from + n) * axes);
  return { positions: gpu.upload(positions, axes === 1 ? [n] : [n, axes], 'i32'), theta: s.rope.theta };
}

/** The setup's key mask [B, T] as a u32 tensor [B, capacity] (keys past T visible). */
function keyMaskTensor(gpu: Gpu, s: Setup, T: number, capacity: number) {
  if (!s.keyMask) return undefined;
  const data = new Uint32Array(s.B * capacity).fill(1);
  for (let b = 0; b < s.B; b++) data.set(s.keyMask.slice(b * T, (b + 1) * T), b * capacity);
  return gpu.upload(data, [s.B, capacity], 'u32');
}

/**
 * Appends `chunks` of the sequence one after another, each attending to the cache under `mask`,
 * and returns the outputs of all T tokens as [B, T, H·hd].
 */
async function incremental(gpu: Gpu, s: Setup, qkv: Float32Array, chunks: number[], mask: AttentionMask, { style, subgroups }: KernelVariant): Promise<Float32Array> {
  const T = chunks.reduce((a, b) => a + b, 0);
  const C = s.H * s.hd;
  const cache = new KVCache(gpu, { batch: s.B, kvHeads: s.Hkv, headDim: s.hd, capacity: T });
  const scaleMul = s.scaleMul && gpu.upload(s.scaleMul, [s.H]);
  const keyMask = keyMaskTensor(gpu, s, T, T);
  const full = new Float32Array(s.B * T * C);
  let from = 0;
  for (const n of chunks) {
    const x = gpu.upload(rows(qkv, s.B, T, rowOf(s), from, n), [s.B, n, rowOf(s)]);
    const out = gpu.tensor([s.B, n, C]);
    const rope = ropeOf(gpu, s, from, n);
    gpu.run('step', (rec) => {
      appendKV(rec, cache, x, { heads: s.H, qkNorm: !!scaleMul, rope });
      attention(rec, out, x, cache, { heads: s.H, scale: s.scale, qkNorm: scaleMul && { scaleMul }, rope, mask, keyMask });
    }, style, subgroups);
    const got = await gpu.read(out);
    for (let b = 0; b < s.B; b++) full.set(got.subarray(b * n * C, (b + 1) * n * C), (b * T + from) * C);
    from += n;
  }
  cache.dispose();
  return full;
}

/** The whole sequence in one append and one attention call under explicit per-query limits. */
async function oneCall(gpu: Gpu, s: Setup, qkv: Float32Array, T: number, limits: ArrayLike<number>, { style, subgroups }: KernelVariant): Promise<Float32Array> {
  const cache = new KVCache(gpu, { batch: s.B, kvHeads: s.Hkv, headDim: s.hd, capacity: T + 3 });
  const x = gpu.upload(qkv, [s.B, T, rowOf(s)]);
  const out = gpu.tensor([s.B, T, s.H * s.hd]);
  const scaleMul = s.scaleMul && gpu.upload(s.scaleMul, [s.H]);
  const rope = ropeOf(gpu, s, 0, T);
  const keyMask = keyMaskTensor(gpu, s, T, T + 3);
  gpu.run('one call', (rec) => {
    appendKV(rec, cache, x, { heads: s.H, qkNorm: !!scaleMul, rope });
    attention(rec, out, x, cache, { heads: s.H, scale: s.scale, qkNorm: scaleMul && { scaleMul }, rope, mask: { limits: gpu.upload(limits, [T], 'u32') }, keyMask });
  }, style, subgroups);
  const got = await gpu.read(out);
  cache.dispose();
  return got as Float32Array;
}

function reference(s: Setup, qkv: Float32Array, T: number, limits: ArrayLike<number>): Float32Array {
  return ref.attention(qkv, s.B, T, {
    heads: s.H, kvHeads: s.Hkv, headDim: s.hd, scale: s.scale, limits, keyMask: s.keyMask,
    qkNorm: s.scaleMul && { scaleMul: s.scaleMul }, rope: s.rope,
  });
}

describe.each(KERNEL_VARIANTS)('attention with a KV cache in the $label kernel style against the CPU reference', (variant) => {
  it('VAR: scales [1, 4, 9] appended one by one, qkNorm with scaleMul clamped at ln 100', async () => {
    const gpu = await testGpu();
    const s: Setup = { B: 2, H: 4, Hkv: 4, hd: 8, scale: 1, scaleMul: [0.3, 4.9, -0.7, 6.0] };
    const chunks = [1, 4, 9];
    const qkv = random(2 * 14 * rowOf(s), 11);
    const got = await incremental(gpu, s, qkv, chunks, 'none', variant);
    expectClose('attention (VAR, incremental)', got, reference(s, qkv, 14, blockCausalLimits(chunks)), TOL);
  });

  it('grouped-query attention (H 4, Hkv 2), hd 12, RoPE, causal mask, appended [1, 4, 9]', async () => {
    const gpu = await testGpu();
    const positions = Array.from({ length: 14 }, (_, i) => 5 + 3 * i);
    const s: Setup = { B: 2, H: 4, Hkv: 2, hd: 12, scale: 1 / Math.sqrt(12), rope: { positions, theta: 10000 } };
    const qkv = random(2 * 14 * rowOf(s), 12, -2, 2);
    const got = await incremental(gpu, s, qkv, [1, 4, 9], 'causal', variant);
    expectClose('attention (GQA, RoPE, causal)', got, reference(s, qkv, 14, ref.causalLimits(14)), TOL);
  });

  it('RoPE on three axes (pair i turns by axis i mod 3), hd 20, block-causal scales [1, 4, 9, 25] appended one by one', async () => {
    const gpu = await testGpu();
    // The unified family's rope_2d: text tokens have three equal positions, a block's tokens share the
    // scale's position on axis 0 and add their row and column on axes 1 and 2.
    const blocks = [1, 4, 9, 25];
    const positions = blocks.flatMap((n, s) => {
      const side = Math.sqrt(n);
      return Array.from({ length: n }, (_, t) => [7 + s, 7 + s + Math.floor(t / side) * 2, 7 + s + (t % side) * 3]).flat();
    });
    const s: Setup = { B: 2, H: 4, Hkv: 2, hd: 20, scale: 1 / Math.sqrt(20), rope: { positions, theta: 10000, axes: 3 } };
    const qkv = random(2 * 39 * rowOf(s), 17, -2, 2);
    const got = await incremental(gpu, s, qkv, blocks, 'none', variant);
    const want = reference(s, qkv, 39, blockCausalLimits(blocks));
    expectClose('attention (RoPE on three axes)', got, want, TOL);
    // The axes matter: the same rows rotated by axis 0 alone give something else.
    const oneAxis = reference({ ...s, rope: { positions: positions.filter((_, i) => i % 3 === 0), theta: 10000 } }, qkv, 39, blockCausalLimits(blocks));
    expect(Math.max(...want.map((v, i) => Math.abs(v - oneAxis[i])))).toBeGreaterThan(1e-2);
  });

  it('teacher forcing: block-causal limits in one call equal the reference and the scale-by-scale result', async () => {
    const gpu = await testGpu();
    // 55 tokens: two query tiles and two key tiles.
    const blocks = [1, 4, 9, 16, 25];
    const s: Setup = { B: 2, H: 4, Hkv: 2, hd: 8, scale: 1, scaleMul: [5.2, 1.1, 2.5, -0.2] };
    const qkv = random(2 * 55 * rowOf(s), 13);
    const limits = blockCausalLimits(blocks);
    const once = await oneCall(gpu, s, qkv, 55, limits, variant);
    expectClose('attention (block-causal, one call)', once, reference(s, qkv, 55, limits), TOL);
    const steps = await incremental(gpu, s, qkv, blocks, 'none', variant);
    expectClose('attention (one call vs scale by scale)', once, steps, TOL);
  });

  it('hd 64 over several key tiles: causal chunks, RoPE with a large base, no qkNorm', async () => {
    const gpu = await testGpu();
    const positions = Array.from({ length: 37 }, (_, i) => i);
    const s: Setup = { B: 2, H: 2, Hkv: 1, hd: 64, scale: 0.125, rope: { positions, theta: 1e6 } };
    const qkv = random(2 * 37 * rowOf(s), 14, -3, 3);
    const got = await incremental(gpu, s, qkv, [3, 34], 'causal', variant);
    expectClose('attention (hd 64, causal)', got, reference(s, qkv, 37, ref.causalLimits(37)), TOL);
  });

  it('hd 128 (smaller tiles to fit workgroup memory), qkNorm, chunks [5, 32]', async () => {
    const gpu = await testGpu();
    const s: Setup = { B: 1, H: 2, Hkv: 1, hd: 128, scale: 1, scaleMul: [2.0, 7.0] };
    const qkv = random(37 * rowOf(s), 16);
    const got = await incremental(gpu, s, qkv, [5, 32], 'none', variant);
    expectClose('attention (hd 128)', got, reference(s, qkv, 37, blockCausalLimits([5, 32])), TOL);
  });

  it('arbitrary limits, including a query that sees nothing (zeros)', async () => {
    const gpu = await testGpu();
    const s: Setup = { B: 2, H: 4, Hkv: 4, hd: 8, scale: 0.7 };
    const limits = [0, 3, 1, 7, 7, 2, 5];
    const qkv = random(2 * 7 * rowOf(s), 15);
    const got = await oneCall(gpu, s, qkv, 7, limits, variant);
    expectClose('attention (limits)', got, reference(s, qkv, 7, limits), TOL);
    expect(Array.from(got.subarray(0, 4 * 8)).every((v) => v === 0)).toBe(true);
  });

  it('key mask with holes in the middle: GQA, RoPE, causal chunks [3, 1, 6], one row unmasked', async () => {
    const gpu = await testGpu();
    const T = 10;
    const positions = Array.from({ length: T }, (_, i) => 2 * i + 1);
    // Row 0 sees every key; row 1 hides keys 2..5 (a prompt) and key 8.
    const keyMask = [...Array(T).fill(1), 1, 1, 0, 0, 0, 0, 1, 1, 0, 1];
    const s: Setup = { B: 2, H: 6, Hkv: 2, hd: 12, scale: 1 / Math.sqrt(12), rope: { positions, theta: 10000 }, keyMask };
    const qkv = random(2 * T * rowOf(s), 17, -2, 2);
    const got = await incremental(gpu, s, qkv, [3, 1, 6], 'causal', variant);
    expectClose('attention (key mask, causal)', got, reference(s, qkv, T, ref.causalLimits(T)), TOL);
    const unmasked = reference({ ...s, keyMask: undefined }, qkv, T, ref.causalLimits(T));
    // Row 0 is as without a mask; row 1 differs after the hidden keys.
    const C = s.H * s.hd;
    expectClose('attention (row 0 unmasked)', got.subarray(0, T * C), unmasked.subarray(0, T * C), TOL);
    expect(Math.abs(got[(T + 7) * C] - unmasked[(T + 7) * C])).toBeGreaterThan(1e-4);
  });

  it('key mask with limits over two key tiles; a query whose visible keys are all hidden gets zeros', async () => {
    const gpu = await testGpu();
    const T = 45;
    const limits = Array.from({ length: T }, (_, i) => (i === 3 ? 2 : Math.min(T, i + 5)));
    // Row 1 hides keys 0, 1 (so query 3, limited to them, sees nothing), 20..33 and 40.
    const keyMask = [...Array(T).fill(1), ...Array.from({ length: T }, (_, j) => (j < 2 || (j >= 20 && j < 34) || j === 40 ? 0 : 1))];
    const s: Setup = { B: 2, H: 2, Hkv: 2, hd: 16, scale: 0.5, keyMask };
    const qkv = random(2 * T * rowOf(s), 18);
    const got = await oneCall(gpu, s, qkv, T, limits, variant);
    expectClose('attention (key mask + limits)', got, reference(s, qkv, T, limits), TOL);
    const C = s.H * s.hd;
    expect(Array.from(got.subarray((T + 3) * C, (T + 4) * C)).every((v) => v === 0)).toBe(true);
    expect(Array.from(got.subarray(3 * C, 4 * C)).some((v) => v !== 0)).toBe(true);
  });

  it('builds block-causal limits', () => {
    expect(Array.from(blockCausalLimits([1, 4, 2]))).toEqual([1, 5, 5, 5, 5, 7, 7]);
    expect(blockCausalLimits([]).length).toBe(0);
  });
});

describe('KV cache bookkeeping and argument checks', () => {
  const s: Setup = { B: 2, H: 4, Hkv: 2, hd: 8, scale: 1 };

  it('tracks length, resets, and refuses to overflow its capacity', async () => {
    const gpu = await testGpu();
    const cache = new KVCache(gpu, { batch: 2, kvHeads: 2, headDim: 8, capacity: 10 });
    const x6 = gpu.tensor([2, 6, rowOf(s)]);
    const x5 = gpu.tensor([2, 5, rowOf(s)]);
    const rec = gpu.recorder('bookkeeping', false, 'workgroup');
    appendKV(rec, cache, x6, { heads: 4 });
    expect(cache.length).toBe(6);
    expect(() => appendKV(rec, cache, x5, { heads: 4 })).toThrow(/holds 6 of 10 tokens; appending 5 needs room for 11/);
    expect(cache.length).toBe(6);
    cache.reset();
    appendKV(rec, cache, x5, { heads: 4 });
    expect(cache.length).toBe(5);
    attention(rec, gpu.tensor([2, 5, 32]), x5, cache, { heads: 4, scale: 1 });
    expect(rec.counts.get('append_kv')).toBe(2);
    expect(rec.counts.get('attention')).toBe(1);
    rec.submit();
    cache.dispose();
  });

  it('takes the subgroup form in the direct style where 4 neighbouring query blocks share a head', async () => {
    const gpu = await testGpu();
    expect(gpu.subgroups).toBe(gpu.isSoftware); // SwiftShader has subgroups of 4; a GPU takes no subgroup forms
    const shared = gpu.subgroups ? 'attention_subgroup' : 'attention_direct';
    const cache = new KVCache(gpu, { batch: 2, kvHeads: 2, headDim: 8, capacity: 40 });
    const counts = (L: number, subgroups: boolean) => {
      const x = gpu.tensor([2, L, rowOf(s)]);
      const rec = gpu.recorder('choice', false, 'direct', subgroups);
      cache.reset();
      appendKV(rec, cache, x, { heads: 4 });
      attention(rec, gpu.tensor([2, L, 32]), x, cache, { heads: 4, scale: 1 });
      rec.submit();
      return [...rec.counts.keys()].join();
    };
    expect(counts(16, true)).toBe(`append_kv,${shared}`); // 4 blocks of 4 queries a head
    expect(counts(32, true)).toBe(`append_kv,${shared}`);
    expect(counts(12, true)).toBe('append_kv,attention_direct'); // 3 blocks: a subgroup would span two heads
    expect(counts(16, false)).toBe('append_kv,attention_direct');
    cache.dispose();
  });

  it('rejects bad shapes and dtypes, naming expected and found', async () => {
    const gpu = await testGpu();
    const cache = new KVCache(gpu, { batch: 2, kvHeads: 2, headDim: 8, capacity: 16 });
    const rec = gpu.recorder();
    const qkv = gpu.tensor([2, 3, rowOf(s)]);
    const out = gpu.tensor([2, 3, 32]);
    expect(() => new KVCache(gpu, { batch: 2, kvHeads: 2, headDim: 10, capacity: 4 })).toThrow(/multiple of 4 and at most 128, found 10/);
    expect(() => appendKV(rec, cache, gpu.tensor([2, 3, 60]), { heads: 4 })).toThrow(/qkv must be \[B=2, L, \(H \+ 2·Hkv\)·hd = 64\], found \[2, 3, 60\]/);
    expect(() => appendKV(rec, cache, gpu.tensor([1, 3, 64]), { heads: 4 })).toThrow(/B=2.*found \[1, 3, 64\]/);
    expect(() => appendKV(rec, cache, qkv, { heads: 3 })).toThrow(/multiple of the cache's 2 kv heads, found 3/);
    expect(() => appendKV(rec, cache, qkv, { heads: 4, rope: { positions: gpu.tensor([3]), theta: 1e4 } })).toThrow(/rope.positions must be i32, found f32/);
    expect(() => appendKV(rec, cache, qkv, { heads: 4, rope: { positions: gpu.tensor([4], 'i32'), theta: 1e4 } })).toThrow(/rope.positions must be \[L=3\] or \[L=3, 3\], found \[4\]/);
    expect(() => appendKV(rec, cache, qkv, { heads: 4, rope: { positions: gpu.tensor([3, 2], 'i32'), theta: 1e4 } })).toThrow(/found \[3, 2\]/);
    expect(() => attention(rec, out, qkv, cache, { heads: 4, scale: 1 })).toThrow(/3 queries but only 0 cached keys/);
    appendKV(rec, cache, qkv, { heads: 4 });
    expect(() => attention(rec, gpu.tensor([2, 3, 24]), qkv, cache, { heads: 4, scale: 1 })).toThrow(/out must be \[2, 3, 32\], found \[2, 3, 24\]/);
    expect(() => attention(rec, out, qkv, cache, { heads: 4, scale: 1, qkNorm: { scaleMul: gpu.tensor([2]) } })).toThrow(/scaleMul must hold H=4 values, found \[2\]/);
    expect(() => attention(rec, out, qkv, cache, { heads: 4, scale: 1, mask: { limits: gpu.tensor([3]) } })).toThrow(/mask.limits must be u32, found f32/);
    expect(() => attention(rec, out, qkv, cache, { heads: 4, scale: 1, mask: { limits: gpu.tensor([5], 'u32') } })).toThrow(/mask.limits must be \[L=3\], found \[5\]/);
    expect(() => attention(rec, out, qkv, cache, { heads: 4, scale: 1, keyMask: gpu.tensor([2, 16], 'i32') })).toThrow(/keyMask must be u32, found i32/);
    expect(() => attention(rec, out, qkv, cache, { heads: 4, scale: 1, keyMask: gpu.tensor([2, 3], 'u32') })).toThrow(/keyMask must be \[B=2, capacity=16\], found \[2, 3\]/);
    expect(() => attention(rec, out, qkv, cache, { heads: 4, scale: 1, keyMask: gpu.tensor([32], 'u32') })).toThrow(/keyMask must be \[B=2, capacity=16\], found \[32\]/);
    rec.submit();
    cache.dispose();
  });
});
