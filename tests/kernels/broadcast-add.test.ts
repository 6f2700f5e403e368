import { describe, expect, it } from 'vitest';
import { broadcastAdd } from '../../runtime/kernels/broadcast-add.ts';
import * as ref from '../../runtime/reference/broadcast-add.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

describe('broadcast-add against the CPU reference', () => {
  it('repeats the groups of a, broadcasts its rows, offsets into out and b', async () => {
    const gpu = await testGpu();
    const [G, outRows, C, Ga, La, Lb] = [4, 11, 7, 2, 1, 20];
    const out0 = random(G * outRows * C, 1);
    const a = random(Ga * La * C, 2);
    const b = random(Lb * C, 3);
    const opts = { rows: 5, outOffset: 6, bOffset: 9 };
    const out = gpu.upload(out0, [G, outRows, C]);
    gpu.run('broadcast', (rec) => broadcastAdd(rec, out, gpu.upload(a, [Ga, La, C]), gpu.upload(b, [Lb, C]), opts));
    expectClose('broadcast_add', await gpu.read(out), ref.broadcastAdd(out0, G, outRows, C, a, Ga, La, b, opts));
  });

  it('refuses rows that do not fit', async () => {
    const gpu = await testGpu();
    expect(() => broadcastAdd(gpu.recorder(), gpu.tensor([2, 3, 4]), gpu.tensor([1, 1, 4]), gpu.tensor([5, 4]), { rows: 3, bOffset: 3 })).toThrow(/do not fit/);
  });
});
