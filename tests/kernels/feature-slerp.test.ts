import { describe, expect, it } from 'vitest';
import { featureSlerp } from '../../runtime/kernels/feature-slerp.ts';
import * as ref from '../../runtime/reference/feature-slerp.ts';
import { expectClose, random, testGpu } from '../helpers.ts';

// B = 2, C = 5, 7 x 9 positions: 126 invocations, not a multiple of the 64-wide workgroup.
const [B, C, H, W] = [2, 5, 7, 9];
const P = H * W;
const n = B * C * P;

/** Random maps with a few special positions: b parallel to a, b opposite to a, a zero. */
function maps(): { a: Float32Array; b: Float32Array } {
  const a = random(n, 1, -2, 2);
  const b = random(n, 2, -1, 1);
  for (let c = 0; c < C; c++) {
    const at = (q: number) => c * P + q;
    b[at(3)] = 2 * a[at(3)];
    b[at(4)] = -a[at(4)];
    a[at(5)] = 0;
  }
  return { a, b };
}

/** Length of the channel vector at (batch, position). */
function norm(x: ArrayLike<number>, batch: number, q: number): number {
  let s = 0;
  for (let c = 0; c < C; c++) s += x[(batch * C + c) * P + q] ** 2;
  return Math.sqrt(s);
}

describe('feature_slerp against the CPU reference', () => {
  it('blends by lerp and by slerp, with both ends exact', async () => {
    const gpu = await testGpu();
    const { a, b } = maps();
    const ta = gpu.upload(a, [B, C, H, W]);
    const tb = gpu.upload(b, [B, C, H, W]);
    const cases = [
      { t: 0.3, mode: 'slerp' as const },
      { t: 0.3, mode: 'lerp' as const },
      { t: 0, mode: 'slerp' as const },
      { t: 1, mode: 'slerp' as const },
    ];
    const outs = cases.map(() => gpu.tensor([B, C, H, W]));
    gpu.run('blends', (rec) => cases.forEach((k, i) => featureSlerp(rec, outs[i], ta, tb, k.t, k.mode)));
    // WGSL lets acos and sin be coarse (acos inherits atan2's 4096-ULP bound), which turns the
    // in-between direction by up to ~1e-3 rad on SwiftShader; lengths and both ends stay exact.
    for (const [i, k] of cases.entries()) {
      const atol = k.mode === 'slerp' && k.t > 0 && k.t < 1 ? 2e-3 : 2e-5;
      expectClose(`${k.mode} t=${k.t}`, await gpu.read(outs[i]), ref.featureSlerp(a, b, C, P, k.t, k.mode), { atol, rtol: 1e-4 });
    }
    expectClose('slerp t=0 is a', await gpu.read(outs[2]), a, { atol: 1e-6, rtol: 1e-5 });
    expectClose('slerp t=1 is b', await gpu.read(outs[3]), b, { atol: 1e-6, rtol: 1e-5 });
  });

  it('keeps each position as long as the lerp of its ends, where lerp shrinks it', async () => {
    const gpu = await testGpu();
    const { a, b } = maps();
    const out = gpu.tensor([B, C, H, W]);
    const lerp = gpu.tensor([B, C, H, W]);
    gpu.run('halfway', (rec) => {
      featureSlerp(rec, out, gpu.upload(a, [B, C, H, W]), gpu.upload(b, [B, C, H, W]), 0.5);
      featureSlerp(rec, lerp, gpu.upload(a, [B, C, H, W]), gpu.upload(b, [B, C, H, W]), 0.5, 'lerp');
    });
    const [got, flat] = [await gpu.read(out), await gpu.read(lerp)];
    let shrunk = 0;
    for (let batch = 0; batch < B; batch++) {
      for (let q = 0; q < P; q++) {
        if (q === 4 && batch === 0) continue; // opposite directions: lerp by design
        const expected = 0.5 * (norm(a, batch, q) + norm(b, batch, q));
        expect(norm(got, batch, q)).toBeCloseTo(expected, 4);
        if (norm(flat, batch, q) < 0.9 * expected) shrunk++;
      }
    }
    expect(shrunk).toBeGreaterThan(P / 2);
  });

  it('rejects mismatched maps and a t outside [0, 1]', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([1, 4, 2, 2]);
    expect(() => featureSlerp(rec, gpu.tensor([1, 4, 2, 2]), x, gpu.tensor([1, 4, 2, 3]), 0.5)).toThrow(/expected 16 elements.*found 24/);
    expect(() => featureSlerp(rec, gpu.tensor([1, 4, 2, 2]), x, gpu.tensor([1, 4, 2, 2]), 1.5)).toThrow(/t must be in \[0, 1\], found 1.5/);
    expect(() => featureSlerp(rec, x, x, gpu.tensor([1, 4, 2, 2]), 0.5)).toThrow(/out must be a separate buffer/);
    rec.dispose();
  });
});
