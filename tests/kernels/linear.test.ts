import { describe, expect, it } from 'vitest';
import { roundToHalf, type KernelStyle } from '../../runtime/gpu/index.ts';
import { linear, linearSwiglu, linearTileRows } from '../../runtime/kernels/linear.ts';
import * as ref from '../../runtime/reference/linear.ts';
import { expectClose, expectSlackUntouched, fillSlack, random, testGpu } from '../helpers.ts';

const TOL = { atol: 1e-4, rtol: 1e-4 };

interface Case {
  M: number;
  K: number;
  N: number;
  f16?: boolean;
  bias?: boolean;
  /** out += x · Wᵀ + bias onto random values already in out. */
  accumulate?: boolean;
}

/**
 * Runs one linear on the GPU in the given kernel style (with or without subgroup operations) and checks it
 * against the reference; returns the kernel that ran.
 */
async function check({ M, K, N, f16 = false, bias = false, accumulate = false }: Case, seed: number, style: KernelStyle = 'workgroup', subgroups = true): Promise<string> {
  const gpu = await testGpu();
  const x = random(M * K, seed);
  const w = random(N * K, seed + 1);
  const b = bias ? random(N, seed + 2) : undefined;
  const before = random(M * N, seed + 3);
  const out = gpu.tensor([M, N]);
  fillSlack(gpu, out);
  if (accumulate) gpu.write(out, before);
  const rec = gpu.recorder('linear', false, style, subgroups);
  linear(rec, out, gpu.upload(x, [M, K]), gpu.upload(w, [N, K], f16 ? 'f16' : 'f32'), b && gpu.upload(b, [N]), { accumulate });
  rec.submit();
  const name = `linear (${style}${subgroups ? '' : ', no subgroups'}) M=${M} K=${K} N=${N}${f16 ? ' f16' : ''}${bias ? ' +bias' : ''}${accumulate ? ' accumulated' : ''}`;
  const want = ref.linear(x, f16 ? roundToHalf(w) : w, b, M, N, K);
  if (accumulate) want.forEach((v, i) => (want[i] = v + before[i]));
  expectClose(name, await gpu.read(out), want, TOL);
  await expectSlackUntouched(gpu, out, name);
  return [...rec.counts.keys()].join();
}

describe('linear in the workgroup kernel style against the CPU reference', () => {
  it('few rows take linear_rows: M = 1, 3, 8, odd and even K, f32 and f16', async () => {
    const cases: Case[] = [
      { M: 1, K: 5, N: 1 },
      { M: 1, K: 70, N: 33, f16: true, bias: true },
      { M: 3, K: 37, N: 130, f16: true },
      { M: 3, K: 70, N: 17, bias: true },
      { M: 8, K: 300, N: 9, f16: true, bias: true }, // K over two staging steps of 256
      { M: 7, K: 301, N: 11, bias: true },
      { M: 5, K: 70, N: 33, bias: true, accumulate: true },
    ];
    for (const [i, c] of cases.entries()) expect(await check(c, 10 * i)).toBe('linear_rows');
  });

  it('more rows take linear_tiled: 16-row tiles, K over several steps of 16', async () => {
    const cases: Case[] = [
      { M: 9, K: 5, N: 1, bias: true },
      { M: 37, K: 70, N: 130, bias: true },
      { M: 37, K: 37, N: 33, f16: true, bias: true },
      { M: 20, K: 70, N: 130, f16: true },
      { M: 37, K: 37, N: 33, accumulate: true },
    ];
    for (const [i, c] of cases.entries()) expect(await check(c, 100 + 10 * i)).toBe('linear_tiled');
  });

  it('32 and 64-row tiles, where there are enough of them', async () => {
    expect(linearTileRows(33, 4096)).toBe(2);
    expect(linearTileRows(65, 4096)).toBe(4);
    expect(await check({ M: 33, K: 20, N: 4095, bias: true }, 200)).toBe('linear_tiled');
    expect(await check({ M: 65, K: 19, N: 4033, f16: true }, 210)).toBe('linear_tiled');
  });

  it('picks taller tiles only when there are enough of them', () => {
    expect(linearTileRows(37, 130)).toBe(1);
    expect(linearTileRows(512, 1024)).toBe(4);
    expect(linearTileRows(338, 1024)).toBe(2);
    expect(linearTileRows(50, 1024)).toBe(1);
  });
});

describe('linear in the direct kernel style against the CPU reference', () => {
  // 4x4 blocks cut at every edge; linear_subgroup where a row's column blocks come in fours (N = 64, 4095).
  const narrowCases: Case[] = [
    { M: 1, K: 4, N: 1 },
    { M: 1, K: 68, N: 33, f16: true, bias: true },
    { M: 3, K: 36, N: 130, f16: true },
    { M: 9, K: 72, N: 17, bias: true },
    { M: 15, K: 20, N: 4095, bias: true }, // 1,024 column blocks, the last one 3 wide
    { M: 9, K: 72, N: 17, bias: true, accumulate: true },
    { M: 1, K: 192, N: 64, f16: true },
    { M: 6, K: 8, N: 64, bias: true, accumulate: true },
  ];

  it('takes linear_direct for M < 16 when K is a multiple of 4, or linear_subgroup where 4 neighbouring blocks share rows', async () => {
    const { subgroups } = await testGpu();
    for (const [i, c] of narrowCases.entries()) {
      expect(await check(c, 400 + 10 * i, 'direct')).toBe(subgroups && Math.ceil(c.N / 4) % 4 === 0 ? 'linear_subgroup' : 'linear_direct');
    }
  });

  it('takes linear_direct for M < 16 without subgroups', async () => {
    for (const [i, c] of narrowCases.entries()) expect(await check(c, 400 + 10 * i, 'direct', false)).toBe('linear_direct');
  });

  // 16x8 blocks cut at every edge; a subgroup's 4 blocks of 8 columns cut too (N = 1, 13, 131).
  const wideCases: Case[] = [
    { M: 16, K: 4, N: 8 },
    { M: 16, K: 8, N: 1, bias: true },
    { M: 37, K: 20, N: 4095, bias: true }, // 512 column blocks, the last one 7 wide; the last row block 5 tall
    { M: 66, K: 196, N: 131, f16: true, bias: true },
    { M: 257, K: 36, N: 13, f16: true },
    { M: 37, K: 20, N: 131, bias: true, accumulate: true },
  ];

  it('takes linear_subgroup_16x8 from 16 rows where the adapter has subgroups of 4 (SwiftShader), f32 and f16', async () => {
    const gpu = await testGpu();
    expect(gpu.subgroups).toBe(gpu.isSoftware);
    const name = gpu.subgroups ? 'linear_subgroup_16x8' : 'linear_direct_16x8';
    for (const [i, c] of wideCases.entries()) expect(await check(c, 600 + 10 * i, 'direct')).toBe(name);
  });

  it('takes linear_direct_16x8 from 16 rows without subgroups, f32 and f16', async () => {
    for (const [i, c] of wideCases.entries()) expect(await check(c, 600 + 10 * i, 'direct', false)).toBe('linear_direct_16x8');
  });

  it('falls back to the workgroup kernels when K is not a multiple of 4', async () => {
    expect(await check({ M: 3, K: 37, N: 20, f16: true }, 500, 'direct')).toBe('linear_rows');
    expect(await check({ M: 37, K: 70, N: 130, bias: true }, 510, 'direct')).toBe('linear_tiled');
  });
});

describe('linear arguments', () => {
  it('takes x and out with leading dims: [2, 5, K] → [2, 5, N]', async () => {
    const gpu = await testGpu();
    const [K, N] = [6, 3];
    const x = random(10 * K, 300);
    const w = random(N * K, 301);
    const out = gpu.tensor([2, 5, N]);
    gpu.run('linear 3-D', (rec) => linear(rec, out, gpu.upload(x, [2, 5, K]), gpu.upload(w, [N, K])));
    expectClose('linear [2, 5, K]', await gpu.read(out), ref.linear(x, w, undefined, 10, N, K), TOL);
  });

  it('rejects mismatched shapes and dtypes, naming expected and found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([3, 64]);
    expect(() => linear(rec, gpu.tensor([3, 32]), x, gpu.tensor([32, 60]))).toThrow('linear: weight must be [N, K=64], found [32, 60]');
    expect(() => linear(rec, gpu.tensor([3, 32]), x, gpu.tensor([32 * 64]))).toThrow('linear: weight must be [N, K=64], found [2048]');
    expect(() => linear(rec, gpu.tensor([3, 31]), x, gpu.tensor([32, 64]))).toThrow('linear: out must be [..., N=32] with M·N = 3·32 elements, found [3, 31]');
    expect(() => linear(rec, gpu.tensor([4, 32]), x, gpu.tensor([32, 64]))).toThrow(/out must be .* found \[4, 32\]/);
    expect(() => linear(rec, gpu.tensor([3, 32]), x, gpu.tensor([32, 64]), gpu.tensor([31]))).toThrow('linear: bias must be [N=32], found [31]');
    expect(() => linear(rec, gpu.tensor([3, 32]), x, gpu.tensor([32, 64], 'i32'))).toThrow('linear: weight must be f32 or f16, found i32');
    expect(() => linear(rec, gpu.tensor([3, 32]), gpu.tensor([3, 64], 'f16'), gpu.tensor([32, 64]))).toThrow('linear: x must be f32, found f16');
    expect(() => linear(rec, gpu.tensor([3, 32]), x, gpu.tensor([32, 64]), gpu.tensor([32], 'f16'))).toThrow('linear: bias must be f32, found f16');
    expect(rec.dispatches).toBe(0);
  });
});

describe('linearSwiglu against the CPU reference', () => {
  const silu = (v: number) => v / (1 + Math.exp(-v));

  /** Runs linearSwiglu in the given style and checks it against silu(x · gateᵀ) ⊙ (x · upᵀ); returns the kernels that ran. */
  async function checkSwiglu(M: number, K: number, N: number, f16: boolean, seed: number, style: KernelStyle, subgroups = true): Promise<string> {
    const gpu = await testGpu();
    const x = random(M * K, seed);
    const g = random(N * K, seed + 1);
    const u = random(N * K, seed + 2);
    const out = gpu.tensor([M, N]);
    fillSlack(gpu, out);
    const rec = gpu.recorder('linear swiglu', false, style, subgroups);
    const dtype = f16 ? 'f16' : 'f32';
    linearSwiglu(rec, out, gpu.upload(x, [M, K]), gpu.upload(g, [N, K], dtype), gpu.upload(u, [N, K], dtype), { gate: gpu.tensor([M, N]), up: gpu.tensor([M, N]) });
    rec.submit();
    const [gw, uw] = f16 ? [roundToHalf(g), roundToHalf(u)] : [g, u];
    const gr = ref.linear(x, gw, undefined, M, N, K);
    const ur = ref.linear(x, uw, undefined, M, N, K);
    const name = `linearSwiglu (${style}${subgroups ? '' : ', no subgroups'}) M=${M} K=${K} N=${N}${f16 ? ' f16' : ''}`;
    expectClose(name, await gpu.read(out), gr.map((v, i) => silu(v) * ur[i]), TOL);
    await expectSlackUntouched(gpu, out, name);
    return [...rec.counts.keys()].join();
  }

  it('fuses the two projections and the product in the direct style from 16 rows, blocks cut at every edge', async () => {
    const cases: [number, number, number, boolean][] = [[16, 8, 4, false], [37, 20, 13, true], [66, 36, 131, false], [257, 12, 64, true]];
    const { subgroups } = await testGpu();
    for (const [i, [M, K, N, f16]] of cases.entries()) {
      expect(await checkSwiglu(M, K, N, f16, 700 + 10 * i, 'direct')).toBe(subgroups ? 'linear_subgroup_16x8' : 'linear_direct_16x8');
      expect(await checkSwiglu(M, K, N, f16, 700 + 10 * i, 'direct', false)).toBe('linear_direct_16x8');
    }
  });

  it('takes the two linears and swiglu below 16 rows, with K not a multiple of 4, and in the workgroup style', async () => {
    expect(await checkSwiglu(9, 20, 33, true, 800, 'direct')).toBe('linear_direct,swiglu');
    expect(await checkSwiglu(20, 18, 33, false, 810, 'direct')).toBe('linear_tiled,swiglu');
    expect(await checkSwiglu(20, 16, 33, false, 820, 'workgroup')).toBe('linear_tiled,swiglu');
  });

  it('rejects an up projection unlike the gate and an out of the wrong size', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const scratch = { gate: gpu.tensor([20, 8]), up: gpu.tensor([20, 8]) };
    const x = gpu.tensor([20, 16]);
    expect(() => linearSwiglu(rec, gpu.tensor([20, 8]), x, gpu.tensor([8, 16]), gpu.tensor([8, 16], 'f16'), scratch)).toThrow('linearSwiglu: up must be [8, 16] f32 as gate, found [8, 16] f16');
    expect(() => linearSwiglu(rec, gpu.tensor([20, 7]), x, gpu.tensor([8, 16]), gpu.tensor([8, 16]), scratch)).toThrow('linearSwiglu: out must hold M·N = 20·8 elements, found [20, 7]');
    expect(rec.dispatches).toBe(0);
  });
});
