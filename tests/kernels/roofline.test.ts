import { describe, expect, it } from 'vitest';
import { Profiler } from '../../runtime/gpu/index.ts';
import { copyVec4, FMA_PEAK_FLOPS_PER_ROUND, fmaPeak } from '../../runtime/kernels/roofline.ts';
import * as ref from '../../runtime/reference/roofline.ts';
import { expectClose, expectSlackUntouched, fillSlack, random, testGpu } from '../helpers.ts';

describe('the roofline calibration kernels', () => {
  it('fma_peak writes, as the CPU reference, each invocation\'s sum of 8 chains: sizes not multiples of the 256-invocation workgroup', async () => {
    const gpu = await testGpu();
    for (const [n, rounds, mul, add] of [[1, 0, 0.5, 0.5], [130, 1, 0.9, 0.25], [1000, 5, -0.75, 0.125], [257, 50, 0.999, 0.001]]) {
      const sums = gpu.tensor([n]);
      fillSlack(gpu, sums);
      gpu.run('fma_peak', (rec) => fmaPeak(rec, sums, { rounds, mul, add }));
      const name = `fma_peak n=${n} rounds=${rounds} mul=${mul}`;
      // f32 steps against float64 ones: each chain contracts by |mul| a step, so rounding stays within ulps / (1 - |mul|).
      expectClose(name, await gpu.read(sums), ref.fmaPeak(n, rounds, Math.fround(mul), Math.fround(add)), { atol: 1e-4, rtol: 2e-5 });
      await expectSlackUntouched(gpu, sums, name);
    }
  });

  it('copy_vec4 copies its source, as the CPU reference: 1, 1,001 and 65,543 vec4s (16 an invocation)', async () => {
    const gpu = await testGpu();
    for (const n of [4, 4004, 4 * (16 * 4096 + 7)]) {
      const x = random(n, n);
      const dst = gpu.tensor([n]);
      fillSlack(gpu, dst);
      gpu.run('copy_vec4', (rec) => copyVec4(rec, dst, gpu.upload(x, [n])));
      expectClose(`copy_vec4 n=${n}`, await gpu.read(dst), ref.copyVec4(x), { atol: 0, rtol: 0 });
      await expectSlackUntouched(gpu, dst, `copy_vec4 n=${n}`);
    }
  });

  it('give a profiler their floating-point operations and bytes, each dispatch timed alone', async () => {
    const gpu = await testGpu();
    const profiler = (gpu.profiler = new Profiler(gpu));
    try {
      gpu.run('calibration', (rec) => {
        fmaPeak(rec, gpu.tensor([300]), { rounds: 5 });
        copyVec4(rec, gpu.tensor([40]), gpu.tensor([40]));
      });
    } finally {
      gpu.profiler = undefined;
    }
    const profiles = await profiler.done();
    profiler.dispose();
    expect(profiles.map(({ kernel, flops, bytes }) => ({ kernel, flops, bytes }))).toEqual([
      { kernel: 'fma_peak', flops: 300 * 5 * FMA_PEAK_FLOPS_PER_ROUND, bytes: 300 * 4 },
      { kernel: 'copy_vec4', flops: 0, bytes: 2 * 40 * 4 },
    ]);
    for (const p of profiles) expect(p.ms, `${p.kernel}: a time`).toBeTypeOf('number');
  });

  it('refuse what they cannot run', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    expect(() => fmaPeak(rec, gpu.tensor([4]), { rounds: 2, mul: 1 })).toThrow(/\|mul\| must be below 1/);
    expect(() => copyVec4(rec, gpu.tensor([6]), gpu.tensor([6]))).toThrow(/multiple of 4/);
    expect(() => copyVec4(rec, gpu.tensor([8]), gpu.tensor([4]))).toThrow(/expected 4 elements/);
    rec.dispose();
  });
});
