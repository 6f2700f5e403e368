import { describe, expect, it } from 'vitest';
import { KERNEL_STYLES } from '../../runtime/gpu/index.ts';
import { transpose } from '../../runtime/kernels/transpose.ts';
import * as ref from '../../runtime/reference/transpose.ts';
import { expectClose, expectSlackUntouched, fillSlack, random, testGpu } from '../helpers.ts';

describe.each(KERNEL_STYLES)('transpose in the %s kernel style against the CPU reference', (style) => {
  it('swaps the last two axes of a batch, and accumulates', async () => {
    const gpu = await testGpu();
    const [B, R, C] = [3, 19, 37]; // not multiples of the 16x16 tile
    const x = random(B * R * C, 1);
    const base = random(B * R * C, 2);
    const out1 = gpu.tensor([B, C, R]);
    fillSlack(gpu, out1);
    const out2 = gpu.upload(base, [B, C, R]);
    const tx = gpu.upload(x, [B, R, C]);
    const rec = gpu.recorder('transpose', false, style);
    transpose(rec, out1, tx);
    transpose(rec, out2, tx, { accumulate: true });
    rec.submit();
    expect([...rec.counts.keys()]).toEqual([style === 'direct' ? 'transpose_direct' : 'transpose']);
    expectClose('transpose', await gpu.read(out1), ref.transpose(x, B, R, C), { atol: 0, rtol: 0 });
    await expectSlackUntouched(gpu, out1, `transpose (${style})`);
    expectClose('transpose accumulate', await gpu.read(out2), ref.transpose(x, B, R, C, base));
  });

});

describe('transpose arguments', () => {
  it('rejects an output of another size', async () => {
    const gpu = await testGpu();
    expect(() => transpose(gpu.recorder(), gpu.tensor([5, 4]), gpu.tensor([4, 4]))).toThrow(/expected 20 elements.*found 16/);
  });
});
