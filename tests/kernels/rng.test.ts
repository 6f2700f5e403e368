import { describe, expect, it } from 'vitest';
import { rngFill } from '../../runtime/kernels/sampling.ts';
import { philox4x32, uniform, uniformBits } from '../../runtime/reference/rng.ts';
import { testGpu } from '../helpers.ts';

const hex = (a: ArrayLike<number>) => Array.from(a, (v) => v.toString(16).padStart(8, '0')).join(' ');

describe('counter-based RNG (Philox4x32-10)', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  it('the GPU draws the same bits as the TypeScript, incl. counters past 2^31 and 2^32', async () => {
    const gpu = await testGpu();
    const n = 301; // not a multiple of the 256-wide workgroup
    const cases: [number, number][] = [
      [0, 0],
      [1, 12345],
      [0xdeadbeef, 2 ** 31 - 100],
      [7, 2 ** 32 - 150], // the low word wraps inside the buffer
      [0xffffffff, 2 ** 40 + 3],
      [42, 2 ** 53 - 1 - n],
    ];
    const outs = cases.map(() => gpu.tensor([n], 'u32'));
    gpu.run('rng', (rec) => cases.forEach(([seed, counter], i) => rngFill(rec, outs[i], seed, counter)));
    for (let c = 0; c < cases.length; c++) {
      const [seed, counter] = cases[c];
      const got = await gpu.read(outs[c]);
      const want = Uint32Array.from({ length: n }, (_, i) => uniformBits(seed, counter + i));
      const bad = want.findIndex((w, i) => got[i] !== w);
      expect(bad, `seed ${seed} counter ${counter}: word ${bad} is ${got[bad]}, expected ${want[bad]}`).toBe(-1);
    }
  });

  it('uniform values lie strictly inside (0, 1) and look uniform', () => {
    const n = 20000;
    let sum = 0;
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      const u = uniform(3, i);
      expect(u > 0 && u < 1).toBe(true);
      sum += u;
      buckets[Math.floor(u * 10)]++;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    for (const b of buckets) expect(Math.abs(b / n - 0.1)).toBeLessThan(0.01);
    // Draws differ across seeds and counters.
    expect(uniformBits(1, 5)).not.toBe(uniformBits(2, 5));
    expect(uniformBits(1, 5)).not.toBe(uniformBits(1, 5 + 2 ** 32));
  });

  it('rejects bad seeds, counters and dtypes', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    expect(() => uniformBits(-1, 0)).toThrow(/seed must be .*found -1/);
    expect(() => uniformBits(0, 2 ** 53)).toThrow(/counter must be .*found/);
    expect(() => rngFill(rec, gpu.tensor([4], 'f32'), 0, 0)).toThrow(/bits must be u32, found f32/);
    expect(() => rngFill(rec, gpu.tensor([4], 'u32'), 1.5, 0)).toThrow(/seed must be .*found 1.5/);
  });
});
