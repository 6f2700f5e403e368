import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES, type KernelStyle } from '../../runtime/gpu/index.ts';
import { matmul, matmulTileRows } from '../../runtime/kernels/matmul.ts';
import * as ref from '../../runtime/reference/matmul.ts';
import { expectClose, expectSlackUntouched, fillSlack, random, testGpu } from '../helpers.ts';

const TOL = { atol: 1e-4, rtol: 1e-4 };

interface Case {
  B?: number; // absent: 2-D a, b and out
  M: number;
  K: number;
  N: number;
  transposeB?: boolean;
  alpha?: number;
  sharedB?: boolean; // 2-D b with a batched a
}

/** Runs one matmul in the given kernel style and checks it against the reference; returns the kernel that ran. */
async function check(style: KernelStyle, { B, M, K, N, transposeB, alpha, sharedB }: Case, seed: number): Promise<string> {
  const gpu = await testGpu();
  const batch = B ?? 1;
  const lead = B === undefined ? [] : [B];
  const bMat = transposeB ? [N, K] : [K, N];
  const a = random(batch * M * K, seed);
  const b = random((sharedB ? 1 : batch) * K * N, seed + 1);
  const out = gpu.tensor([...lead, M, N]);
  fillSlack(gpu, out);
  const rec = gpu.recorder('matmul', false, style);
  matmul(rec, out, gpu.upload(a, [...lead, M, K]), gpu.upload(b, sharedB ? bMat : [...lead, ...bMat]), { transposeB, alpha });
  rec.submit();
  const name = `matmul (${style}) B=${B} M=${M} K=${K} N=${N}${transposeB ? ' bᵀ' : ''}${sharedB ? ' shared b' : ''} alpha=${alpha}`;
  expectClose(name, await gpu.read(out), ref.matmul(a, b, batch, M, K, N, { transposeB, alpha }), TOL);
  await expectSlackUntouched(gpu, out, name);
  return [...rec.counts.keys()].join();
}

describe.each(KERNEL_STYLES)('matmul in the %s kernel style against the CPU reference', (style) => {
  const kernel = style === 'direct' ? 'matmul_direct' : 'matmul';
  it('2-D and batched, b as [K, N] and as [N, K], with alpha', async () => {
    const cases: Case[] = [
      { M: 1, K: 5, N: 1 },
      { M: 37, K: 70, N: 130, alpha: 0.125 },
      { B: 3, M: 3, K: 37, N: 33 },
      { B: 2, M: 37, K: 5, N: 130, transposeB: true, alpha: -2 },
      { M: 20, K: 70, N: 33, transposeB: true },
      { B: 3, M: 9, K: 17, N: 70, sharedB: true, alpha: 0.5 },
    ];
    for (const [i, c] of cases.entries()) expect(await check(style, c, 10 * i)).toBe(kernel);
  });

  it('many tiles or blocks: 32 and 64-row tiles where there are enough of them', async () => {
    expect(await check(style, { M: 33, K: 18, N: 4095, transposeB: true }, 100)).toBe(kernel);
    expect(await check(style, { B: 4, M: 65, K: 19, N: 2047, alpha: 0.25 }, 110)).toBe(kernel);
  });
});

describe('matmul arguments', () => {
  it('picks 32 and 64-row tiles in the workgroup style only when there are enough of them', () => {
    expect(matmulTileRows(1, 33, 4096)).toBe(2);
    expect(matmulTileRows(4, 65, 2048)).toBe(4);
    expect(matmulTileRows(1, 37, 130)).toBe(1);
  });

  it('rejects mismatched shapes and dtypes, naming expected and found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    expect(() => matmul(rec, gpu.tensor([2, 3, 4]), gpu.tensor([2, 3, 5]), gpu.tensor([2, 6, 4]))).toThrow(/b must be \[B=2, K=5, N\] or 2-D for a \[2, 3, 5\], found \[2, 6, 4\]/);
    expect(() => matmul(rec, gpu.tensor([2, 3, 4]), gpu.tensor([2, 3, 5]), gpu.tensor([3, 5, 4]))).toThrow(/b must be \[B=2, K=5, N\].*found \[3, 5, 4\]/);
    expect(() => matmul(rec, gpu.tensor([3, 4]), gpu.tensor([3, 5]), gpu.tensor([5, 4]), { transposeB: true })).toThrow(/b must be \[N, K=5\].*found \[5, 4\]/);
    expect(() => matmul(rec, gpu.tensor([3, 5]), gpu.tensor([3, 5]), gpu.tensor([5, 4]))).toThrow(/out must be \[3, 4\], found \[3, 5\]/);
    expect(() => matmul(rec, gpu.tensor([3, 4]), gpu.tensor([3, 5]), gpu.tensor([1, 5, 4]))).toThrow(/b must be \[K=5, N\]/);
    expect(() => matmul(rec, gpu.tensor([3, 4]), gpu.tensor([3, 5], 'f16'), gpu.tensor([5, 4]))).toThrow(/a must be f32, found f16/);
    expect(() => matmul(rec, gpu.tensor([3, 4]), gpu.tensor([15]), gpu.tensor([5, 4]))).toThrow(/a must be 2-D or 3-D, found \[15\]/);
    expect(rec.dispatches).toBe(0);
  });
});
